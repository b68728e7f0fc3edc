import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { testPki } from '../../support/tls';
import { FlmBridge, bridgeClientId } from '../../support/flm-emulator/bridge';

const DID = '0123456789abcdef0123456789abcdef';
const KEY = 'fedcba9876543210fedcba9876543210';

/**
 * The first bytes Debian's mosquitto 2.0.11 sent as a bridge configured like the FLM's
 * (`connection flukso`, `try_private false`, `cleansession true`, `keepalive_interval 60`,
 * `bridge_protocol_version mqttv31`, remote user/password = device id/key) on a host named "vm",
 * captured from a TLS listener: CONNECT, then after CONNACK the bridge state notification "1" and
 * an UNSUBSCRIBE per out topic (packet ids 1, 2, 3).
 */
const MOSQUITTO_CONNECT =
  '10860100064d514973647003ee003c0009766d2e666c756b736f0026245359532f62726f6b65722f636f6e6e656374696f6e2f766d2e666c756b736f2f73746174650001300020303132333435363738396162636465663031323334353637383961626364656600206665646362613938373635343332313066656463626139383736353433323130';
const MOSQUITTO_STATE = '332b0026245359532f62726f6b65722f636f6e6e656374696f6e2f766d2e666c756b736f2f7374617465000131';
const MOSQUITTO_UNSUB = [
  'a21b000200172f6465766963652f2b2f636f6e6669672f73656e736f72',
  'a214000300102f73656e736f722f2b2f746d706f2f23',
];

/** Split a byte stream into MQTT packets. */
function packets(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    let len = 0;
    let i = at + 1;
    for (let mul = 1; ; mul *= 128) {
      const x = b[i++]!;
      len += (x & 0x7f) * mul;
      if (!(x & 0x80)) break;
    }
    if (i + len > b.length) break;
    out.push(b.subarray(at, i + len));
    at = i + len;
  }
  return out;
}

/** A packet with its 2-byte packet id (right after the topic, or first for UNSUBSCRIBE) zeroed: mqtt.js numbers from a random start. */
function withoutId(p: Buffer, at: number): string {
  const c = Buffer.from(p);
  c[at] = 0;
  c[at + 1] = 0;
  return c.toString('hex');
}

test('the bridge speaks as mosquitto does: CONNECT, state notification and UNSUBSCRIBEs byte for byte as captured', async () => {
  const pki = await testPki();
  let got = Buffer.alloc(0);
  const server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (s) => {
    s.on('data', (d: Buffer) => {
      if (got.length === 0) s.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK accepted
      got = Buffer.concat([got, d]);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const bridge = new FlmBridge({
    url: `mqtts://127.0.0.1:${port}`,
    ca: pki.caPem,
    did: DID,
    keyHex: KEY,
    config: '{"a":1}',
    onSync: () => undefined,
    restartMs: 60_000,
    hostname: 'vm',
    outTopics: ['/device/+/config/sensor', '/sensor/+/tmpo/#'],
  });
  try {
    bridge.start();
    const t0 = Date.now();
    while (packets(got).length < 6 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const [connect, state, unsub1, unsub2, config, sync] = packets(got);
    assert.equal(connect!.toString('hex'), MOSQUITTO_CONNECT);
    // fixed header (2), topic length (2), topic (38 bytes), then the packet id
    const stateTopicEnd = 2 + 2 + 38;
    assert.equal(withoutId(state!, stateTopicEnd), withoutId(Buffer.from(MOSQUITTO_STATE, 'hex'), stateTopicEnd));
    assert.equal(withoutId(unsub1!, 2), withoutId(Buffer.from(MOSQUITTO_UNSUB[0]!, 'hex'), 2));
    assert.equal(withoutId(unsub2!, 2), withoutId(Buffer.from(MOSQUITTO_UNSUB[1]!, 'hex'), 2));
    // then the retained sensor table and tmpod's sync request, QoS 0
    assert.equal(config!.toString('latin1'), `\x31\x3f\x00\x36/device/${DID}/config/sensor{"a":1}`);
    assert.equal(sync!.toString('latin1'), `\x30\x34\x00\x32/device/${DID}/tmpo/sync`);
  } finally {
    await bridge.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('on an FLM the client id is flukso-<first 6 hex of the device id>.flukso', () => {
  assert.equal(bridgeClientId(DID), 'flukso-012345.flukso');
});
