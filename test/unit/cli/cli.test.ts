import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths';
import { runFlm } from '../../support/cli';

const run = (...args: string[]) => runFlm(args);

test('flm sim prints one board batch per second as JSON lines, reproducibly', async () => {
  const a = await run('sim', '--seconds', '30', '--seed', '4', '--start', '2026-06-21T12:00:00Z');
  const b = await run('sim', '--seconds', '30', '--seed', '4', '--start', '2026-06-21T12:00:00Z');
  assert.equal(a.code, 0);
  assert.equal(a.out, b.out);
  const lines = a.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 30);
  assert.equal(lines[0].time, Date.UTC(2026, 5, 21, 12, 0, 1));
});

test('flm sim --readings prints FLM readings as mosquitto_sub -v would', async () => {
  const r = await run('sim', '--seconds', '5', '--readings', '--start', '2026-06-21T12:00:00Z');
  assert.equal(r.code, 0);
  const lines = r.out.trim().split('\n');
  for (const l of lines)
    assert.match(l, /^\/sensor\/[0-9a-f]{32}\/(gauge|counter) \[\d+,-?\d+(\.\d+)?,"(W|Wh|L|L\/day)"\]$/);
  assert.ok(lines.filter((l) => l.includes('/gauge ')).length >= 5);
});

test('flm: bad flags are usage errors (exit 2) with a clear message; unknown commands too', async () => {
  const bad = await run('sim', '--seconds', 'many');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^flm sim: --seconds: .* \(see flm sim --help\)\n$/);
  const unknown = await run('sim', '--colour', 'red');
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'flm sim: unknown option --colour (see flm sim --help)\n');
  const date = await run('sim', '--start', 'yesterday');
  assert.equal(date.code, 1);
  assert.match(date.err, /--start: "yesterday" is not a date/);
  const nothing = await run('frobnicate');
  assert.equal(nothing.code, 2);
  assert.match(nothing.err, /unknown command "frobnicate"/);
  const help = await run('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /^ {2}sim /m);
});

test('the flm bin runs as a program and reports the package version', () => {
  const bin = join(repoRoot, 'dist', 'core', 'cli', 'flm.js');
  const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), require(join(repoRoot, 'package.json')).version);
});
