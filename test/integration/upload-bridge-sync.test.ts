import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, device, sid } from '../support/device';
import { FluksoTestServer } from '../support/flukso-server';
import type { FluksoBridgeBroker } from '../support/flukso-bridge-broker';
import { testPki } from '../support/tls';
import { TmpoRecorder } from '../../core/tmpo/recorder';
import { sensorCfg } from '../../core/tmpo/sensor-cfg';
import { scanStore } from '../../core/tmpo/scan';
import { keyText, blockEnd, type BlockKey } from '../../core/tmpo/ids';
import { decodeSeries } from '../../core/tmpo/codec';

afterEach(async () => {
  await helper.unload();
});

const SIDS = HOUSEHOLD_SENSORS.map((s) => s.id!);
/** The two sensors with history; the other two have none, so the server keeps asking for everything. */
const WITH_DATA = [sid(1), sid(4)];
const NOW = Math.floor(Date.now() / 1000);
/** Three days of history on disk before the flow starts, to 25 minutes ago, one reading every two minutes. */
const HISTORY_FROM = NOW - 3 * 86400;
const HISTORY_TO = NOW - 1500;
/**
 * Readings made while the bridge is down: from the first level-8 window after the history (a
 * window already on disk takes no more samples, as on the FLM) to a minute ago, every 30 s: at
 * most 7 open level-8 blocks (flm-tmpo keeps 8).
 */
const LIVE_FROM = Math.floor(HISTORY_TO / 256) * 256 + 256;
const LIVE_TO = NOW - 60;

const counterAt = (s: string, ts: number) => (s === sid(1) ? 1_000_000 : 50_000) + Math.floor((ts - HISTORY_FROM) / 30);

/** Write the history the way flm-tmpo would have: level-8 blocks, compacted as far as the clock allows. */
async function writeHistory(dataDir: string): Promise<void> {
  const dev = device();
  const sensors = new Map(dev.sensors.map((s) => [s.id, s]));
  // The recorder's clock follows the readings, as if they had come in real time.
  let now = HISTORY_FROM;
  const rec = await TmpoRecorder.open({
    dataDir,
    deviceId: DEVICE_ID,
    now: () => now,
    cfgFor: (s) => sensorCfg(sensors.get(s)!),
    onBlock: () => undefined,
    onWarning: (t) => assert.fail(t),
  });
  for (let ts = HISTORY_FROM; ts <= HISTORY_TO; ts += 120) {
    now = ts;
    for (const s of WITH_DATA) assert.equal(rec.push(s, 0, ts, counterAt(s, ts)), 'accepted');
    await rec.tick();
  }
  await rec.tick({ force: true });
  await rec.idle();
  await rec.close();
}

/** The store's blocks, as `sid/rid/lvl/bid` -> bytes, read from disk (a block compaction just removed is left out). */
async function storeBlocks(dataDir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const b of (await scanStore(dataDir)).blocks) {
    const bytes = await readFile(b.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (bytes) out.set(keyText(b.key), bytes);
  }
  return out;
}

