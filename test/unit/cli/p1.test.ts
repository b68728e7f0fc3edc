import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, p1FixturesDir } from '../../support/paths';
import { fixture, fixtureBytes, telegramOf, VALID_CRC, NO_CRC, BAD_CRC } from '../p1/fixtures';
import { runFlm } from '../../support/cli';

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

test('flm p1 decode: every valid and CRC-less fixture gives exit 0 and one JSON object with the telegram and its check', async () => {
  for (const name of [...VALID_CRC, ...NO_CRC]) {
    const r = await runFlm(['p1', 'decode', join(p1FixturesDir, name)]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    assert.equal(r.err, '');
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 1, name);
    const o = JSON.parse(lines[0]!);
    assert.equal(o.check.status, NO_CRC.includes(name) ? 'no-crc' : 'valid', name);
    assert.equal(o.check.accepted, true);
    assert.ok(o.header && o.electricity && Array.isArray(o.mbus), name);
  }
});

test('flm p1 decode: values come out as the meter sent them (read by hand from dsmr5-be-fluvius.txt)', async () => {
  const r = await runFlm(['p1', 'decode', join(p1FixturesDir, 'dsmr5-be-fluvius.txt')]);
  const o = JSON.parse(r.out);
  assert.equal(o.emucsVersion, '50217');
  assert.equal(o.check.expected, 0x3ad7);
  assert.deepEqual(
    o.mbus.map((d: { medium: string }) => d.medium),
    ['gas', 'water'],
  );
  assert.equal(o.mbus[0].reading.obis, '24.2.3');
  assert.equal(o.mbus[0].reading.unit, 'm³');
});

test('flm p1 decode: a bad CRC is exit 1 with a message naming the expected and the computed CRC', async () => {
  for (const [name, carried, actual] of BAD_CRC) {
    const path = join(p1FixturesDir, name);
    const r = await runFlm(['p1', 'decode', path]);
    assert.equal(r.code, 1, name);
    assert.equal(r.out, '');
    assert.equal(
      r.err,
      `flm p1 decode: ${path}: bad CRC: expected ${hex(carried)} (carried by the telegram), computed ${hex(actual)}` +
        ' (--mode warn decodes it anyway; --variant x25 for Holley meters)\n',
    );
    const warn = await runFlm(['p1', 'decode', '--mode', 'warn', path]);
    assert.equal(warn.code, 0);
    assert.equal(JSON.parse(warn.out).check.status, 'mismatch');
  }
});

test('flm p1 decode -: reads stdin; several telegrams give several lines; a bad one among them makes exit 1', async () => {
  const good = [
    telegramOf(fixture('dsmr5-nl.txt')),
    telegramOf(fixture('dsmr22-nl.txt')),
    telegramOf(fixture('dsmr5-hu-eon.txt')),
  ];
  const r = await runFlm(['p1', 'decode', '-'], good.join('junk between\r\n'));
  assert.equal(r.code, 0, r.err);
  const objs = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    objs.map((o) => o.header.raw),
    ['ISk5\\2MT382-1000', 'ISk5\\2MT382-1004', 'SAG5SAG-METER'],
  );
  assert.deepEqual(
    objs.map((o) => o.check.status),
    ['valid', 'no-crc', 'valid'],
  );
  // Hand-copied text without CRs is repaired.
  const lf = await runFlm(['p1', 'decode', '-'], fixture('dsmr42-nl-kaifa.txt').replace(/\r\n/g, '\n'));
  assert.equal(lf.code, 0, lf.err);
  const mixed = await runFlm(
    ['p1', 'decode', '-'],
    good[0] + telegramOf(fixture('be-emucs-2.1.1-spec-example.txt')) + good[1],
  );
  assert.equal(mixed.code, 1);
  assert.equal(mixed.out.trim().split('\n').length, 2);
  assert.match(mixed.err, /^flm p1 decode: stdin telegram 2 of 3: bad CRC: expected 1234 .*computed 74E0/);
});

