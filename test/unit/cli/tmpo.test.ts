import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeSeries } from '../../../core/tmpo/codec';
import { blockPath } from '../../../core/tmpo/ids';
import { TmpoStore } from '../../../core/tmpo/store';
import { CFG, SID_A, SID_B, T20, counterSeries, key, newBuilder, record, slice, withTempDir } from '../api/support';
import { runFlm } from '../../support/cli';

const SERIES = { times: [T20 + 1, T20 + 2, T20 + 30, T20 + 255], values: [3054225, 3054225.5, 3054226.125, 3054230] };

test('flm tmpo decode: a block as JSON (head, tail, vsn, cfg, samples, series) and as CSV; - reads stdin', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, String(T20));
    const bytes = encodeSeries(SERIES, CFG);
    await fs.writeFile(file, bytes);
    const json = await runFlm(['tmpo', 'decode', file]);
    assert.equal(json.code, 0, json.err);
    assert.equal(
      json.out,
      `{"head":[${T20 + 1},3054225],"tail":[${T20 + 255},3054230],"vsn":1,"cfg":${JSON.stringify(JSON.parse(JSON.stringify(CFG)))},"samples":4,` +
        `"series":[[${T20 + 1},3054225],[${T20 + 2},3054225.5],[${T20 + 30},3054226.125],[${T20 + 255},3054230]]}\n`,
    );
    const parsed = JSON.parse(json.out);
    assert.deepEqual(parsed.cfg, CFG);

    const csv = await runFlm(['tmpo', 'decode', file, '--csv']);
    assert.equal(csv.code, 0);
    assert.equal(
      csv.out,
      `ts,value\n${T20 + 1},3054225\n${T20 + 2},3054225.5\n${T20 + 30},3054226.125\n${T20 + 255},3054230\n`,
    );

    const piped = await runFlm(['tmpo', 'decode', '-', '--csv'], bytes);
    assert.equal(piped.out, csv.out);
  });
});

test('flm tmpo decode: a corrupt block exits 1 with "not a TMPO block"; a missing argument is a usage error', async () => {
  await withTempDir(async (dir) => {
    const junk = join(dir, 'junk');
    await fs.writeFile(junk, 'hello, not gzip');
    const a = await runFlm(['tmpo', 'decode', junk]);
    assert.equal(a.code, 1);
    assert.equal(a.out, '');
    assert.match(a.err, new RegExp(`^flm tmpo decode: not a TMPO block: ${junk}: not a gzip stream`));

    const notBlock = join(dir, 'json.gz');
    await fs.writeFile(notBlock, gzipSync('{"t":[0],"v":[0],"h":{}}'));
    const b = await runFlm(['tmpo', 'decode', notBlock]);
    assert.equal(b.code, 1);
    assert.match(b.err, /not a TMPO block: /);

    const cut = join(dir, 'cut');
    await fs.writeFile(cut, encodeSeries(SERIES, CFG).subarray(0, 30));
    assert.match((await runFlm(['tmpo', 'decode', cut])).err, /not a TMPO block: .*gzip stream is damaged/);

    assert.match((await runFlm(['tmpo', 'decode', join(dir, 'absent')])).err, /cannot read .*absent/);
    assert.equal((await runFlm(['tmpo', 'decode'])).code, 2);
  });
});

test('flm tmpo ls: every block of a store as a table or JSON lines; damaged blocks are listed, left in place, and exit 1', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const s = counterSeries(5, T20, T20 + 2 ** 16 + 3 * 4096 + 700);
    await record(store, newBuilder(), s, T20 + 2 ** 16 + 3 * 4096 + 768);
    await store.put(key(8, T20, SID_B), encodeSeries({ times: [T20 + 5], values: [1] }, CFG));
    const keys = await store.list();

    const json = await runFlm(['tmpo', 'ls', dir, '--json']);
    assert.equal(json.code, 0, json.err);
    const rows = json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map(({ sid, rid, lvl, bid }) => ({ sid, rid, lvl, bid })),
      keys,
    );
    assert.deepEqual(Object.keys(rows[0]), ['sid', 'name', 'rid', 'lvl', 'bid', 'samples', 'bytes', 'first', 'last']);
    assert.equal(rows[0].name, 'main', "the name the newest block's cfg gives");
    assert.equal(
      rows.filter((r) => r.sid === SID_A).reduce((n, r) => n + r.samples, 0),
      s.times.length,
    );
    for (const r of rows) assert.equal(r.bytes, (await store.read(r))!.length);
    assert.deepEqual([rows[0].first, rows[0].last], [s.times[0], slice(s, T20, T20 + 2 ** 16).times.at(-1)]);

    const table = await runFlm(['tmpo', 'ls', join(dir, 'tmpo')]);
    assert.equal(table.code, 0);
    const lines = table.out.trim().split('\n');
    assert.match(lines[0]!, /^SID +NAME +RID +LVL +BID +SAMPLES +BYTES +FIRST +LAST$/);
    assert.equal(lines.length, keys.length + 2);
    assert.match(
      lines[1]!,
      new RegExp(`^${SID_A} +main +0 +16 +${T20} +\\d+ +\\d+ +2016-07-08T19:33:\\d\\dZ +2016-07-09T`),
    );
    assert.match(lines.at(-1)!, new RegExp(`^${keys.length} blocks, ${s.times.length + 1} samples, \\d+ bytes$`));

    const bad = blockPath(dir, key(8, T20 + 2 ** 20));
    await fs.mkdir(join(bad, '..'), { recursive: true });
    await fs.writeFile(bad, 'garbage');
    const damaged = await runFlm(['tmpo', 'ls', dir, '--json']);
    assert.equal(damaged.code, 1);
    assert.match(damaged.err, /not a TMPO block: .*: not a gzip stream/);
    const row = damaged.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((r) => r.bid === T20 + 2 ** 20);
    assert.deepEqual([row.samples, row.bytes, typeof row.error], [null, 7, 'string']);
    assert.equal(await fs.readFile(bad, 'utf8'), 'garbage', 'ls only looks');

    const none = await runFlm(['tmpo', 'ls', join(dir, 'nothing-here')]);
    assert.equal(none.code, 1);
    assert.match(none.err, /no TMPO store in .*nothing-here/);
  });
});