/** waitFor for a probe that has to read files. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sameBlocks(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([k, bytes]) => b.get(k)?.equals(bytes));
}

function flow(dataDir: string, port: number, ca: string) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'tmpo', type: 'flm-tmpo', device: 'dev', maxMB: '0', wires: [['up', 'fromTmpo']] },
    {
      id: 'up',
      type: 'flm-upload',
      device: 'dev',
      ways: 'bridge',
      bridgeHost: '127.0.0.1',
      bridgePort: String(port),
      ca,
      mqttVersion: '3.1',
      wires: [['tmpo', 'fromUp']],
    },
    { id: 'fromTmpo', type: 'helper' },
    { id: 'fromUp', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

for (const serverPushes of [true, false]) {
  test(`TMPO sync over the MQTT bridge (TLS, MQTT 3.1): history on disk, blocks made while the server was down, a restart of its broker in the middle; in the end the server holds every block of the store, byte for byte (${serverPushes ? "the server answers on connect, as Flukso's does" : 'the server waits to be asked: flm-upload asks flm-tmpo for a sync'})`, async () => {
    const pki = await testPki();
    const server = await FluksoTestServer.start({ devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: SIDS }] });
    const broker: FluksoBridgeBroker = await server.startBridge({
      cert: pki.serverCert,
      key: pki.serverKey,
      requireMqtt31: true,
      syncOnConnect: serverPushes,
    });
    const t0 = Date.now();
    try {
      await withDataDir(async (dir) => {
        await writeHistory(dir);
        const history = await storeBlocks(dir);
        // The server already has the oldest two blocks of the mains: the sync must not send them again.
        const mains = [...history.keys()]
          .filter((k) => k.startsWith(sid(1)))
          .map((k) => {
            const [s, rid, lvl, bid] = k.split('/');
            return { sid: s!, rid: Number(rid), lvl: Number(lvl), bid: Number(bid) } as BlockKey;
          })
          .sort((a, b) => a.bid - b.bid);
        const seeded = mains.slice(0, 2);
        for (const k of seeded) broker.store(k, history.get(keyText(k))!);
        assert.ok(history.size > 10, `history of ${history.size} blocks: ${[...history.keys()].join(' ')}`);
        // Which levels three days leave depends on where now falls in the 2^12 and 2^16 windows (a just
        // finished level-12 window leaves no level-8 block); a finished level-16 window and something
        // younger are always there.
        assert.ok(
          new Set([...history.keys()].map((k) => k.split('/')[2])).size >= 2,
          `blocks of several levels: ${[...history.keys()].join(' ')}`,
        );

        await helper.load(flmNodes, flow(dir, broker.port, pki.caPem), { dev: { deviceKey: DEVICE_KEY } });
        const tmpo = helper.getNode('tmpo');
        const caught = collect('caught');
        const fromUp = collect('fromUp');
        // The broker goes down while the history is on its way (or just after).
        await waitFor('the first re-published block at the server', () => broker.arrivals.size > 0, 20_000);
        await broker.down();
        const arrivedBeforeDown = broker.arrivals.size;

        for (let ts = LIVE_FROM; ts <= LIVE_TO; ts += 30)
          for (const s of WITH_DATA)
            tmpo.receive({ topic: `/sensor/${s}/counter`, payload: [ts, counterAt(s, ts), s === sid(1) ? 'Wh' : 'L'] });
        tmpo.receive({ topic: 'tmpo/flush' });
        // Its level-8 block, or the level-12 block it was compacted into if a 4096-s window closed
        // meanwhile (the wall clock decides: it did in about 1 run in 50).
        const covers = (k: string) => {
          const [s, , lvl, bid] = k.split('/');
          return s === sid(4) && Number(bid) <= LIVE_TO && LIVE_TO < Number(bid) + 2 ** Number(lvl);
        };
        // As long as the server wait below: twice, in fully loaded runs, 20 s was not enough (not
        // reproduced alone, under CPU or fsync load, nor with the wall clock shifted).
        await until(
          'the block of the last reading on disk',
          async () => [...(await storeBlocks(dir)).keys()].some(covers),
          60_000,
        );
        assert.deepEqual(
          caught.map((c) => c.error.message),
          [],
        );
        assert.equal(
          tmpo.warn.called,
          false,
          `flm-tmpo warned: ${tmpo.warn.called ? tmpo.warn.firstCall.args[0] : ''}`,
        );
        // "bridge connecting" until a reconnect attempt has failed, then "bridge down": both say the
        // bridge knows; which one a loaded machine shows by now is a matter of timing.
        await waitFor(
          'the bridge knows it is down',
          () => /bridge (down|connecting)/.test(helper.getNode('up').status.lastCall?.args[0]?.text ?? ''),
          30_000,
        );

        await broker.up();
        // Compaction may still publish; the end is when the server holds exactly what the disk holds.
        let disk = new Map<string, Buffer>();
        const deadline = Date.now() + 60_000;
        for (;;) {
          disk = await storeBlocks(dir);
          if (sameBlocks(disk, broker.held())) break;
          if (Date.now() > deadline) {
            const missing = [...disk.keys()].filter((k) => !broker.held().get(k)?.equals(disk.get(k)!));
            const extra = [...broker.held().keys()].filter((k) => !disk.has(k));
            assert.fail(
              `after 60 s the server still lacks ${missing.length} blocks (${missing.slice(0, 3).join(', ')}) and has ${extra.length} the store does not (${extra.slice(0, 3).join(', ')})`,
            );
          }
          await new Promise((r) => setTimeout(r, 100));
        }

        // Every reading, from the history and from the outage, decodes from the server's blocks.
        for (const s of WITH_DATA) {
          const times: number[] = [];
          const values: number[] = [];
          const keys = [...broker.blocks.values()].filter((b) => b.key.sid === s).sort((a, b) => a.key.bid - b.key.bid);
          for (const b of keys) {
            const series = decodeSeries(b.bytes);
            assert.ok(
              series.times.every((t) => t >= b.key.bid && t < blockEnd(b.key.lvl, b.key.bid)),
              `${keyText(b.key)} holds its window`,
            );
            times.push(...series.times);
            values.push(...series.values);
          }
          const expected: number[] = [];
          for (let ts = HISTORY_FROM; ts <= HISTORY_TO; ts += 120) expected.push(ts);
          for (let ts = LIVE_FROM; ts <= LIVE_TO; ts += 30) expected.push(ts);
          assert.deepEqual(times, expected, `${s}: every timestamp once, in order`);
          assert.deepEqual(
            values,
            expected.map((ts) => counterAt(s, ts)),
            `${s}: every value`,
          );
        }
        for (const k of seeded)
          assert.equal(
            broker.arrivals.get(keyText(k)) ?? 0,
            0,
            `${keyText(k)} was on the server already and was not sent again`,
          );
        assert.ok(
          broker.connects.length >= 2 &&
            broker.connects.every((c) => c.protocolId === 'MQIsdp' && c.protocolVersion === 3 && c.returnCode === 0),
        );
        const asked = fromUp.filter((m) => m.topic === 'tmpo/sync').length;
        if (serverPushes) assert.equal(asked, 0, 'the server answered on every connect by itself');
        else {
          // Every connect is followed by a sync; on the first, flm-tmpo's own start-up request can
          // reach the server before flm-upload's wait is over (which comes first depends on load).
          assert.ok(
            broker.replies.length >= broker.connects.length,
            `a sync after each of the ${broker.connects.length} connects (${broker.replies.length} replies)`,
          );
          assert.ok(
            asked >= broker.connects.length - 1,
            `flm-upload asked after each connect the start-up request did not cover (${asked} of ${broker.connects.length})`,
          );
        }
        assert.deepEqual(broker.refused, []);
        assert.deepEqual(
          caught.map((c) => c.error.message),
          [],
        );

        const arrivals = [...broker.arrivals.values()].reduce((a, b) => a + b, 0);
        console.log(
          `# bridge sync (${serverPushes ? 'pushed' : 'asked'}): ${disk.size} blocks on disk and at the server (${history.size} history, ${seeded.length} seeded), ${arrivedBeforeDown} arrived before the broker went down, ${arrivals} block messages received in all, ${broker.replies.length} sync replies, ${broker.connects.length} connects, ${Date.now() - t0} ms`,
        );
      });
    } finally {
      await helper.unload();
      await server.close();
    }
  });
}
