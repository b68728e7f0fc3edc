import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';

/** Another program on a loopback port, as a Mosquitto on 1883 would be. */
async function occupy(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return s;
}

for (const [variable, what] of [
  ['FLM_MQTT_PORT', 'MQTT port'],
  ['FLM_WS_PORT', 'MQTT websocket port'],
  ['FLM_API_PORT', 'local API port'],
] as const) {
  test(`npm start with ${variable} taken by another program exits non-zero before Node-RED starts, naming ${variable}`, async () => {
    const port = await freePort();
    const other = await occupy(port);
    const p = await startPipeline({ [variable]: String(port) });
    try {
      const code = await Promise.race([
        p.run.exited,
        new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000).unref()),
      ]);
      assert.notEqual(code, 'running', `still running with ${variable} busy:\n${p.run.output()}`);
      assert.equal(code, 1, p.run.output());
      assert.match(
        p.run.output(),
        new RegExp(`flm: ${what} ${port} on 127\\.0\\.0\\.1 is already in use \\(set ${variable}\\)`),
      );
      assert.doesNotMatch(p.run.output(), /Starting flows|Started flows/);
      assert.equal(existsSync(join(p.dir.path, 'user', 'flows.json')), false, 'stopped before anything was set up');
    } finally {
      await p.run.stop();
      other.close();
      await p.dir.remove();
    }
  });
}

test('npm start with one port named by two variables exits naming both', async () => {
  const port = await freePort();
  const p = await startPipeline({ FLM_WS_PORT: String(port), FLM_API_PORT: String(port) });
  try {
    assert.equal(await p.run.exited, 1, p.run.output());
    assert.match(
      p.run.output(),
      new RegExp(`flm: FLM_API_PORT and FLM_WS_PORT are both ${port}: set one of them to another port`),
    );
  } finally {
    await p.run.stop();
    await p.dir.remove();
  }
});