test('flm tmpo export: samples between two times across blocks and levels, as JSON or CSV', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const end = T20 + 2 ** 16 + 2 * 4096 + 600;
    const s = counterSeries(9, T20, end);
    await record(store, newBuilder(), s, end + 256);
    assert.ok(new Set((await store.list()).map((k) => k.lvl)).size >= 3);

    const from = T20 + 2 ** 16 - 5000;
    const to = T20 + 2 ** 16 + 4096 + 300;
    const inRange = slice(s, from, to + 1);
    const json = await runFlm([
      'tmpo',
      'export',
      '--dir',
      dir,
      '--sid',
      SID_A,
      '--from',
      new Date(from * 1000).toISOString(),
      '--to',
      String(to),
    ]);
    assert.equal(json.code, 0, json.err);
    const got = JSON.parse(json.out);
    assert.deepEqual([got.sid, got.rid, got.from, got.to], [SID_A, 0, from, to]);
    assert.deepEqual(
      got.series,
      inRange.times.map((t, i) => [t, inRange.values[i]]),
    );

    const csv = await runFlm([
      'tmpo',
      'export',
      '--dir',
      dir,
      '--sid',
      SID_A,
      '--from',
      String(from),
      '--to',
      String(to),
      '--csv',
    ]);
    assert.equal(csv.out, 'ts,value\n' + inRange.times.map((t, i) => `${t},${inRange.values[i]}\n`).join(''));

    const whole = JSON.parse((await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_A])).out);
    assert.equal(whole.series.length, s.times.length);
    const nothing = JSON.parse(
      (await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_A, '--from', String(end + 10)])).out,
    );
    assert.deepEqual(nothing.series, []);

    const unknown = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_B]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no TMPO blocks of sensor fed6/);
    const badTime = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_A, '--from', 'last tuesday']);
    assert.equal(badTime.code, 2);
    assert.match(badTime.err, /--from: "last tuesday" is not a time/);
    assert.equal((await runFlm(['tmpo', 'export', '--sid', SID_A])).code, 2);

    // a damaged block on the way is an error, not a silent hole
    const victim = (await store.list()).find((k) => k.lvl === 12)!;
    await fs.writeFile(blockPath(dir, victim), gzipSync('nope'));
    const broken = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_A, '--csv']);
    assert.equal(broken.code, 1);
    assert.match(broken.err, /^flm tmpo export: not a TMPO block: .*\/12\/\d+: /);
  });
});

test('flm tmpo ls and export know sensors by name: from their blocks and derived-sensors.json; unknown and shared names refused', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const SID_C = '0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c';
    const SID_D = 'dddddddddddddddddddddddddddddddd';
    const SID_P1 = '9191919191919191919191919191919a';
    const put = (sid: string, name: string) =>
      store.put(key(8, T20, sid), encodeSeries(SERIES, { ...CFG, id: sid, function: name }));
    await put(SID_A, 'main');
    await put(SID_C, 'solar');
    await put(SID_D, 'solar');
    // a P1 meter's sensor renamed since its block was written: the data dir's file says its name now
    await put(SID_P1, 'p1 old name');
    await fs.writeFile(
      join(dir, 'derived-sensors.json'),
      JSON.stringify({ ['e'.repeat(32)]: { sensors: [{ id: SID_P1, name: 'grid import', origin: 'p1' }] } }),
    );

    const table = await runFlm(['tmpo', 'ls', dir]);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, new RegExp(`^${SID_A} +main +0 +8 `, 'm'));
    assert.match(table.out, new RegExp(`^${SID_P1} +grid import +0 +8 `, 'm'));
    const json = (await runFlm(['tmpo', 'ls', dir, '--json'])).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      json.map((r) => [r.sid, r.name]),
      [SID_C, SID_P1, SID_A, SID_D]
        .sort()
        .map((sid) => [sid, { [SID_A]: 'main', [SID_C]: 'solar', [SID_D]: 'solar', [SID_P1]: 'grid import' }[sid]]),
    );

    const byId = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', SID_A]);
    assert.equal(byId.code, 0, byId.err);
    for (const ref of ['main', 'MAIN']) {
      const byName = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', ref]);
      assert.equal(byName.code, 0, byName.err);
      assert.equal(byName.out, byId.out, ref);
    }
    const p1 = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', 'grid import', '--csv']);
    assert.equal(p1.code, 0, p1.err);
    assert.equal(p1.out.split('\n').length, SERIES.times.length + 2);

    const unknown = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', 'mian']);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.err,
      'flm tmpo export: --sid: no sensor is named "mian"; known names: grid import, main, solar (see flm tmpo export --help)\n',
    );
    const shared = await runFlm(['tmpo', 'export', '--dir', dir, '--sid', 'solar']);
    assert.equal(shared.code, 2);
    assert.match(
      shared.err,
      new RegExp(`"solar" names 2 sensors: ${SID_C} \\(solar\\), ${SID_D} \\(solar\\); give the id`),
    );
  });
});
