import { DEFAULT_MAX_TELEGRAM_BYTES } from './framer';
import { readSmartyHeader, SMARTY_START } from './smarty';

/**
 * Cuts a Smarty byte stream into encrypted frames. Frames carry their length, so framing is
 * "find 0xDB, read the header, wait for that many bytes". Noise, or an HDLC wrapper some
 * readers add (esphome/issues#2600), is skipped; a candidate start is only trusted when the
 * security byte is one the specification defines, since 0xDB 0x08 can occur in ciphertext.
 */

export interface SmartyFramerStats {
  frames: number;
  garbageBytes: number;
  oversize: number;
}

const SECURITY_BYTES = new Set([0x10, 0x20, 0x30]);

export class SmartyFramer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly counters: SmartyFramerStats = { frames: 0, garbageBytes: 0, oversize: 0 };

  constructor(readonly maxFrameBytes = DEFAULT_MAX_TELEGRAM_BYTES + 64) {}

  get stats(): Readonly<SmartyFramerStats> {
    return { ...this.counters };
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): Buffer[] {
    let b = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    for (;;) {
      const at = b.indexOf(SMARTY_START);
      if (at === -1) {
        this.counters.garbageBytes += b.length;
        b = Buffer.alloc(0);
        break;
      }
      this.counters.garbageBytes += at;
      b = b.subarray(at);
      const h = readSmartyHeader(b);
      if (h.kind === 'incomplete') break;
      const total = h.kind === 'frame' ? h.bodyStart + h.bodyLength : 0;
      const plausible = h.kind === 'frame' && (b.length <= h.bodyStart || SECURITY_BYTES.has(b[h.bodyStart]!));
      if (!plausible || total > this.maxFrameBytes) {
        if (plausible) this.counters.oversize++;
        this.counters.garbageBytes++;
        b = b.subarray(1);
        continue;
      }
      if (b.length < total) break;
      out.push(Buffer.from(b.subarray(0, total)));
      this.counters.frames++;
      b = b.subarray(total);
    }
    // Copy, so a small remainder does not pin the large chunk it was cut from.
    this.pending = Buffer.from(b);
    return out;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}
