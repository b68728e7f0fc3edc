import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flm03Framer, encodeFlm03Frame } from '../../../core/flx/flm03-frame';
import { Flm03Decoder } from '../../../core/flx/flm03-decoder';
import { encodeFlm03Message, type Flm03Message } from '../../../core/flx/flm03-messages';
import { prng } from '../../../core/util/prng';
import {
  CT_COUNTERS_GOLDEN,
  CT_GAUGES_GOLDEN,
  T_BOARD,
  concat,
  ctDataPayload,
  goldenFrame,
  le,
  pulseDataPayload,
  referenceFletcher,
} from './support';

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** Golden frames built from the documented field lists, with what each must decode to. */
const GOLDEN: { name: string; frame: Uint8Array; message: Flm03Message }[] = [
  { name: 'ping', frame: goldenFrame(0, []), message: { type: 'ping', payload: new Uint8Array(0) } },
  { name: 'pong', frame: goldenFrame(1, [1, 2, 3]), message: { type: 'pong', payload: Uint8Array.of(1, 2, 3) } },
  {
    name: 'time_stamp',
    frame: goldenFrame(3, le(T_BOARD, 4)),
    message: { type: 'time_stamp', time: T_BOARD },
  },
  {
    name: 'time_step',
    frame: goldenFrame(4, [0xd2, 0x02, 0x96, 0x49]),
    message: { type: 'time_step', time: 1234567890 },
  },
  {
    name: 'time_slew',
    frame: goldenFrame(5, [0xfe, 0xff]),
    message: { type: 'time_slew', payload: Uint8Array.of(0xfe, 0xff) },
  },
  {
    name: 'ct_data',
    frame: goldenFrame(8, ctDataPayload()),
    message: {
      type: 'ct_data',
      time: T_BOARD,
      millis: 250,
      port: 1,
      counters: CT_COUNTERS_GOLDEN.map(([integer, fraction]) => ({ integer, fraction })),
      gauges: CT_GAUGES_GOLDEN,
    },
  },
  {
    name: 'pulse_data (20 bytes, as the C struct is padded)',
    frame: goldenFrame(9, pulseDataPayload(3, 1024, 98765, 432)),
    message: {
      type: 'pulse_data',
      time: T_BOARD,
      millis: 10,
      port: 3,
      gauge: 1024,
      counter: 98765,
      counterMillis: 432,
    },
  },
  {
    name: 'pulse_data (18 bytes, packed)',
    frame: goldenFrame(9, pulseDataPayload(5, -7, 1, 999).slice(0, 18)),
    message: { type: 'pulse_data', time: T_BOARD, millis: 10, port: 5, gauge: -7, counter: 1, counterMillis: 999 },
  },
  {
    name: 'voltage',
    frame: goldenFrame(6, [
      ...le(T_BOARD, 4),
      ...le(500, 2),
      0,
      0,
      ...le(230_000, 4),
      ...range(32, (i) => i * 20_000 - 320_000).flatMap((s) => le(s, 4)),
    ]),
    message: {
      type: 'voltage',
      time: T_BOARD,
      millis: 500,
      rms: 230_000,
      samples: range(32, (i) => i * 20_000 - 320_000),
    },
  },
  {
    name: 'current',
    frame: goldenFrame(7, [
      ...le(T_BOARD, 4),
      ...le(501, 2),
      2,
      0,
      ...le(-1, 4),
      ...range(32, (i) => 1 - i).flatMap((s) => le(s, 4)),
    ]),
    message: { type: 'current', time: T_BOARD, millis: 501, index: 2, rms: -1, samples: range(32, (i) => 1 - i) },
  },
  {
    name: 'kube_packet',
    frame: goldenFrame(10, [212, 0x05, 0]),
    message: { type: 'kube_packet', payload: Uint8Array.of(212, 5, 0) },
  },
  { name: 'kube_ctrl', frame: goldenFrame(11, [212]), message: { type: 'kube_ctrl', group: 212 } },
  {
    name: 'debug',
    frame: goldenFrame(12, [...Buffer.from('hi')]),
    message: { type: 'debug', payload: Uint8Array.from(Buffer.from('hi')) },
  },
  {
    name: 'sar (70 bytes)',
    frame: goldenFrame(13, [...le(T_BOARD, 4), ...le(7, 2), ...range(32, (i) => 4095 - i).flatMap((s) => le(s, 2))]),
    message: { type: 'sar', time: T_BOARD, millis: 7, samples: range(32, (i) => 4095 - i) },
  },
  {
    name: 'sar (72 bytes, padded)',
    frame: goldenFrame(13, [...le(T_BOARD, 4), ...le(7, 2), ...range(32, () => 65535).flatMap((s) => le(s, 2)), 0, 0]),
    message: { type: 'sar', time: T_BOARD, millis: 7, samples: range(32, () => 65535) },
  },
  {
    name: 'sdadc',
    frame: goldenFrame(14, [
      ...le(T_BOARD, 4),
      ...le(8, 2),
      1,
      0,
      ...range(32, (i) => (i % 2 ? -32768 : 32767)).flatMap((s) => le(s, 2)),
    ]),
    message: { type: 'sdadc', time: T_BOARD, millis: 8, index: 1, samples: range(32, (i) => (i % 2 ? -32768 : 32767)) },
  },
  { name: 'rfm', frame: goldenFrame(15, [9]), message: { type: 'rfm', payload: Uint8Array.of(9) } },
  { name: 'exit', frame: goldenFrame(16, []), message: { type: 'exit', payload: new Uint8Array(0) } },
  {
    name: 'type 99 (unknown)',
    frame: goldenFrame(99, [1]),
    message: { type: 'unknown', typeId: 99, payload: Uint8Array.of(1) },
  },
  {
    name: 'port_config',
    frame: goldenFrame(
      2,
      [
        // ports 1–3: clamps of 50, 100 and 500 A, shifts 0, 3, 255; enabled
        0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 1, 0, 0, 0, 0, 0, 3, 255, 1, 0,
        // port 4: 1 Wh/pulse; port 5: 10.01 L/pulse, level trigger; port 6: 0.5, disabled
        1, 0, 0, 0, 0, 0, 1, 0, 10, 0, 10, 0, 0, 0, 1, 1, 0, 0, 0xf4, 0x01, 0, 0, 0, 0,
        // port 7 unused
        0, 0, 0, 0, 0, 0, 0, 0,
        // phase 3p+n, LED heartbeat, batch 16, math p1+p2+p3
        1, 255, 16, 2,
      ],
    ),
    message: {
      type: 'port_config',
      ports: [
        { constant: 0, fraction: 0, current: 0, shift: 0, enable: true, trigger: 0 },
        { constant: 0, fraction: 0, current: 1, shift: 3, enable: true, trigger: 0 },
        { constant: 0, fraction: 0, current: 3, shift: 255, enable: true, trigger: 0 },
        { constant: 1, fraction: 0, current: 0, shift: 0, enable: true, trigger: 0 },
        { constant: 10, fraction: 10, current: 0, shift: 0, enable: true, trigger: 1 },
        { constant: 0, fraction: 500, current: 0, shift: 0, enable: false, trigger: 0 },
        { constant: 0, fraction: 0, current: 0, shift: 0, enable: false, trigger: 0 },
      ],
      phase: 1,
      led: 255,
      batch: 16,
      math: 2,
    },
  },
];

