import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, tempDir } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';
import { FluksoTestServer } from '../support/flukso-server';
import { testPki } from '../support/tls';
import { deriveSensorId } from '../../core/config/identity';
import { parseDevice } from '../../core/config/device';
import { TmpoRecorder } from '../../core/tmpo/recorder';
import { sensorCfg } from '../../core/tmpo/sensor-cfg';
import { scanStore } from '../../core/tmpo/scan';
import { decodeSeries } from '../../core/tmpo/codec';

const DEVICE_ID = '00112233445566778899aabbccddeeff';
const DEVICE_KEY = 'ffeeddccbbaa99887766554433221100';

test(
  "npm start with FLM_UPLOAD_WAYS=both and a bridge: the default flow sends the sensor table, answers the server's sync with the TMPO history on disk, and counters still go by HTTP",
  { timeout: 120_000 },
  async () => {
    const sids = [1, 2, 3, 4].map((n) => deriveSensorId(DEVICE_ID, String(n)));
    const pki = await testPki();
    const server = await FluksoTestServer.start({ devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: sids }] });
    const broker = await server.startBridge({ cert: pki.serverCert, key: pki.serverKey, requireMqtt31: true });
    const data = await tempDir('flm-start-data-');
    try {
      // A day of mains history on disk, as an earlier run would have left it.
      const dev = parseDevice({
        id: DEVICE_ID,
        key: DEVICE_KEY,
        sensors: [{ n: 1, id: sids[0]!, name: 'main', type: 'electricity', class: 'analog', port: [1] }],
      });
      const now = Math.floor(Date.now() / 1000);
      let clock = now - 86400;
      const rec = await TmpoRecorder.open({
        dataDir: data.path,
        deviceId: DEVICE_ID,
        now: () => clock,
        cfgFor: () => sensorCfg(dev.sensors[0]!),
        onBlock: () => undefined,
        onWarning: (t) => assert.fail(t),
      });
      for (let ts = now - 86400; ts < now - 3600; ts += 300) {
        clock = ts;
        assert.equal(rec.push(sids[0]!, 0, ts, 1000 + (ts - now + 86400) / 300), 'accepted');
        await rec.tick();
      }
      await rec.tick({ force: true });
      await rec.idle();
      await rec.close();
      const historyTimes: number[] = [];
      for (let ts = now - 86400; ts < now - 3600; ts += 300) historyTimes.push(ts);
      assert.ok((await scanStore(data.path)).blocks.length > 3);
      // The running flm-tmpo may compact the history further before it is sent: compared by the readings in it.
      const serverHasHistory = () => {
        const times = new Set<number>();
        for (const b of broker.blocks.values())
          if (b.key.sid === sids[0]) for (const t of decodeSeries(b.bytes).times) times.add(t);
        return historyTimes.every((t) => times.has(t));
      };

      const { run, dir } = await startPipeline({
        FLM_DATA_DIR: data.path,
        FLM_SIM_SPEED: '60',
        FLM_DEVICE_ID: DEVICE_ID,
        FLM_DEVICE_KEY: DEVICE_KEY,
        FLM_SERVER_URL: server.url,
        FLM_UPLOAD_INTERVAL: '1',
        FLM_UPLOAD_WAYS: 'both',
        FLM_BRIDGE_HOST: '127.0.0.1',
        FLM_BRIDGE_PORT: String(broker.port),
        FLM_BRIDGE_CA: pki.caFile,
      });
      try {
        const alive = () => run.proc.exitCode === null || assert.fail(`npm start exited: ${run.output()}`);
        await waitFor('the TMPO history at the server', () => alive() && serverHasHistory(), 60_000, 100);
        const table = (await waitFor(
          'the sensor table over the bridge',
          () => alive() && broker.configs.get(`/device/${DEVICE_ID}/config/sensor`),
          10_000,
          100,
        )) as Record<string, { id: string }>;
        assert.deepEqual(
          Object.values(table)
            .map((s) => s.id)
            .filter((id) => sids.includes(id))
            .sort(),
          [...sids].sort(),
        );
        await waitFor(
          'counters by HTTP',
          () => alive() && sids.filter((s) => server.count(s) >= 2).length >= 3,
          30_000,
          100,
        );
        assert.deepEqual(
          [broker.connects[0]!.protocolId, broker.connects[0]!.protocolVersion, broker.connects[0]!.username],
          ['MQIsdp', 3, DEVICE_ID],
        );
        assert.deepEqual(broker.refused, []);
        assert.ok(!broker.received.some((r) => /\/(gauge|counter)$/.test(r.topic)), 'live readings are not bridged');
        const code = await run.stop();
        assert.equal(code, 0, run.output());
      } finally {
        await run.stop(2000);
        await dir.remove();
      }
    } finally {
      await server.close();
      await data.remove();
    }
  },
);
