import { Flm03Framer, type Flm03FramerOptions, type Flm03FramerStats } from './flm03-frame';
import { decodeFlm03Payload, type Flm03Message } from './flm03-messages';

export interface Flm03DecoderStats extends Flm03FramerStats {
  messages: number;
  /** checksum-valid frames whose payload length does not fit their type */
  malformed: number;
  /** frames with a type above 16, passed on raw */
  unknownType: number;
}

export interface Flm03DecoderOptions extends Flm03FramerOptions {
  /** told about each malformed frame; the frame itself is dropped */
  onMalformed?: (typeId: number, reason: string) => void;
}

/** Bytes from the board's UART in, typed messages out (docs/protocols/sensor-board.md#flm03-frames). */
export class Flm03Decoder {
  private readonly framer: Flm03Framer;
  private readonly onMalformed: ((typeId: number, reason: string) => void) | undefined;
  private messages = 0;
  private malformed = 0;
  private unknownType = 0;

  constructor(options: Flm03DecoderOptions = {}) {
    this.framer = new Flm03Framer(options);
    this.onMalformed = options.onMalformed;
  }

  get stats(): Readonly<Flm03DecoderStats> {
    return { ...this.framer.stats, messages: this.messages, malformed: this.malformed, unknownType: this.unknownType };
  }

  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }

  push(chunk: Uint8Array): Flm03Message[] {
    const out: Flm03Message[] = [];
    for (const frame of this.framer.push(chunk)) {
      const r = decodeFlm03Payload(frame.type, frame.payload);
      if (!r.ok) {
        this.malformed++;
        this.onMalformed?.(r.typeId, r.reason);
        continue;
      }
      if (r.message.type === 'unknown') this.unknownType++;
      this.messages++;
      out.push(r.message);
    }
    return out;
  }

  reset(): void {
    this.framer.reset();
  }
}
