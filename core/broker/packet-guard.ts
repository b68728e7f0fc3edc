import { Duplex } from 'node:stream';

/** A client declared a packet larger than the broker takes; its connection is cut. */
export class PacketTooLargeError extends Error {
  readonly code = 'EPACKETTOOLARGE';
  /** `declaredAtLeast`: the length read so far, which already passed the limit */
  constructor(
    readonly declaredAtLeast: number,
    readonly max: number,
  ) {
    super(`a packet of more than ${max} bytes declared`);
  }
}

/**
 * Follows MQTT packet boundaries in a byte stream: the fixed header's remaining length (1 to 4
 * bytes of 7 bits each) tells how many bytes to skip to the next header. Nothing is buffered.
 */
export class PacketBoundaries {
  private state: 'header' | 'length' | 'body' = 'header';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly max: number) {}

  /** Scan a chunk; an error once a header declares more than `max` bytes or is malformed. */
  scan(chunk: Buffer): PacketTooLargeError | Error | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = 'header';
      } else if (this.state === 'header') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        this.length += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (this.length > this.max) return new PacketTooLargeError(this.length, this.max);
        if (b & 0x80) {
          if (this.lengthBytes === 4) return new Error('malformed remaining length');
          continue;
        }
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'header';
      }
    }
    return null;
  }
}

/**
 * The connection aedes reads from, with packets over `maxBytes` cut at their header: aedes's
 * parser would otherwise keep buffering whatever size a client declares (up to 256 MB).
 */
export class PacketGuard extends Duplex {
  private readonly boundaries: PacketBoundaries;

  constructor(
    private readonly inner: Duplex,
    maxBytes: number,
    onRefused: (err: Error) => void,
  ) {
    super({ allowHalfOpen: false });
    this.boundaries = new PacketBoundaries(maxBytes);
    inner.on('data', (chunk: Buffer) => {
      const err = this.boundaries.scan(chunk);
      if (err) {
        onRefused(err);
        this.destroy(err);
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (err) => this.destroy(err));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    // Take the next write at once unless the connection is backed up: waiting for each write's
    // flush would hand subscribers one message per event-loop turn.
    if (this.inner.write(chunk, encoding)) cb();
    else this.inner.once('drain', () => cb());
  }

  /** aedes writes a packet in pieces under cork(): hand them on together. */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.inner.cork();
    let ok = true;
    for (const { chunk, encoding } of chunks) ok = this.inner.write(chunk, encoding);
    this.inner.uncork();
    if (ok) cb();
    else this.inner.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }
}