const ping = goldenFrame(0, []);
const PING: Flm03Message = { type: 'ping', payload: new Uint8Array(0) };
/** no 0xAA in it: flushes any candidate still waiting for its announced length */
const FLUSH = new Uint8Array(300);

test('golden frames built from the documented field lists decode to their records', () => {
  for (const g of GOLDEN) {
    const d = new Flm03Decoder();
    assert.deepEqual(d.push(g.frame), [g.message], g.name);
    assert.equal(d.bufferedBytes, 0, g.name);
    assert.equal(d.stats.frames, 1, g.name);
  }
});

test('the encoder produces the golden frames byte for byte', () => {
  for (const g of GOLDEN) {
    // the encoder pads pulse_data and sar like the C structs, so compare those via decoding
    if (/18 bytes|70 bytes/.test(g.name)) continue;
    assert.deepEqual(encodeFlm03Message(g.message), g.frame, g.name);
  }
  assert.deepEqual(
    encodeFlm03Frame(4, Uint8Array.of(0xd2, 0x02, 0x96, 0x49)),
    Uint8Array.of(0xaa, 0xaa, 4, 4, 0xd2, 0x02, 0x96, 0x49, 0xf3, 0xbc),
  );
});

test('all golden frames in one stream, then fed byte by byte and in random chunks: the same records', () => {
  const stream = concat(...GOLDEN.map((g) => g.frame));
  const want = GOLDEN.map((g) => g.message);
  assert.deepEqual(new Flm03Decoder().push(stream), want);

  const d = new Flm03Decoder();
  const got: Flm03Message[] = [];
  for (const b of stream) got.push(...d.push(Uint8Array.of(b)));
  assert.deepEqual(got, want);

  const rnd = prng(3);
  for (let run = 0; run < 50; run++) {
    const dd = new Flm03Decoder();
    const out: Flm03Message[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 1 + Math.floor(rnd() * 40);
      out.push(...dd.push(stream.subarray(i, i + n)));
      i += n;
    }
    assert.deepEqual(out, want);
  }
});

