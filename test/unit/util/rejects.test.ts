import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Node } from 'node-red';
import { Rejects } from '../../../nodes/lib/rejects';
import { StartupQueue } from '../../../nodes/lib/startup-queue';

/** What a node is asked to log, and its close, without a Node-RED runtime. */
function fakeNode() {
  const events = new EventEmitter();
  const said: Array<[string, string]> = [];
  const node = {
    on: (e: string, fn: () => void) => events.on(e, fn),
    warn: (t: string) => said.push(['warn', t]),
    error: (t: string) => said.push(['error', t]),
  } as unknown as Node;
  return { node, said, close: () => events.emit('close') };
}

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('Rejects: the first error of a kind ends its message with done(err), the rest of the interval with done(), then one summary', async () => {
  const f = fakeNode();
  const r = new Rejects(f.node, 200);
  const dones: Array<Error | undefined> = [];
  for (let i = 0; i < 5; i++)
    r.fail((e) => dones.push(e), new Error(`unknown sensor ${String(i).repeat(32)}: not enabled`));
  r.fail((e) => dones.push(e), new Error('payload must be [ts,value,"unit"]'));
  assert.deepEqual(
    dones.map((e) => e?.message),
    [
      `unknown sensor ${'0'.repeat(32)}: not enabled`,
      undefined,
      undefined,
      undefined,
      undefined,
      'payload must be [ts,value,"unit"]',
    ],
  );
  assert.equal(r.total, 6);
  assert.deepEqual(f.said, [], 'done(err) is what reports a message error');
  await until('the summary', () => f.said.length === 1);
  assert.equal(f.said[0]![0], 'warn');
  assert.match(
    f.said[0]![1],
    new RegExp(`^4 more like this in the last \\d+ s: unknown sensor ${'4'.repeat(32)}: not enabled$`),
  );
  // After the summary the kind starts afresh: its next error is reported at once.
  r.fail((e) => dones.push(e), new Error(`unknown sensor ${'9'.repeat(32)}: not enabled`));
  assert.ok(dones.at(-1) instanceof Error);
  f.close();
});

test('Rejects: errors outside a message and drops are counted by reason and logged once per interval; closing says what was held back', () => {
  const f = fakeNode();
  const r = new Rejects(f.node, 60_000);
  for (let i = 0; i < 3; i++) r.error(new Error(`tick ${i} failed`));
  for (let i = 0; i < 4; i++) r.drop('unknown sensor', `counter of ${i} not uploaded`);
  assert.equal(r.count('unknown sensor'), 4);
  assert.equal(r.total, 7);
  assert.deepEqual(f.said, [
    ['error', 'tick 0 failed'],
    ['warn', 'counter of 0 not uploaded'],
  ]);
  f.close();
  assert.equal(f.said.length, 4);
  assert.match(f.said[2]![1], /^2 more like this in the last \d+ s: tick 2 failed$/);
  assert.match(f.said[3]![1], /^3 more like this in the last \d+ s: counter of 3 not uploaded$/);
});

test('StartupQueue: after a failed start, the first message a minute gets the error, the others are refused quietly', () => {
  const q = new StartupQueue('the store');
  const dones: Array<Error | undefined> = [];
  for (let i = 0; i < 3; i++)
    q.input(
      { _msgid: String(i) } as never,
      () => undefined,
      (e) => dones.push(e),
    );
  q.fail(new Error('bad config'));
  for (let i = 0; i < 3; i++)
    q.input(
      { _msgid: 'x' } as never,
      () => undefined,
      (e) => dones.push(e),
    );
  assert.deepEqual(
    dones.map((e) => e?.message),
    ['bad config', undefined, undefined, undefined, undefined, undefined],
  );
});
