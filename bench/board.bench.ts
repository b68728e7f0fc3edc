/**
 * FLM03 board stream: frames decoded per second from a board's byte stream (three
 * clamps and three pulse inputs, as the emulator sends them), by the decoder alone and by the
 * whole host session (decode, records, batches per board second), against a plain scan of the
 * same bytes in the same run (one pass counting 0xAA bytes). Goal: a 460800-baud stream,
 * 46,080 bytes/s at most, costs under 1 % of one core.
 */
import { BoardEmulator } from '../core/flx/emulator';
import { Flm03Decoder } from '../core/flx/flm03-decoder';
import { BoardSession } from '../core/flx/board-session';
import { parseDevice } from '../core/config/device';
import type { SensorInput } from '../core/config/schema';
import { fmt, goal } from './support';
import { DEVICE_ID, DEVICE_KEY } from '../test/support/device';

const BOARD_SECONDS = 20_000;
const CHUNK = 1024;
/** 460800 baud, 10 bits a byte on the wire (8N1) */
const LINE_BYTES_PER_S = 460800 / 10;
const T0 = Date.UTC(2026, 0, 1);

function stream(): Buffer {
  const emulator = new BoardEmulator({
    start: T0,
    clamps: [
      { port: 1, min: 100, max: 4000, periodS: 600 },
      { port: 2, watts: 800, pf: 0.9 },
      { port: 3, watts: -1500 },
    ],
    pulses: [
      { port: 4, rate: 2 },
      { port: 5, rate: 0.5 },
      { port: 6, rate: 7, jitterMs: 20 },
    ],
  });
  const parts = [Buffer.concat(emulator.configureSelf())];
  for (let i = 0; i < BOARD_SECONDS; i++) parts.push(Buffer.concat(emulator.advance(1000)));
  return Buffer.concat(parts);
}

function main() {
  const bytes = stream();
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  const device = parseDevice({
    id: DEVICE_ID,
    key: DEVICE_KEY,
    sensors: [1, 2, 3, 4, 5, 6].map((p): SensorInput =>
      p <= 3
        ? { n: p, name: `clamp${p}`, type: 'electricity', class: 'analog', port: [p] }
        : { n: p, name: `pulse${p}`, type: 'water', class: 'pulse', port: [p], constant: 1 },
    ),
  });

  let frames = 0;
  const decode = () => {
    const d = new Flm03Decoder();
    let n = 0;
    for (const c of chunks) n += d.push(c).length;
    frames = n;
    return n;
  };
  const session = () => {
    const s = new BoardSession({ sensors: device.sensors, validAfter: 0 });
    let records = 0;
    for (const c of chunks) for (const b of s.push(c, T0).batches) records += b.records.length;
    for (const b of s.flush()) records += b.records.length;
    return records;
  };
  const scan = () => {
    let syncs = 0;
    for (const c of chunks) for (let i = 0; i < c.length; i++) if (c[i] === 0xaa) syncs++;
    return syncs;
  };
  const time = (fn: () => number) =>
    Math.min(
      ...[0, 1, 2, 3, 4].map(() => {
        const t0 = process.hrtime.bigint();
        if (fn() <= 0) throw new Error('nothing processed');
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }),
    );
  decode();
  session();
  scan();
  const d = time(decode);
  const s = time(session);
  const b = time(scan);
  const mb = bytes.length / 1e6;
  const share = (ms: number) => (LINE_BYTES_PER_S / (bytes.length / (ms / 1000))) * 100;
  console.log(
    `${BOARD_SECONDS} board seconds: ${fmt(mb, 2)} MB, ${frames} frames (3 clamps, 3 pulse inputs), ${CHUNK}-byte chunks`,
  );
  console.log(`decoder:          ${fmt(frames / (d / 1000), 0)} frames/s, ${fmt(mb / (d / 1000), 1)} MB/s`);
  console.log(
    `host session:     ${fmt(frames / (s / 1000), 0)} frames/s, ${fmt(mb / (s / 1000), 1)} MB/s (decode + records + batches)`,
  );
  console.log(`plain scan:       ${fmt(mb / (b / 1000), 1)} MB/s (one pass counting 0xAA)`);
  console.log(`ratio decoder/scan time: ${fmt(d / b, 2)}x; session/scan: ${fmt(s / b, 2)}x`);
  console.log(
    `a full 460800-baud line (${LINE_BYTES_PER_S} B/s) costs ${fmt(share(d), 3)} % of a core to decode, ${fmt(share(s), 3)} % through the session`,
  );
  goal('a full 460800-baud line through the session, share of one core', share(s), '<', 1, { digits: 3, unit: ' %' });
}

main();
