import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flm03Framer, type Flm03Frame } from '../../../core/flx/flm03-frame';
import { Flm03Decoder } from '../../../core/flx/flm03-decoder';
import { prng } from '../../../core/util/prng';
import { ctDataPayload, goldenFrame, le, pulseDataPayload, referenceValid, T_BOARD } from './support';

/**
 * 100,000 seeded streams: intact golden frames mixed with damaged ones (bytes changed, inserted,
 * deleted, cut short, spliced, 0xAA-heavy noise), fed in random chunks. Nothing may throw or
 * hang; every frame that comes out must be, byte for byte at its reported offset, a frame that
 * is valid by the test's own checksum (no bad frame is ever accepted); no intact frame may be
 * lost unless an accepted frame overlaps it; memory stays within one frame.
 */

const CASES = 100_000;
const SEED = 20250107;

const originals: Uint8Array[] = [
  goldenFrame(0, []),
  goldenFrame(3, le(T_BOARD, 4)),
  goldenFrame(8, ctDataPayload(0)),
  goldenFrame(8, ctDataPayload(2, T_BOARD + 1, 0)),
  goldenFrame(9, pulseDataPayload(4, 2048, 12, 0)),
  goldenFrame(11, [212]),
  goldenFrame(5, [0xaa, 0xaa, 0xaa]),
  goldenFrame(12, new Array<number>(255).fill(0xaa)),
];

function damage(rnd: () => number, frame: Uint8Array): Uint8Array {
  const int = (n: number): number => Math.floor(rnd() * n);
  let s = Array.from(frame);
  const ops = 1 + int(3);
  for (let k = 0; k < ops; k++) {
    const i = int(s.length + 1);
    const byte = rnd() < 0.3 ? 0xaa : int(256);
    switch (int(6)) {
      case 0:
        s[Math.min(i, s.length - 1)] = byte;
        break;
      case 1:
        s.splice(i, 0, byte);
        break;
      case 2:
        s.splice(i, 1 + int(8));
        break;
      case 3:
        s = s.slice(0, i);
        break;
      case 4: {
        const o = originals[int(originals.length)]!;
        s = [...s.slice(0, i), ...Array.from(o.subarray(int(o.length)))];
        break;
      }
      default:
        s[Math.min(i, s.length - 1)]! ^= 1 << int(8);
    }
  }
  return Uint8Array.from(s);
}

function noise(rnd: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => (rnd() < 0.4 ? 0xaa : Math.floor(rnd() * 256)));
}

test(`fuzz: ${CASES} seeded streams never throw, hang, hold more than a frame, lose an intact frame or accept a bad one`, () => {
  const rnd = prng(SEED);
  let accepted = 0;
  let intactTotal = 0;
  for (let n = 0; n < CASES; n++) {
    const parts: Uint8Array[] = [];
    const intact: { start: number; end: number }[] = [];
    let length = 0;
    const segments = 1 + Math.floor(rnd() * 5);
    for (let k = 0; k < segments; k++) {
      const r = rnd();
      const o = originals[Math.floor(rnd() * originals.length)]!;
      const seg = r < 0.4 ? o : r < 0.8 ? damage(rnd, o) : noise(rnd);
      if (seg === o) intact.push({ start: length, end: length + o.length });
      parts.push(seg);
      length += seg.length;
    }
    const input = new Uint8Array(length + 300);
    let at = 0;
    for (const p of parts) {
      input.set(p, at);
      at += p.length;
    }
    // the 300 zero bytes at the end settle every candidate still waiting for its length

    const maxPayload = rnd() < 0.3 ? 140 : 255;
    const framer = new Flm03Framer({ maxPayload });
    const frames: Flm03Frame[] = [];
    for (let i = 0; i < input.length;) {
      const size = 1 + Math.floor(rnd() * 64);
      frames.push(...framer.push(input.subarray(i, i + size)));
      assert.ok(framer.bufferedBytes <= 261, `case ${n}: ${framer.bufferedBytes} bytes held`);
      i += size;
    }

    const spans = frames.map((f) => ({ start: f.offset, end: f.offset + f.payload.length + 6 }));
    frames.forEach((f, k) => {
      const bytes = input.subarray(spans[k]!.start, spans[k]!.end);
      assert.ok(referenceValid(bytes), `case ${n}: accepted a frame at ${f.offset} that is not valid in the input`);
      assert.equal(bytes[2], f.type);
      assert.deepEqual(bytes.subarray(4, bytes.length - 2), f.payload);
      if (k > 0) assert.ok(f.offset >= spans[k - 1]!.end, `case ${n}: frames overlap`);
    });
    for (const s of intact) {
      if (s.end - s.start - 6 > maxPayload) continue; // refused by design
      const found = spans.some((x) => x.start === s.start) || spans.some((x) => x.start < s.end && s.start < x.end);
      assert.ok(found, `case ${n}: intact frame at ${s.start} lost`);
    }
    accepted += frames.length;
    intactTotal += intact.length;

    // the message layer on the same bytes, in one piece: must not throw either
    new Flm03Decoder().push(input);
  }
  assert.ok(accepted >= intactTotal);
});
