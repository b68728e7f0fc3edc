/**
 * The README's "URLs it serves" works as written: its shell block is run with bash against the
 * package's nodes in Node-RED (test helper) on free ports. The addresses are the only thing
 * changed (`127.0.0.1:1880` to the admin app, 8080/1883/8083 to the flow's API and broker ports),
 * each `curl -s` becomes `curl -sf` so an HTTP error fails, and `mosquitto_sub` stops after one
 * message; bash runs without pipefail, as a person's shell (the websocket example's curl ends at its
 * --max-time), and the outputs are checked. Left out: the editor login lines (Node-RED's own `/auth/token`, driven by
 * test/integration/npm-start-security.test.ts; the helper runs without a login, so $TOKEN is
 * anything).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { helper, flmNodes, onTab, withDataDir, freePort } from '../support/nodered';
import { untilListening } from '../support/net';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { repoRoot } from '../support/paths';
import { TmpoStore } from '../../core/tmpo/store';
import { encodeSeries } from '../../core/tmpo/codec';
import { sensorCfg } from '../../core/tmpo/sensor-cfg';
import { parseDevice } from '../../core/config/device';

const run = promisify(execFile);

/** The README section, its table's URLs and its shell block with continued lines joined. */
function readmeSection(): { urls: string[]; commands: string[] } {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## URLs it serves');
  assert.ok(start >= 0, 'the README has the section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const urls = [...section.matchAll(/^\| `((?:https?|mqtt|ws):\/\/[^`]+)`/gm)].map((m) => m[1]!);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ''));
  const commands = blocks.flatMap((b) => b.split('\n')).filter((l) => l.trim());
  return { urls, commands };
}

test('README: every URL the package serves is in the section, and every example in it works as written', async () => {
  const { urls, commands } = readmeSection();
  for (const path of [
    '/flm/serialports',
    '/flm-tmpo/',
    '/flm/dashboard',
    ':8080/sensor/<sid>?',
    '/series?',
    '/tmpo/sync?',
  ])
    assert.ok(
      urls.some((u) => u.includes(path)),
      `the table lists ${path}`,
    );
  for (const scheme of ['mqtt://127.0.0.1:1883', 'ws://127.0.0.1:8083'])
    assert.ok(urls.some((u) => u.startsWith(scheme)));
  // each HTTP address of the table has an example
  const examples = commands.join('\n');
  for (const u of urls.filter((x) => x.startsWith('http') && !x.endsWith(':1880/'))) {
    const path = new URL(u.replace(/<[^>]+>/g, 'x')).pathname.split('/x')[0]!.replace(/\/$/, '');
    assert.ok(examples.includes(path), `an example for ${u}`);
  }

  await withDataDir(async (dir) => {
    const [api, mqtt, ws] = [await freePort(), await freePort(), await freePort()];
    // A stored block of `main`, so the sync and block examples have one to find.
    const main = parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors: HOUSEHOLD_SENSORS }).sensors[0]!;
    const T = 1765000448;
    const { store } = await TmpoStore.open(dir);
    await store.put(
      { sid: sid(1), rid: 0, lvl: 8, bid: T },
      encodeSeries({ times: [T + 1, T + 60], values: [1000, 1010] }, sensorCfg(main)),
    );
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
        { id: 'flm.tmpo', type: 'flm-tmpo', device: 'dev', maxMB: '0', apiHost: '127.0.0.1', apiPort: String(api) },
        { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(mqtt), wsPort: String(ws) },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    await untilListening(api);
    await untilListening(ws);
    const now = Math.floor(Date.now() / 1000);
    const reading = { topic: `/sensor/${sid(1)}/gauge`, payload: [now, 420, 'W'] };
    helper.getNode('flm.tmpo').receive(reading);
    helper.getNode('broker').receive({ ...reading, retain: true });

    // The admin routes as Node-RED serves them, on a port of their own.
    const admin: Server = createServer((helper as { _httpAdmin: (...a: unknown[]) => void })._httpAdmin);
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    const adminPort = (admin.address() as { port: number }).port;
    try {
      const tried = commands.filter((c) => !/^(PW|TOKEN)=/.test(c));
      assert.ok(tried.length >= 8, tried.join('\n'));
      const script = tried
        .map((c, i) =>
          c
            .replace(/127\.0\.0\.1:1880/g, `127.0.0.1:${adminPort}`)
            .replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${api}`)
            .replace(/-p 1883/g, `-p ${mqtt} -C 1 -W 10`)
            .replace(/127\.0\.0\.1:8083/g, `127.0.0.1:${ws}`)
            .replace(/curl -s /g, 'curl -sf ')
            .replace(/^(?![A-Z]+=)(.*)$/, `$1 > out${i}`),
        )
        .join('\n');
      const env = { ...process.env, TOKEN: 'unused', PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
      await run('bash', ['-c', `set -eu\n${script}`], { cwd: dir, env }).catch((err: Error & { stderr?: string }) => {
        throw new Error(`the README's examples failed:\n${script}\n${err.stderr ?? ''}${err.message}`);
      });
      const outs = tried.map(
        (c, i) => [c, /^[A-Z]+=/.test(c) ? '' : readFileSync(join(dir, `out${i}`), 'utf8')] as const,
      );
      const out = (part: string): string => outs.find(([c]) => c.includes(part))![1];
      assert.ok(Array.isArray(JSON.parse(out('/flm/serialports'))));
      assert.ok(Array.isArray(JSON.parse(out('/flm/dashboard/api/list'))), 'the deployed dashboards, as JSON');
      assert.match(out('unit=watt'), /^\[\[\d+,420\]/);
      assert.match(
        outs.find(([c]) => c.endsWith(':8080/'))![1],
        /^GET \/sensor\/<sid>/m,
        'the API port says what it serves',
      );
      assert.equal(JSON.parse(out('/series?')).sid, sid(1), 'by name, answered by id');
      assert.deepEqual(JSON.parse(out('/tmpo/sync?')), [{ rid: 0, lvl: 8, bid: T, ext: 'gz' }]);
      assert.equal(JSON.parse(out('gunzip')).h.head[0], T + 1, 'the block, unzipped');
      assert.match(out('mosquitto_sub'), new RegExp(`^/sensor/${sid(1)}/gauge \\[${now},420,"W"\\]`));
      assert.match(out('Sec-WebSocket-Key'), /^HTTP\/1\.1 101 /);
    } finally {
      await new Promise((resolve) => admin.close(resolve));
    }
  });
});
