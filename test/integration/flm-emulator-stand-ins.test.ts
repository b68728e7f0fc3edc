import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FluksoTestServer } from '../support/flukso-server';
import { testPki } from '../support/tls';
import { FlmEmulator } from '../support/flm-emulator/emulator';
import { configSensorDocument } from '../support/flm-emulator/flavours';
import { fleetIdentity, runFleet, wrongKey } from '../support/flm-emulator/fleet';
import { blk2series } from '../support/tmpo-py-client';

/**
 * The FLM emulator against the project's stand-ins for the Flukso server (test/support/
 * flukso-server.ts and flukso-bridge-broker.ts): six emulated hours of an FLM02 on HTTP and the
 * bridge with a network outage and a power cut, an FLM03 on the bridge only, and an FLM02 with a
 * wrong key. What the stand-ins hold must be what the emulator says it delivered.
 */

const T0 = 1450000000 - (1450000000 % 4096);
const HOUR = 3600;

/** The samples inside the blocks a bridge endpoint holds for a sensor. */
function heldSamples(blocks: Map<string, Buffer>): Map<number, number> {
  const out = new Map<number, number>();
  for (const bytes of blocks.values()) {
    const s = blk2series('gz', bytes);
    s.times.forEach((t, i) => {
      assert.ok(!out.has(t), `sample ${t} held twice`);
      out.set(t, s.values[i]!);
    });
  }
  return out;
}

const sorted = (m: Map<number, number> | undefined) => [...(m ?? [])].sort((a, b) => a[0] - b[0]);

test('emulated FLM02/FLM03 against the stand-in server and bridge: everything delivered once, the wrong key nothing', async () => {
  const pki = await testPki();
  const ids = [0, 1, 2].map((n) => fleetIdentity('stand-ins', n));
  const server = await FluksoTestServer.start({
    devices: ids.map((d) => ({ id: d.did, key: d.key, sensors: d.sids })),
  });
  const broker = await server.startBridge({ cert: pki.serverCert, key: pki.serverKey, requireMqtt31: true });
  const http = { endpoint: { host: '127.0.0.1', port: server.port }, host: `127.0.0.1:${server.port}` };
  const bridge = { url: broker.url, ca: pki.caPem, restartMs: 100 };
  const common = { start: T0, stepSec: 20, bridgeAddress: '127.0.0.1' };
  const emus = [
    new FlmEmulator({
      ...common,
      flavour: 'FLM02',
      did: ids[0]!.did,
      keyHex: ids[0]!.key,
      sids: ids[0]!.sids,
      seed: 1,
      http,
      bridge,
      networkDown: [{ from: T0 + 2 * HOUR, to: T0 + 3 * HOUR }],
      powerOff: [{ from: T0 + 4 * HOUR, to: T0 + 4 * HOUR + 1200 }],
    }),
    new FlmEmulator({
      ...common,
      flavour: 'FLM03',
      did: ids[1]!.did,
      keyHex: ids[1]!.key,
      sids: ids[1]!.sids,
      seed: 2,
      bridge,
    }),
    new FlmEmulator({
      ...common,
      flavour: 'FLM02',
      did: ids[2]!.did,
      keyHex: wrongKey(ids[2]!.key),
      sids: ids[2]!.sids,
      seed: 3,
      http,
      bridge,
    }),
  ];
  try {
    await runFleet(emus, { from: T0, to: T0 + 6 * HOUR, chunkSec: 300, paceMs: 10 });
    for (const e of emus) await e.flush();
    const [flm02, flm03, wrong] = emus as [FlmEmulator, FlmEmulator, FlmEmulator];

    // HTTP: what the server stored is what it acknowledged; everything attempted was acknowledged
    for (const sid of ids[0]!.sids) {
      assert.ok(
        (flm02.uploader!.acked.get(sid)?.size ?? 0) > 10,
        `readings of ${sid}: ${flm02.uploader!.acked.get(sid)?.size}`,
      );
      assert.deepEqual(server.readings(sid), sorted(flm02.uploader!.acked.get(sid)));
      assert.deepEqual(sorted(flm02.uploader!.attempted.get(sid)), sorted(flm02.uploader!.acked.get(sid)));
    }
    assert.equal(flm02.uploader!.buffered(), 0);
    assert.equal(server.duplicates(), 0);
    assert.ok(
      flm02.uploader!.posts.some((p) => p.status === 0),
      'the outage made POSTs fail',
    );
    // heartbeats: one per emulated hour outside the outage, plus one at boot after the power cut
    assert.ok(flm02.heartbeats.length >= 5 && flm02.heartbeats.every((h) => h.ok), JSON.stringify(flm02.heartbeats));
    const hb = server.heartbeats.filter((h) => h.deviceId === ids[0]!.did).map((h) => h.body);
    assert.equal(hb.filter((b) => b.reset === 1).length, 2, 'reset at first boot and after the power cut');
    assert.ok(hb.every((b) => b.version === 250));

    // bridge: the CONNECT the FLM's mosquitto makes
    const good = broker.connects.filter((c) => c.username === ids[0]!.did);
    assert.ok(good.length >= 2, 'reconnected after the outage');
    for (const c of good) {
      assert.deepEqual(
        {
          protocolId: c.protocolId,
          protocolVersion: c.protocolVersion,
          keepalive: c.keepalive,
          clean: c.clean,
          returnCode: c.returnCode,
        },
        { protocolId: 'MQIsdp', protocolVersion: 3, keepalive: 60, clean: true, returnCode: 0 },
      );
      assert.equal(c.clientId, `flukso-${ids[0]!.did.slice(0, 6)}.flukso`);
    }
    // every sample tmpod wrote reaches the server, in blocks it keeps once
    const deadline = Date.now() + 20_000;
    for (const [emu, id] of [
      [flm02, ids[0]!],
      [flm03, ids[1]!],
    ] as const) {
      for (const sid of id.sids) {
        const want = sorted(emu.disk.written.get(sid));
        assert.ok(want.length > 0);
        while (sorted(heldSamples(broker.held(sid))).length < want.length && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(sorted(heldSamples(broker.held(sid))), want, `blocks of ${sid}`);
      }
      assert.deepEqual(
        broker.configs.get(`/device/${id.did}/config/sensor`),
        JSON.parse(configSensorDocument(emu.opts.flavour, emu.sensors, '127.0.0.1')),
      );
    }
    assert.ok(
      flm02.bridge!.dropped > 0,
      'blocks flushed during the outage were lost on the link and sent again on sync',
    );
    assert.ok(
      [...broker.held(ids[0]!.sids[0]!).keys()].some((k) => /\/12\/\d+$/.test(k)),
      'compacted level-12 blocks',
    );

    // the wrong key: 401 on every POST and heartbeat, CONNACK 4, nothing stored
    assert.ok(wrong.uploader!.posts.length > 0 && wrong.uploader!.posts.every((p) => p.status === 401));
    assert.ok(wrong.heartbeats.every((h) => !h.ok && h.reason === 'status' && h.status === 401));
    assert.ok(broker.connects.some((c) => c.username === ids[2]!.did && c.returnCode === 4));
    for (const sid of ids[2]!.sids) {
      assert.equal(server.count(sid), 0);
      assert.equal(broker.held(sid).size, 0);
    }
  } finally {
    for (const e of emus) await e.stop();
    await server.close();
  }
});