test('flm p1 decode --key: a Smarty .bin decrypts; a wrong key says so; the Smarty example needs its own auth key', async () => {
  const bin = join(p1FixturesDir, 'smarty-lu-encrypted.bin');
  const ok = await runFlm(['p1', 'decode', '--key', 'D491470F47126332B07D1923B3504188', '--mode', 'warn', bin]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(JSON.parse(ok.out).logicalDeviceName, 'SAG1030700114004SAG1030700114004SAG1030700114004');
  const strict = await runFlm(['p1', 'decode', '--key', 'D491470F47126332B07D1923B3504188', bin]);
  assert.equal(strict.code, 1);
  assert.match(strict.err, /bad CRC: expected CFDE .*computed 99BD/);
  const wrong = await runFlm(['p1', 'decode', '--key', '00000000000000000000000000000000', bin]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /decryption failed: check the key/);
  const spec = join(p1FixturesDir, 'smarty-lu-spec-example-encrypted.bin');
  const noAuth = await runFlm(['p1', 'decode', '--key', '0123456789abcdef0123456789abcdef', '--mode', 'warn', spec]);
  assert.match(noAuth.err, /decryption failed/);
  const withAuth = await runFlm([
    'p1',
    'decode',
    '--key',
    '0123456789abcdef0123456789abcdef',
    '--auth-key',
    'ffeeddccbbaa99887766554433221100',
    '--mode',
    'warn',
    spec,
  ]);
  assert.equal(withAuth.code, 0, withAuth.err);
  assert.equal(JSON.parse(withAuth.out).header.manufacturer, 'Lux');
  // From stdin as bytes too.
  const piped = await runFlm(
    ['p1', 'decode', '--key', 'D491470F47126332B07D1923B3504188', '--mode', 'off', '-'],
    fixtureBytes('smarty-lu-encrypted.bin'),
  );
  assert.equal(piped.code, 0, piped.err);
});

test('flm p1 decode: usage errors are exit 2, unreadable input exit 1', async () => {
  const none = await runFlm(['p1', 'decode']);
  assert.equal(none.code, 2);
  assert.match(none.err, /^flm p1 decode: give one FILE, or - to read stdin \(see flm p1 decode --help\)\n$/);
  const mode = await runFlm(['p1', 'decode', '--mode', 'lenient', 'x']);
  assert.equal(mode.code, 2);
  assert.match(mode.err, /--mode/);
  const key = await runFlm(['p1', 'decode', '--key', 'abc', 'x']);
  assert.equal(key.code, 2);
  assert.match(key.err, /32 hex/);
  const missing = await runFlm(['p1', 'decode', '/nonexistent/telegram.txt']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read \/nonexistent\/telegram\.txt: ENOENT/);
  const dir = mkdtempSync(join(tmpdir(), 'flm-p1-cli-'));
  try {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, 'not a telegram\n');
    const r = await runFlm(['p1', 'decode', empty]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no telegram in the message/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const sniff = await runFlm(['p1', 'sniff', '--seconds', '1']);
  assert.equal(sniff.code, 2);
  assert.match(sniff.err, /give --port DEV or --tcp HOST:PORT/);
  const parity = await runFlm(['p1', 'sniff', '--port', '/dev/null', '--parity', 'odd']);
  assert.equal(parity.code, 2);
});

test('the flm bin decodes a telegram piped to its real stdin', () => {
  const bin = join(repoRoot, 'dist', 'core', 'cli', 'flm.js');
  const r = spawnSync(process.execPath, [bin, 'p1', 'decode', '-'], {
    input: fixtureBytes('dsmr5-nl.txt'),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).equipmentId, 'K8EG004046395507');
  const bad = spawnSync(process.execPath, [bin, 'p1', 'decode', '-'], {
    input: fixtureBytes('be-emucs-2.1.1-spec-example.txt'),
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /expected 1234 .*computed 74E0/);
});
