import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { testPki } from '../../support/tls';
import { FlmBridge, bridgeClientId } from '../../support/flm-emulator/bridge';

const DID = '0123456789abcdef0123456789abcdef';
const KEY = 'fedcba9876543210fedcba9876543210';

/** An MQTT string: two length bytes, then the text. */
function str(b: Buffer, at: number): [string, number] {
  const n = b.readUInt16BE(at);
  return [b.subarray(at + 2, at + 2 + n).toString('utf8'), at + 2 + n];
}

test('the bridge CONNECT is MQTT 3.1 (MQIsdp/3), clean, keepalive 60, did/key, client id flukso-<6 hex>.flukso, over TLS', async () => {
  const pki = await testPki();
  let first: Buffer | undefined;
  const server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (s) => {
    s.once('data', (d: Buffer) => {
      first = d;
      s.end(Buffer.from([0x20, 0x02, 0x00, 0x05])); // CONNACK 5: not authorised, so the client stops here
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
    config: '{}',
    onSync: () => undefined,
    restartMs: 60_000,
  });
  try {
    bridge.start();
    const t0 = Date.now();
    while (!first && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const b = first!;
    assert.equal(b[0], 0x10, 'CONNECT');
    let at = 1;
    let len = 0;
    for (let mul = 1; ; mul *= 128) {
      const x = b[at++]!;
      len += (x & 0x7f) * mul;
      if (!(x & 0x80)) break;
    }
    assert.equal(b.length, at + len);
    const [name, afterName] = str(b, at);
    at = afterName;
    assert.equal(name, 'MQIsdp');
    assert.equal(b[at++], 3, 'protocol level 3, no bridge bit (try_private false)');
    assert.equal(b[at++], 0x80 | 0x40 | 0x02, 'user name, password, clean session; no will');
    assert.equal(b.readUInt16BE(at), 60);
    at += 2;
    const [clientId, afterId] = str(b, at);
    const [user, afterUser] = str(b, afterId);
    const [pass, end] = str(b, afterUser);
    at = end;
    assert.equal(clientId, 'flukso-012345.flukso');
    assert.equal(clientId, bridgeClientId(DID));
    assert.equal(user, DID);
    assert.equal(pass, KEY);
    assert.equal(at, b.length);
  } finally {
    await bridge.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
