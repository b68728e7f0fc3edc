import type { TelegramTokens } from './cosem';
import { p1TimestampAt, DEFAULT_METER_ZONE, type MeterZone, type P1Time } from './time';
import type { Quantity } from './types';
import { integerAt, quantityAt } from './values';

/**
 * The value groups of one COSEM object, read in place from the scanned telegram. Readers of
 * structured objects (logs, peaks, M-Bus readings) ask for the groups they need, as text or
 * already read, and no group becomes a string unless asked for as text.
 */
export class Groups {
  private first = 0;
  private end = 0;

  constructor(
    private readonly t: TelegramTokens,
    private readonly zone: MeterZone = DEFAULT_METER_ZONE,
  ) {}

  /** Point at object k of the telegram. */
  of(k: number): this {
    this.first = this.t.firstGroup[k]!;
    this.end = this.t.firstGroup[k + 1]!;
    return this;
  }

  get length(): number {
    return this.end - this.first;
  }

  /** Group i as text; '' past the last one. */
  text(i: number): string {
    return i < this.length
      ? this.t.text.slice(this.t.groupStart[this.first + i]!, this.t.groupEnd[this.first + i]!)
      : '';
  }

  /** Every group as text, as kept for an object that could not be read. */
  texts(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.text(i));
    return out;
  }

  /** Group i read as parseQuantity would (an absent group reads as ''). */
  quantity(i: number): Quantity | null {
    return i < this.length
      ? quantityAt(this.t.text, this.t.bytes, this.t.groupStart[this.first + i]!, this.t.groupEnd[this.first + i]!)
      : null;
  }

  /** Group i read as parseInteger would (an absent group reads as ''). */
  integer(i: number): number | null {
    return i < this.length
      ? integerAt(this.t.text, this.t.bytes, this.t.groupStart[this.first + i]!, this.t.groupEnd[this.first + i]!)
      : null;
  }

  /** Group i read as parseP1Timestamp would (an absent group reads as ''). */
  timestamp(i: number): P1Time | null {
    return i < this.length
      ? p1TimestampAt(
          this.t.text,
          this.t.bytes,
          this.t.groupStart[this.first + i]!,
          this.t.groupEnd[this.first + i]!,
          this.zone,
        )
      : null;
  }
}
