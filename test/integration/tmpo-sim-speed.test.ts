/**
 * `npm start` with the simulator at ×600 for one minute: ten simulated hours, far ahead of the
 * host clock. Every window is written as it fills (not refused as overflow once 8 are open), the
 * blocks on disk decode by tmpo-py's rule into one increasing series per sensor covering the
 * simulated hours, and the log has no line per reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline } from '../support/start-pipeline';
import { untilListening } from '../support/net';
import { blk2series } from '../support/tmpo-py-client';
import { readOpenJournal } from '../../core/tmpo/open-journal';
import { blockToSeries } from '../../core/tmpo/codec';

const SPEED = 600;
/** at least this long; longer (up to MAX_RUN_MS) while a loaded machine has not yet simulated AHEAD_S */
const RUN_MS = 60_000;
const MAX_RUN_MS = 180_000;
/** how far ahead of the host clock the written blocks must reach */
const AHEAD_S = 2 * 3600;

/** Block files of one sensor in tmpo-py's list order (rid ascending, level descending, bid ascending). */
function blocksOf(sensorDir: string): Array<{ lvl: number; bid: number; path: string }> {
  const out: Array<{ lvl: number; bid: number; path: string }> = [];
  for (const rid of readdirSync(sensorDir).sort((a, b) => +a - +b)) {
    for (const lvl of ['20', '16', '12', '8']) {
      const dir = join(sensorDir, rid, lvl);
      if (!existsSync(dir)) continue;
      for (const bid of readdirSync(dir)
        .filter((f) => /^\d+$/.test(f))
        .sort((a, b) => +a - +b))
        out.push({ lvl: +lvl, bid: +bid, path: join(dir, bid) });
    }
  }
  return out;
}

test(
  `npm start at FLM_SIM_SPEED=${SPEED} for a minute: blocks on disk cover the simulated hours, decode by tmpo-py's rule, no line per reading`,
  { timeout: 300_000 },
  async () => {
    const p = await startPipeline({ FLM_SIM_SPEED: String(SPEED), FLM_LOG_LEVEL: 'info', FLM_UPLOAD_INTERVAL: '300' });
    try {
      await untilListening(p.mqttPort, p.run.output);
      const startedAt = Math.floor(Date.now() / 1000);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, RUN_MS));
      // Two busy cores can slow the simulator to a sixth of its pace: go on until a block that far
      // ahead is on disk, within a bound, so the assertions below judge the store, not the load.
      const sensorRoot = join(p.dir.path, 'data', 'tmpo', 'sensor');
      const farAhead = () =>
        existsSync(sensorRoot) &&
        readdirSync(sensorRoot).every((sid) =>
          blocksOf(join(sensorRoot, sid)).some((b) => b.bid > startedAt + AHEAD_S),
        );
      while (!farAhead() && Date.now() - t0 < MAX_RUN_MS) await new Promise((r) => setTimeout(r, 2000));
      const ranMs = Date.now() - t0;
      const simulatedUntil = startedAt + (SPEED * ranMs) / 1000;
      assert.equal(await p.run.stop(15_000), 0, p.run.output().slice(-3000));

      const sids = readdirSync(sensorRoot);
      assert.ok(sids.length >= 2, `blocks of the counter sensors: ${sids.join(', ')}`);
      // what was still open at the stop: at most the last 8 windows of each sensor
      const journal = await readOpenJournal(join(p.dir.path, 'data'));
      assert.equal(journal.warning, undefined);
      let hours = 0;
      for (const sid of sids) {
        const blocks = blocksOf(join(sensorRoot, sid));
        const times: number[] = [];
        for (const b of blocks) times.push(...blk2series('gz', readFileSync(b.path)).times);
        const open = journal.entries.filter((e) => e.sid === sid).sort((a, b) => a.bid - b.bid);
        assert.ok(open.length <= 8, `${sid}: ${open.length} open blocks`);
        for (const e of open) times.push(...blockToSeries(e.block).times);
        for (let i = 1; i < times.length; i++)
          assert.ok(
            times[i]! > times[i - 1]!,
            `${sid}: one increasing series, the open blocks after the written ones (${times[i - 1]} then ${times[i]})`,
          );
        const span = (times.at(-1)! - times[0]!) / 3600;
        hours = Math.max(hours, span);
        assert.ok(
          blocks.some((b) => b.bid > startedAt + AHEAD_S),
          `${sid}: blocks far ahead of the host clock are written (${blocks.length} blocks, ${span.toFixed(1)} simulated hours)`,
        );
      }
      // ×600 for a minute is ten simulated hours; a loaded machine slows the simulator down
      assert.ok(hours >= 2, `${hours.toFixed(1)} simulated hours in ${Math.round(ranMs / 1000)} s`);
      const lines = p.run.output().split('\n');
      const perReading = lines.filter((l) => /not stored|overflow|\blate\b|out-of-order|expired/.test(l));
      assert.ok(
        perReading.length <= Math.ceil(ranMs / 60_000) + 1,
        `at most one summary a minute, got ${perReading.length}:\n${perReading.slice(0, 5).join('\n')}`,
      );
      const errors = lines.filter((l) => /\[error\]/.test(l));
      assert.ok(errors.length <= 3, `error lines: ${errors.length}\n${errors.slice(0, 5).join('\n')}`);
      console.log(
        `# ×${SPEED} for ${Math.round(ranMs / 1000)} s: ${sids.length} sensors, ${hours.toFixed(1)} simulated hours (at most ${(simulatedUntil - startedAt) / 3600}), ${lines.length} log lines, ${errors.length} error lines`,
      );
    } finally {
      await p.run.stop(2000);
      await p.dir.remove();
    }
  },
);
