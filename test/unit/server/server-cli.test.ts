import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { runFlm } from '../../support/cli';
import { withTempDir } from '../../support/temp-dir';
import { FileRegistry } from '../../../core/server/registry';

const DID = 'a'.repeat(32);
const KEY = 'b'.repeat(32);
const SID = 'c'.repeat(32);

test('flm server: users, devices, shares and ls, in a 0600 registry', async () => {
  await withTempDir(async (dir) => {
    const alice = await runFlm(['server', 'user', 'add', 'alice', '--data', dir]);
    assert.equal(alice.code, 0, alice.err);
    assert.match(alice.out, /^[0-9a-f]{32}\n$/);
    assert.equal((await runFlm(['server', 'user', 'add', 'bob', '--data', dir])).code, 0);
    assert.equal((await runFlm(['server', 'user', 'add', 'alice', '--data', dir])).code, 1);
    const dev = await runFlm(['server', 'device', 'add', DID, KEY, '--user', 'alice', '--sensor', SID, '--data', dir]);
    assert.equal(dev.code, 0, dev.err);
    assert.match(dev.out, new RegExp(`^${SID} [0-9a-f]{32}\\n$`));
    assert.equal((await runFlm(['server', 'device', 'add', DID, 'xyz', '--user', 'alice', '--data', dir])).code, 1);
    assert.equal((await runFlm(['server', 'device', 'add', DID, KEY, '--data', dir])).code, 2);
    assert.equal((await runFlm(['server', 'share', SID, '--with', 'bob', '--data', dir])).code, 0);
    const ls = await runFlm(['server', 'ls', '--data', dir]);
    assert.match(ls.out, /user alice/);
    assert.match(ls.out, new RegExp(`sensor ${SID}.*shared with bob`));
    assert.doesNotMatch(ls.out, new RegExp(alice.out.trim()));
    const json = JSON.parse((await runFlm(['server', 'ls', '--json', '--tokens', '--data', dir])).out);
    assert.equal(json.users[0].token, alice.out.trim());
    assert.equal((await stat(`${dir}/server/registry.json`)).mode & 0o777, 0o600);
    const reg = await FileRegistry.open(`${dir}/server`);
    assert.equal(reg.access(SID, alice.out.trim()), 'ok');
  });
});
