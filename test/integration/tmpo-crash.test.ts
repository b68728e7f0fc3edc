import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TmpoStore } from '../../core/tmpo/store';
import { decodeSeries } from '../../core/tmpo/codec';
import { keyText } from '../../core/tmpo/ids';
import { keyFor, expectedSeries } from '../support/children/tmpo-writer-data';
import { tempDir } from '../support/nodered';
import { prng } from '../../core/util/prng';

const KILLS = 50;

/** Run the writer from block `start`, SIGKILL it after `ms`; the blocks it reported written. */
function runAndKill(dataDir: string, start: number, ms: number): Promise<{ written: number[]; next: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', 'support', 'children', 'tmpo-writer.js'), dataDir, String(start)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const written: number[] = [];
    let next = start;
    let buf = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [status, i] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (status === 'written') written.push(Number(i));
        next = Number(i) + 1;
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${err}`));
      resolve({ written, next });
    });
  });
}

test(`TMPO store: ${KILLS} SIGKILLs at random moments never leave a corrupt block served, and every block reported written is intact`, async () => {
  const dir = await tempDir('flm-crash-');
  const rnd = prng(20261124);
  try {
    const reported = new Set<number>();
    let next = 0;
    let quarantined = 0;
    for (let k = 0; k < KILLS; k++) {
      const r = await runAndKill(dir.path, next, 150 + Math.floor(rnd() * 250));
      r.written.forEach((i) => reported.add(i));
      // The block being written when the kill came may or may not have landed; start after it.
      next = r.next + 1;
      const { store, warnings } = await TmpoStore.open(dir.path);
      quarantined += warnings.filter((w) => w.kind === 'quarantined').length;
      const listed = new Set((await store.list()).map(keyText));
      for (const i of reported)
        assert.ok(listed.has(keyText(keyFor(i))), `block ${i} was reported written and must be there`);
      for (const key of await store.list()) {
        const bytes = await store.read(key);
        assert.ok(bytes, `${keyText(key)} listed but unreadable`);
        const s = decodeSeries(bytes);
        const i = ((key.bid - keyFor(0).bid) / 256) * 2 + (key.sid === keyFor(1).sid ? 1 : 0);
        assert.deepEqual(s, expectedSeries(i), `${keyText(key)} is intact`);
      }
    }
    assert.ok(reported.size > KILLS, `the writer made progress (${reported.size} blocks)`);
    assert.equal(quarantined, 0, 'atomic writes: no torn block ever needed quarantine');
  } finally {
    await dir.remove();
  }
});
