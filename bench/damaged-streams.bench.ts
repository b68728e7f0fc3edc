/**
 * Damaged input must not cost much more per byte than intact input: a framer that rescans its
 * buffer after every bad byte turns a noisy line into a CPU hog. The fuzz tests (test/unit/p1/
 * fuzz.test.ts, test/unit/flx/flm03-fuzz.test.ts) check what comes out; this checks the time.
 * Per framer, the same number of bytes of intact frames and of seeded damage (garbage, cut
 * frames, flipped bytes, 0xAA-heavy noise for FLM03) in 600-byte chunks, measured in one run.
 * Goals: damaged P1 input within 3x the time per byte of intact input; damaged input arriving
 * at the full line rate (P1 115200 baud, the FLM03 board 460800 baud, 10 bits a byte) takes
 * under 1 % of one core. The FLM03 framer tries every 0xAA as a frame start, so noise full of
 * them costs several times an intact stream per byte, which is fine as long as the line cannot
 * bring that anywhere near a core.
 */
import { P1Framer } from '../core/p1/framer';
import { checkTelegram } from '../core/p1/check';
import { Flm03Framer, encodeFlm03Frame } from '../core/flx/flm03-frame';
import { prng } from '../core/util/prng';
import { fixture, telegramOf } from '../test/unit/p1/fixtures';
import { fmt, goal } from './support';

const BYTES = 4_000_000;
const ROUNDS = 5;
const CHUNK = 600;

/** `BYTES` bytes of `piece`s, every other one damaged by `damage` when given. */
function streamOf(piece: () => Uint8Array, damage?: (b: Uint8Array) => Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (let i = 0; n < BYTES; i++) {
    const p = damage && i % 2 ? damage(piece()) : piece();
    parts.push(p);
    n += p.length;
  }
  return Buffer.concat(parts);
}

function damager(seed: number, noiseByte: () => number) {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  return (b: Uint8Array): Uint8Array => {
    const s = Array.from(b);
    switch (int(4)) {
      case 0:
        return Uint8Array.from(s.slice(0, int(s.length)));
      case 1:
        s[int(s.length)]! ^= 1 << int(8);
        return Uint8Array.from(s);
      case 2:
        return Uint8Array.from(Array.from({ length: 50 + int(400) }, noiseByte));
      default:
        s.splice(int(s.length), 0, ...Array.from({ length: 1 + int(20) }, noiseByte));
        return Uint8Array.from(s);
    }
  };
}

/** Best-of-`ROUNDS` ns per byte of `run` over `input` in `CHUNK`-byte pieces. */
function nsPerByte(input: Uint8Array, run: (chunk: Uint8Array) => void): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < input.length; i += CHUNK) run(input.subarray(i, i + CHUNK));
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / input.length);
  }
  return best;
}

/** Percent of one core that `ns` per byte takes when bytes arrive at `baud` (10 bits a byte). */
const lineShare = (ns: number, baud: number): number => ((ns * (baud / 10)) / 1e9) * 100;

function p1(): void {
  const telegram = Buffer.from(telegramOf(fixture('dsmr5-be-fluvius.txt')), 'latin1');
  const rnd = prng(7);
  const noise = () => (rnd() < 0.3 ? '/!\r\n'.charCodeAt(Math.floor(rnd() * 4)) : Math.floor(rnd() * 256));
  const intact = streamOf(() => telegram);
  const damaged = streamOf(() => telegram, damager(11, noise));
  const through = () => {
    const framer = new P1Framer();
    return (chunk: Uint8Array) => {
      for (const t of framer.push(chunk)) checkTelegram(t, { mode: 'strict' });
    };
  };
  const a = nsPerByte(intact, through());
  const b = nsPerByte(damaged, through());
  console.log(`P1 framer + CRC check: intact ${fmt(a)} ns/byte, damaged ${fmt(b)} ns/byte`);
  goal('P1 damaged / intact time per byte', b / a, '<=', 3, { digits: 2, unit: 'x' });
  goal('P1 damaged input at 115200 baud, share of one core', lineShare(b, 115_200), '<', 1, { digits: 3, unit: ' %' });
}

function flm03(): void {
  const frames = [
    encodeFlm03Frame(3, Uint8Array.from([1, 2, 3, 4])),
    encodeFlm03Frame(8, new Uint8Array(60).fill(7)),
    encodeFlm03Frame(12, new Uint8Array(255).fill(0xaa)),
  ];
  let k = 0;
  const rnd = prng(13);
  const noise = () => (rnd() < 0.4 ? 0xaa : Math.floor(rnd() * 256));
  const intact = streamOf(() => frames[k++ % frames.length]!);
  const damaged = streamOf(() => frames[k++ % frames.length]!, damager(17, noise));
  const through = () => {
    const framer = new Flm03Framer({});
    return (chunk: Uint8Array) => void framer.push(chunk);
  };
  const a = nsPerByte(intact, through());
  const b = nsPerByte(damaged, through());
  console.log(`FLM03 framer: intact ${fmt(a)} ns/byte, damaged ${fmt(b)} ns/byte`);
  console.log(`FLM03 damaged / intact time per byte: ${fmt(b / a)}x`);
  goal('FLM03 damaged input at 460800 baud, share of one core', lineShare(b, 460_800), '<', 1, {
    digits: 3,
    unit: ' %',
  });
}

p1();
flm03();
