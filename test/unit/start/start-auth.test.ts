import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedHosts, editorLogin, hostOf, ADMIN_PASSWORD_FILE } from '../../../scripts/start-auth';

test('hostOf: the host of a Host header, without port, brackets, case or final dot', () => {
  assert.equal(hostOf('127.0.0.1:1880'), '127.0.0.1');
  assert.equal(hostOf('LocalHost'), 'localhost');
  assert.equal(hostOf('[::1]:1880'), '::1');
  assert.equal(hostOf('[::1]'), '::1');
  assert.equal(hostOf('rebind.attacker.example.:80'), 'rebind.attacker.example');
  assert.equal(hostOf(''), undefined);
  assert.equal(hostOf(undefined), undefined);
});

test('allowedHosts: loopback names and the bind address; every interface address when bound to all; FLM_ALLOWED_HOSTS', () => {
  const local = allowedHosts('127.0.0.1', '');
  assert.deepEqual([...local].sort(), ['127.0.0.1', '::1', 'localhost']);
  assert.ok(!local.has('rebind.attacker.example'));
  assert.ok(allowedHosts('192.0.2.7', '').has('192.0.2.7'));
  const all = allowedHosts('0.0.0.0', 'flm.home, Pi.Local:1880 10.0.0.5');
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) assert.ok(all.has(a.address.toLowerCase()), a.address);
  for (const h of ['flm.home', 'pi.local', '10.0.0.5']) assert.ok(all.has(h), h);
  assert.ok(!all.has('0.0.0.0'));
});

test('editorLogin: FLM_ADMIN_PASSWORD wins; else one generated once into the data dir, 0600, and reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-login-'));
  try {
    assert.deepEqual(await editorLogin('admin', 'chosen', dir), { user: 'admin', password: 'chosen', created: false });
    const first = await editorLogin('admin', undefined, dir);
    assert.equal(first.created, true);
    assert.ok(first.password.length >= 16);
    assert.equal(first.file, join(dir, ADMIN_PASSWORD_FILE));
    assert.equal((await stat(first.file!)).mode & 0o777, 0o600);
    assert.equal((await readFile(first.file!, 'utf8')).trim(), first.password);
    const again = await editorLogin('admin', '', dir);
    assert.deepEqual(again, { ...first, created: false });
  } finally {
    await rm(dir, { recursive: true });
  }
});