/**
 * Every single-byte corruption of every golden frame, followed by a good ping: the damaged frame
 * must give nothing and the ping must still come through.
 *
 * Fletcher-16 adds bytes modulo 255, where 0x00 and 0xFF are the same number, so a byte of type,
 * length or payload swapped between 0x00 and 0xFF leaves the checksum as it was: no decoder can
 * see it. Those swaps are checked to be exactly that (same reference checksum) and left out.
 */
test('every single-byte corruption of a frame is rejected, and the next frame still decodes', () => {
  let cases = 0;
  let blind = 0;
  for (const g of GOLDEN) {
    for (let i = 0; i < g.frame.length; i++) {
      for (let v = 0; v < 256; v++) {
        if (v === g.frame[i]) continue;
        const bad = g.frame.slice();
        bad[i] = v;
        const inChecksummed = i >= 2 && i < g.frame.length - 2;
        const swap = (g.frame[i] === 0 && v === 0xff) || (g.frame[i] === 0xff && v === 0);
        if (inChecksummed && swap && i !== 3) {
          const body = Array.from(bad.subarray(2, bad.length - 2));
          assert.deepEqual(
            referenceFletcher(body),
            [bad[bad.length - 2], bad[bad.length - 1]],
            'a 0x00/0xFF swap is invisible to Fletcher-16',
          );
          blind++;
          continue;
        }
        const d = new Flm03Decoder();
        const got = d.push(concat(bad, ping, FLUSH));
        assert.deepEqual(got, [PING], `${g.name}: byte ${i} 0x${g.frame[i]!.toString(16)} → 0x${v.toString(16)}`);
        cases++;
      }
    }
  }
  assert.ok(cases > 100_000, `${cases} corruptions tried`);
  assert.ok(blind < cases / 100, `${blind} 0x00/0xFF swaps`);
});

test('every single-bit error of a frame is rejected, with no exception', () => {
  for (const g of GOLDEN) {
    for (let i = 0; i < g.frame.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = g.frame.slice();
        bad[i]! ^= 1 << bit;
        assert.deepEqual(new Flm03Decoder().push(concat(bad, ping, FLUSH)), [PING], `${g.name}: byte ${i} bit ${bit}`);
      }
    }
  }
});

