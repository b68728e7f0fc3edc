import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { serverTls } from '../../../core/server/bridge/server-tls';
import { withTempDir } from '../../support/temp-dir';
import { testPki } from '../../support/tls';

const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('without certificate files a private CA and a server certificate are made once in <data>/server-tls, keys 0600; the server certificate names this host, localhost, 127.0.0.1 and the names asked for', async () => {
  await withTempDir(async (data) => {
    const dir = join(data, 'server-tls');
    const first = await serverTls({ dir, names: ['flukso.example.org', '192.0.2.7'] });
    assert.equal(first.generated, true);
    assert.equal(first.caFile, join(dir, 'ca.crt'));
    assert.equal(await mode(dir), 0o700);
    assert.equal(await mode(join(dir, 'ca.key')), 0o600);
    assert.equal(await mode(join(dir, 'server.key')), 0o600);
    const ca = new X509Certificate(await readFile(first.caFile!));
    const cert = new X509Certificate(first.cert);
    assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
    assert.equal(cert.checkHost('flukso.example.org'), 'flukso.example.org');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('192.0.2.7'), '192.0.2.7');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.ca, false);

    const again = await serverTls({ dir, names: ['192.0.2.7', 'flukso.example.org'] });
    assert.equal(again.generated, false);
    assert.equal(again.cert, first.cert);

    const renamed = await serverTls({ dir, names: ['flm.example.net'] });
    assert.equal(renamed.generated, true);
    const reissued = new X509Certificate(renamed.cert);
    assert.ok(reissued.verify(ca.publicKey), 'the same CA: FLMs keep trusting it');
    assert.equal(reissued.checkHost('flm.example.net'), 'flm.example.net');
    assert.equal(reissued.checkHost('flukso.example.org'), undefined);
  });
});

test("the operator's certificate and key are used as given; one without the other, or a bad name, is a clear error", async () => {
  const pki = await testPki();
  await withTempDir(async (data) => {
    const certFile = join(data, 'c.pem');
    const keyFile = join(data, 'k.pem');
    await writeFile(certFile, pki.serverCert);
    await writeFile(keyFile, pki.serverKey);
    const given = await serverTls({ dir: join(data, 'server-tls'), certFile, keyFile });
    assert.deepEqual(given, { cert: pki.serverCert, key: pki.serverKey, generated: false });
    await assert.rejects(serverTls({ dir: join(data, 'server-tls'), certFile }), /both a certificate and a key/);
    await assert.rejects(serverTls({ dir: join(data, 'x'), names: ['no spaces please'] }), /not a host name/);
  });
});

test('two endpoints of one process starting together on one data folder get the same certificate, made once', async () => {
  await withTempDir(async (data) => {
    const dir = join(data, 'server-tls');
    const [a, b] = await Promise.all([serverTls({ dir }), serverTls({ dir })]);
    assert.equal(a.cert, b.cert);
    assert.deepEqual([a.generated, b.generated], [true, false]);
    const ca = new X509Certificate(await readFile(a.caFile!));
    assert.ok(new X509Certificate(a.cert).verify(ca.publicKey));
  });
});
