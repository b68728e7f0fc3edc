import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { COMMANDS } from '../../../core/cli/commands';
import { HELP_WIDTH } from '../../../core/cli/help';
import { repoRoot } from '../../support/paths';
import { runFlm } from '../../support/cli';

/** Every command of the CLI's own table, and every group of words before one (`flm tmpo`, `flm board`). */
const commandPaths = COMMANDS.map((c) => c.path);
const groups = [
  ...new Set(COMMANDS.flatMap((c) => c.path.slice(0, -1).map((_, i) => c.path.slice(0, i + 1).join(' ')))),
].map((g) => g.split(' '));

function assertFits(text: string, what: string): void {
  assert.ok(text.trim().length > 0, `${what}: some help`);
  for (const line of text.split('\n'))
    assert.ok(line.length <= HELP_WIDTH, `${what}: a line of ${line.length} columns: "${line}"`);
  assert.doesNotMatch(text, / +$/m, `${what}: no trailing blanks`);
}

test('flm --help reads in 80 columns, lists every command of the table and says the exit codes', async () => {
  assert.ok(COMMANDS.length >= 8 && groups.length >= 3, 'the table was read');
  for (const args of [[], ['--help'], ['-h'], ['help']]) {
    const r = await runFlm(args);
    assert.equal(r.code, 0, args.join(' '));
    assertFits(r.out, `flm ${args.join(' ')}`);
    for (const c of COMMANDS) assert.match(r.out, new RegExp(`^ {2}${c.path.join(' ')} `, 'm'));
    assert.match(r.out, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 {2}usage error/);
  }
});

for (const path of commandPaths) {
  const name = `flm ${path.join(' ')}`;
  test(`${name} --help (and -h, flm help ...): usage, every option, 80 columns, exit 0`, async () => {
    const command = COMMANDS.find((c) => c.path === path)!;
    const outs: string[] = [];
    for (const args of [
      [...path, '--help'],
      [...path, '-h'],
      ['help', ...path],
    ]) {
      const r = await runFlm(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.err, '');
      assertFits(r.out, args.join(' '));
      outs.push(r.out);
    }
    assert.equal(new Set(outs).size, 1, 'the same help each way');
    const help = outs[0]!;
    assert.match(help, new RegExp(`^Usage: ${name} `));
    for (const option of Object.keys(command.options)) assert.match(help, new RegExp(`^ {2}--${option}\\b`, 'm'));
    assert.match(help, /Exit codes:/);
    // --help anywhere among the arguments, even after others, wins (nothing runs)
    const late = await runFlm([...path, '--seconds', '1', '--help']);
    assert.equal(late.code, 0);
    assert.equal(late.out, help);
  });

  test(`${name}: an unknown option is one line naming it, and exit code 2`, async () => {
    const r = await runFlm([...path, '--no-such-option']);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.equal(r.err, `${name}: unknown option --no-such-option (see ${name} --help)\n`);
  });
}

for (const group of groups) {
  const name = `flm ${group.join(' ')}`;
  test(`${name} --help lists its commands in 80 columns; ${name} alone is a usage error`, async () => {
    const r = await runFlm([...group, '--help']);
    assert.equal(r.code, 0);
    assertFits(r.out, `${name} --help`);
    for (const c of COMMANDS.filter((x) => group.every((w, i) => x.path[i] === w)))
      assert.match(r.out, new RegExp(`^ {2}${c.path.slice(group.length).join(' ')} `, 'm'));
    const bare = await runFlm(group);
    assert.equal(bare.code, 2);
    assert.equal(bare.err, r.out);
    const wrong = await runFlm([...group, 'frobnicate']);
    assert.equal(wrong.code, 2);
    assert.equal(wrong.err, `${name}: unknown command "frobnicate" (see ${name} --help)\n`);
  });
}

test('flm: a missing option value, a value on a switch and an unknown command each get one line and exit 2', async () => {
  const missing = await runFlm(['sim', '--seconds']);
  assert.equal(missing.code, 2);
  assert.equal(missing.err, 'flm sim: option --seconds needs a value (--seconds N) (see flm sim --help)\n');
  const switched = await runFlm(['sim', '--readings=yes']);
  assert.equal(switched.code, 2);
  assert.equal(switched.err, 'flm sim: option --readings takes no value (see flm sim --help)\n');
  const required = await runFlm(['tmpo', 'export', '--sid', 'main']);
  assert.equal(required.code, 2);
  assert.match(required.err, /^flm tmpo export: --dir: .*required \(see flm tmpo export --help\)\n$/);
  const unknown = await runFlm(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'flm: unknown command "frobnicate" (see flm --help)\n');
});

test('the flm bin: sim --help prints the help (no Node error), an unknown option exits 2', () => {
  const bin = join(repoRoot, 'dist', 'core', 'cli', 'flm.js');
  const help = spawnSync(process.execPath, [bin, 'sim', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: flm sim /);
  assertFits(help.stdout, 'flm sim --help');
  const bad = spawnSync(process.execPath, [bin, 'tmpo', 'ls', '--colour'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'flm tmpo ls: unknown option --colour (see flm tmpo ls --help)\n');
});