test('resync: garbage before, between and inside frames, an extra sync byte, a truncated frame', () => {
  const ct = GOLDEN.find((g) => g.name === 'ct_data')!;
  const ts = GOLDEN.find((g) => g.name === 'time_stamp')!;
  const noise = Uint8Array.of(0x00, 0x13, 0xaa, 0x55, 0xaa, 0xaa, 0x08, 0xaa, 0xff, 0xaa);
  const cut = ct.frame.slice(0, 40);
  const stream = concat(
    noise,
    ct.frame, // garbage before
    noise,
    ts.frame, // garbage between
    ct.frame.slice(0, 30),
    noise,
    ct.frame.slice(30), // garbage inside: that frame is lost
    Uint8Array.of(0xaa),
    ts.frame, // a stray sync byte right before a frame
    cut,
    ts.frame, // a frame cut short, the next one starts inside its announced length
    ct.frame,
  );
  const d = new Flm03Decoder();
  const got = [...d.push(stream), ...d.push(FLUSH)];
  assert.deepEqual(got, [ct.message, ts.message, ts.message, ts.message, ct.message]);
  assert.ok(d.stats.badChecksum >= 2, 'the damaged and the cut frame are counted');

  // byte by byte: the same
  const d2 = new Flm03Decoder();
  const got2: Flm03Message[] = [];
  for (const b of concat(stream, FLUSH)) got2.push(...d2.push(Uint8Array.of(b)));
  assert.deepEqual(got2, got);
});

test('a bad checksum drops that one frame, counted; the frames around it are kept', () => {
  const bad = ping.slice();
  bad[5] = 0x00;
  const d = new Flm03Decoder();
  assert.deepEqual(d.push(concat(ping, bad, ping)), [PING, PING]);
  const s = d.stats;
  assert.equal(s.frames, 2);
  assert.equal(s.badChecksum, 1);
  assert.equal(s.garbageBytes, 6);
  assert.equal(s.bytesIn, 18);
});

test('a checksum-valid frame whose length does not fit its type is dropped as malformed, not half-read', () => {
  const reasons: string[] = [];
  const d = new Flm03Decoder({ onMalformed: (_t, r) => reasons.push(r) });
  const short = goldenFrame(8, ctDataPayload().slice(0, 91));
  assert.deepEqual(d.push(concat(short, ping, goldenFrame(11, []), goldenFrame(3, [1, 2, 3]))), [PING]);
  assert.equal(d.stats.malformed, 3);
  assert.match(reasons[0]!, /ct_data payload of 91 bytes, expected 92/);
});

test('length limit: a header announcing more than maxPayload is noise at once, not a reason to wait', () => {
  const fake = Uint8Array.of(0xaa, 0xaa, 8, 200, 1, 2, 3);
  const d = new Flm03Decoder({ maxPayload: 140 });
  assert.deepEqual(d.push(concat(fake, ping)), [PING]);
  assert.equal(d.stats.oversize, 1);
  // without the limit the same bytes hold the ping back until 206 bytes have arrived
  const open = new Flm03Decoder();
  assert.deepEqual(open.push(concat(fake, ping)), []);
  assert.deepEqual(open.push(FLUSH), [PING]);
});

test('bounded memory: a megabyte of noise and a stalled 255-byte header never hold more than one frame', () => {
  const rnd = prng(9);
  const f = new Flm03Framer();
  for (let n = 0; n < 1024; n++) {
    const chunk = Uint8Array.from({ length: 1024 }, () => (rnd() < 0.2 ? 0xaa : Math.floor(rnd() * 256)));
    f.push(chunk);
    assert.ok(f.bufferedBytes <= 4 + 255 + 2, `${f.bufferedBytes} bytes held`);
  }
  f.push(Uint8Array.of(0xaa, 0xaa, 1, 255));
  f.push(new Uint8Array(200).fill(0x11));
  assert.ok(f.bufferedBytes <= 261);
  f.reset();
  assert.equal(f.bufferedBytes, 0);
  assert.deepEqual(
    f.push(ping).map((x) => x.type),
    [0],
  );
});

test('frames carry their stream offset', () => {
  const f = new Flm03Framer();
  const out = [...f.push(concat(Uint8Array.of(1, 2, 3), ping)), ...f.push(concat(Uint8Array.of(0xaa), ping))];
  assert.deepEqual(
    out.map((x) => x.offset),
    [3, 10],
  );
});

test('encoder limits: type and payload length must fit their bytes', () => {
  assert.throws(() => encodeFlm03Frame(256), RangeError);
  assert.throws(() => encodeFlm03Frame(1, new Uint8Array(256)), RangeError);
  assert.throws(() => new Flm03Framer({ maxPayload: 256 }), RangeError);
  assert.equal(encodeFlm03Frame(1, new Uint8Array(255)).length, 261);
});
