/**
 * Splits the bytes from an FLM02 board into its reads
 * (docs/protocols/sensor-board.md#flm02-frames): each read ends in the 0x00 that stops the SPI
 * master reading. Bare 0x00 bytes between reads are idle line.
 */

export interface Flm02RawRead {
  text: string;
  /** the read was longer than the limit; `text` holds its start only */
  overflowed: boolean;
}

export class Flm02ReadFramer {
  private text = '';
  private overflowed = false;

  /** `max`: longest read kept; a full gd and a full radio packet fit many times in the default */
  constructor(private readonly max = 4096) {}

  push(chunk: Uint8Array): Flm02RawRead[] {
    const reads: Flm02RawRead[] = [];
    for (const byte of chunk) {
      if (byte !== 0) {
        if (this.text.length < this.max) this.text += String.fromCharCode(byte);
        else this.overflowed = true;
        continue;
      }
      if (this.text !== '' || this.overflowed) reads.push({ text: this.text, overflowed: this.overflowed });
      this.reset();
    }
    return reads;
  }

  /** Forget a read begun: its request was given up on. */
  reset(): void {
    this.text = '';
    this.overflowed = false;
  }
}
