/**
 * P1 (issue 3): telegrams per second through framing, CRC check, parse and FLM readings for the
 * Belgian fixture, against one Buffer.indexOf scan of the same bytes (every line end found) in
 * the same run. Goals: at least 20,000 telegrams/s per core; within 30x of the scan.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { P1Framer, checkTelegram, parseTelegram, toFlmReadings } from '../core/p1';
import { p1FixturesDir } from '../test/support/paths';
import { fmt } from './support';

const N = 20_000;

function main() {
  const text = readFileSync(join(p1FixturesDir, 'dsmr5-be-fluvius.txt'), 'latin1');
  const telegram = text.slice(text.indexOf('/'));
  const bytes = Buffer.from(telegram.endsWith('\r\n') ? telegram : telegram.replace(/\r?\n/g, '\r\n'), 'latin1');
  const stream = Buffer.concat(Array.from({ length: 100 }, () => bytes));

  const pipeline = () => {
    const framer = new P1Framer();
    let readings = 0;
    for (let i = 0; i < N / 100; i++) {
      for (const t of framer.push(stream)) {
        const check = checkTelegram(t, { mode: 'strict' });
        if (!check.accepted) throw new Error(`fixture rejected: ${check.message}`);
        readings += toFlmReadings(parseTelegram(t), { deviceId: '0123456789abcdef0123456789abcdef' }).length;
      }
    }
    return readings;
  };
  const scan = () => {
    let lines = 0;
    for (let i = 0; i < N / 100; i++) {
      for (let at = stream.indexOf(10); at !== -1; at = stream.indexOf(10, at + 1)) lines++;
    }
    return lines;
  };
  const time = (fn: () => number) => Math.min(...[0, 1, 2].map(() => {
    const t0 = process.hrtime.bigint();
    if (fn() <= 0) throw new Error('nothing processed');
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }));
  pipeline();
  scan();
  const p = time(pipeline);
  const s = time(scan);
  const rate = N / (p / 1000);
  console.log(`${N} Belgian telegrams (${bytes.length} bytes each)`);
  console.log(`frame + CRC + parse + readings: ${fmt(rate, 0)} telegrams/s`);
  console.log(`Buffer.indexOf scan of the same bytes: ${fmt(N / (s / 1000), 0)} telegrams/s`);
  console.log(`ratio pipeline/scan time: ${fmt(p / s, 1)}x (goal <= 30x) ${p / s <= 30 ? 'MET' : 'NOT MET'}`);
  console.log(`goal: >= 20000 telegrams/s per core: ${rate >= 20_000 ? 'MET' : 'NOT MET'}`);
}

main();
