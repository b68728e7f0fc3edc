import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline } from '../support/start-pipeline';
import { MariaDb } from '../support/mariadb';
import { deriveSensorId } from '../../core/config/identity';

const DEVICE_ID = '00112233445566778899aabbccddeeff';

async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  alive: () => void,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    alive();
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(
  'npm start with FLM_MYSQL_URL: readings and the sensor table land in MySQL; SIGTERM exits 0 with nothing left in the spool',
  { timeout: 120_000 },
  async () => {
    const db = await MariaDb.start();
    const { run, dir } = await startPipeline({
      FLM_SIM_SPEED: '60',
      FLM_DEVICE_ID: DEVICE_ID,
      FLM_MYSQL_URL: db.url(),
    });
    try {
      const alive = () => {
        if (run.proc.exitCode !== null) assert.fail(`npm start exited: ${run.output()}`);
      };
      const sids = [1, 2, 3, 4].map((n) => deriveSensorId(DEVICE_ID, String(n)));
      await eventually(
        'gauges and counters of at least three sensors in flm_readings',
        async () => {
          const tables = Number(
            await db.scalar(
              "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'flm' AND TABLE_NAME = 'flm_readings'",
            ),
          );
          if (!tables) return false;
          return Number(await db.scalar('SELECT COUNT(DISTINCT sid, kind) FROM flm_readings')) >= 6;
        },
        60_000,
        alive,
      );
      const sensors = await db.rootSql(
        'SELECT sid, device_id, name, counter_unit, gauge_unit FROM flm_sensors ORDER BY name',
        'flm',
      );
      assert.equal(
        sensors,
        [
          `${sids[2]}\t${DEVICE_ID}\tgas\tL\tL/day`,
          `${sids[0]}\t${DEVICE_ID}\tmain\tWh\tW`,
          `${sids[1]}\t${DEVICE_ID}\tsolar\tWh\tW`,
          `${sids[3]}\t${DEVICE_ID}\twater\tL\tL/day`,
        ].join('\n') + '\n',
      );
      const readingSids = (await db.rootSql('SELECT DISTINCT sid FROM flm_readings', 'flm')).trim().split('\n');
      for (const s of readingSids) assert.ok(sids.includes(s), `reading of ${s} is a sensor of the device`);

      const code = await run.stop();
      assert.equal(code, 0, run.output());
      const spool = join(dir.path, 'data', 'mysql', 'flm.mysql');
      assert.ok(
        !existsSync(spool) || readdirSync(spool).length === 0,
        'what was waiting at the stop went to the table',
      );
      assert.ok(Number(await db.scalar('SELECT COUNT(*) FROM flm_readings')) > 0);
    } finally {
      await run.stop(2000);
      await dir.remove();
      await db.remove();
    }
  },
);
