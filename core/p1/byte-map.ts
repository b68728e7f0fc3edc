/**
 * A map from short latin1 keys (OBIS codes) to values, looked up by the key's bytes in place.
 * A telegram a second holds a few dozen codes; cutting each into a string only to find it in
 * a Map cost more than reading its value. Open addressing over a table at most half full.
 */
export class ByteMap<T> {
  private readonly keys: Array<Uint8Array | undefined>;
  private readonly values: Array<T | undefined>;
  private readonly mask: number;

  constructor(entries: Iterable<readonly [string, T]>) {
    const list = [...entries];
    let size = 16;
    while (size < list.length * 2) size *= 2;
    this.mask = size - 1;
    this.keys = new Array<Uint8Array | undefined>(size).fill(undefined);
    this.values = new Array<T | undefined>(size).fill(undefined);
    for (const [key, value] of list) {
      const bytes = Buffer.from(key, 'latin1');
      let slot = hash(bytes, 0, bytes.length) & this.mask;
      while (this.keys[slot] !== undefined && !same(this.keys[slot]!, bytes, 0, bytes.length)) slot = (slot + 1) & this.mask;
      this.keys[slot] = bytes;
      this.values[slot] = value;
    }
  }

  /** The value of the key `bytes[start, end)`, or undefined. */
  get(bytes: Uint8Array, start: number, end: number): T | undefined {
    for (let slot = hash(bytes, start, end) & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) return undefined;
      if (same(key, bytes, start, end)) return this.values[slot];
    }
  }
}

function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = end - start;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + bytes[i]!) | 0;
  return h ^ (h >>> 7);
}

function same(key: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key[i] !== bytes[start + i]) return false;
  return true;
}
