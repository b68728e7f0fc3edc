/**
 * Telegrams travel as latin1 strings (one character per byte, as the framer emits them), but a
 * loop over a Uint8Array costs about half of one over charCodeAt, so the hot loops read bytes.
 * Copying a telegram into a buffer that is kept between calls costs less than one such loop.
 */

/** Larger texts get a buffer of their own rather than growing one that is kept forever. */
const KEPT_BYTES = 64 * 1024;

/** Characters above U+00FF cannot come from a byte stream, but a caller may pass any string. */
const WIDE = /[^\x00-\xff]/;
const WIDE_ALL = /[^\x00-\xff]/g;

/**
 * A reusable byte view of the latest text given to it. Each module that reads bytes owns one:
 * the view is overwritten by the next call, and every caller is synchronous.
 */
export class Latin1Scratch {
  private buf = Buffer.allocUnsafe(4096);

  /** The low byte of each character, as `Buffer.from(text, 'latin1')` and the CRC see them. */
  bytes(text: string): Uint8Array {
    return this.write(text, 0);
  }

  /**
   * Bytes for reading lines: a character above U+00FF becomes 0xFF, which, like it, is none of
   * the characters a telegram is made of (its low byte could have been `(` or `\n`); and one
   * LF follows the text, so a loop looking for a line end stops without checking the length.
   */
  lines(text: string): Uint8Array {
    return this.write(WIDE.test(text) ? text.replace(WIDE_ALL, '\xff') : text, 1);
  }

  private write(text: string, sentinel: 0 | 1): Uint8Array {
    const size = text.length + sentinel;
    let buf = this.buf;
    if (size > buf.length) {
      buf = Buffer.allocUnsafe(Math.max(size, buf.length * 2));
      if (size <= KEPT_BYTES) this.buf = buf;
    }
    buf.write(text, 0, 'latin1');
    if (sentinel) buf[text.length] = 0x0a;
    return buf.subarray(0, size);
  }
}

/** Whether every character of `text` fits in a byte. */
export const isLatin1 = (text: string): boolean => !WIDE.test(text);
