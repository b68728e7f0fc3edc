/**
 * The real peer: Debian's mosquitto broker as an FLM runs it, with the bridge section the FLM's
 * fmosq.sh writes (docs/protocols/server-bridge.md#the-flms-bridge), pointed at our endpoint.
 * Its local listener is a unix socket (no port), driven with mosquitto_pub/mosquitto_sub as
 * tmpod would publish and subscribe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { BridgeEndpoint, type BridgeLogin, type BridgeRefusal } from '../../core/server/bridge/endpoint';
import { MemoryBridgeBackend } from '../support/memory-bridge-backend';
import { serverTls } from '../../core/server/bridge/server-tls';
import { waitFor } from '../support/nodered';
import { withTempDir } from '../support/temp-dir';
import { start } from '../support/processes';

const run = promisify(execFile);
const DID = 'f1000000000000000000000000000001';
const KEY = 'b1000000000000000000000000000001';
const SID = 'e1000000000000000000000000000001';
const SID2 = 'e1000000000000000000000000000002';
const BID0 = 1449986560;
const BRIDGE_ID = `flukso-${DID.slice(0, 6)}.flukso`;

const syncLines = (out: string) => out.split('\n').filter((l) => l.startsWith(`/d/device/${DID}/tmpo/sync `));

/** The bridge section fmosq.sh generates, with our endpoint's address and the test CA. */
function flmConfig(sock: string, port: number, cafile: string): string {
  return [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type all',
    // Started as root, mosquitto would become user mosquitto and lose the private temp dir.
    `user ${userInfo().username}`,
    `listener 0 ${sock}`,
    'connection flukso',
    `address 127.0.0.1:${port}`,
    `remote_username ${DID}`,
    `remote_password ${KEY}`,
    'local_clientid 127.0.0.1',
    // what an FLM's bridge calls itself (its host name is flukso-<first 6 of the device id>)
    `remote_clientid ${BRIDGE_ID}`,
    'bridge_protocol_version mqttv31',
    `bridge_cafile ${cafile}`,
    'start_type automatic',
    'try_private false',
    'cleansession true',
    'keepalive_interval 60',
    // fmosq.sh waits 30 s between attempts; the test does not.
    'restart_timeout 1',
    'topic /device/+/config/sensor out 0',
    'topic /device/+/config/kube out 0',
    'topic /device/+/tmpo/sync out 0',
    'topic /sensor/+/tmpo/# out 0',
    '',
  ].join('\n');
}

test("mosquitto's bridge with the FLM's settings and the server's generated CA: refused while the key is unknown, then logged in; the pushed sync list reaches the local broker; retained configs and blocks reach the backend", async () => {
  await withTempDir(async (dir) => {
    // The CA and certificate the server makes for itself when given none: what an FLM gets as bridge_cafile.
    const tls = await serverTls({ dir: join(dir, 'server-tls') });
    // No device yet: the bridge's logins are refused until it is added.
    const backend = new MemoryBridgeBackend();
    backend.blocks.push({ did: DID, block: { sid: SID, rid: 0, lvl: 8, bid: BID0, ext: 'gz', data: gzipSync('{}') } });
    const endpoint = await BridgeEndpoint.start({
      host: '127.0.0.1',
      port: 0,
      backend,
      tls: { cert: tls.cert, key: tls.key },
    });
    const logins: BridgeLogin[] = [];
    const refusals: BridgeRefusal[] = [];
    endpoint.on('login', (l: BridgeLogin) => logins.push(l));
    endpoint.on('refused', (r: BridgeRefusal) => refusals.push(r));
    const sock = join(dir, 'mosq.sock');
    await writeFile(join(dir, 'mosquitto.conf'), flmConfig(sock, endpoint.port, tls.caFile!));
    const mosq = start('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')]);
    const sub = { stop: async (_graceMs?: number) => null as number | null, output: () => '' };
    try {
      await waitFor('a refused login', () => endpoint.counts.get('login-refused') >= 1, 20_000);
      // tmpod's sensor table, retained, published while the bridge is down (as at FLM boot)
      const config = JSON.stringify({ main: { hw_type: 'FLM02B' }, '1': { id: SID, enable: 1 } });
      await run('mosquitto_pub', ['--unix', sock, '-t', `/device/${DID}/config/sensor`, '-r', '-m', config]);
      Object.assign(sub, start('mosquitto_sub', ['--unix', sock, '-v', '-t', '/d/device/+/tmpo/sync']));
      await waitFor('mosquitto_sub subscribed', () => mosq.output().includes(`SUBSCRIBE`), 10_000);
      backend.addDevice(DID, KEY, [SID, SID2]);
      await waitFor('the login', () => endpoint.counts.get('login') === 1, 20_000);
      const line = await waitFor('the sync list at the local subscriber', () => syncLines(sub.output())[0]);
      assert.deepEqual(JSON.parse(line.slice(line.indexOf(' ') + 1)), [
        { sid: SID, rid: 0, lvl: 8, bid: BID0 },
        { sid: SID2, rid: 0, lvl: 0, bid: 0 },
      ]);
      await waitFor('the retained sensor table', () => backend.configs.length === 1, 10_000);
      assert.equal(backend.configs[0]!.payload.toString(), config);
      // tmpod after the reply: the blocks after the server's last one
      const blocks = [1, 2, 3].map((i) => ({ bid: BID0 + i * 256, data: gzipSync(`{"i":${i}}`) }));
      for (const b of blocks) {
        const f = join(dir, `block-${b.bid}`);
        await writeFile(f, b.data);
        await run('mosquitto_pub', ['--unix', sock, '-t', `/sensor/${SID}/tmpo/0/8/${b.bid}/gz`, '-f', f]);
      }
      await waitFor('the blocks', () => backend.blocksOf(SID).length === 4, 10_000);
      assert.deepEqual(
        backend
          .blocksOf(SID)
          .slice(1)
          .map((b) => [b.bid, b.data.toString('hex')]),
        blocks.map((b) => [b.bid, b.data.toString('hex')]),
      );
      // tmpod's sync request at init, through the bridge
      await run('mosquitto_pub', ['--unix', sock, '-t', `/device/${DID}/tmpo/sync`, '-n']);
      await waitFor('a second sync list', () => endpoint.counts.get('sync-reply') === 2, 10_000);
      await waitFor('it at the local subscriber', () => syncLines(sub.output()).length === 2);
      assert.deepEqual(logins, [{ did: DID, mqttVersion: '3.1', keepaliveS: 60 }]);
      // mosquitto announces its bridge's state on $SYS; the Flukso server took no such topic either.
      assert.deepEqual(
        refusals.filter((r) => r.reason === 'unrecognised').map((r) => r.topic),
        [`$SYS/broker/connection/${BRIDGE_ID}/state`],
      );
      assert.equal(endpoint.counts.get('store-failed'), 0);
      assert.equal(endpoint.clients, 1);
    } catch (err) {
      throw new Error(
        `${String(err)}\nmosquitto said:\n${mosq.output().slice(-3000)}\ncounts: ${JSON.stringify(endpoint.counts.snapshot())}`,
      );
    } finally {
      await sub.stop(2000);
      await mosq.stop(5000);
      await endpoint.close(3000);
    }
  });
});
