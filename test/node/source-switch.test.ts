/** One flow, several sources, one chosen by "active when" (FLM_SOURCE in the default flow). */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect } from '../support/nodered';
import { sourceStandby } from '../../nodes/lib/source-switch';
import { fixture } from '../unit/p1/fixtures';
import { lastStatusOf } from '../support/node-calls';

const lastStatus = (id: string) => lastStatusOf(helper.getNode(id));

afterEach(async () => {
  await helper.unload();
});

test('sourceStandby: empty or always runs; a kind runs only its own node; an unset variable means simulator', () => {
  for (const v of [undefined, null, '', '  ', 'always']) assert.equal(sourceStandby(v, 'p1'), undefined, String(v));
  assert.equal(sourceStandby('p1', 'p1'), undefined);
  assert.equal(sourceStandby(' board ', 'board'), undefined);
  assert.equal(sourceStandby('p1', 'simulator'), 'standby: source is p1');
  assert.equal(sourceStandby('simulator', 'board'), 'standby: source is simulator');
  assert.equal(sourceStandby('${FLM_SOURCE}', 'simulator'), undefined);
  assert.equal(sourceStandby('${FLM_SOURCE}', 'p1'), 'standby: source is simulator');
  assert.throws(() => sourceStandby('solar', 'p1'), /active when: "solar" is not simulator, p1, board or always/);
  assert.throws(() => sourceStandby('P1', 'p1'), /"P1" is not/);
});

test('a simulator in standby sends nothing and says why; the chosen P1 node parses', async () => {
  await helper.load(
    flmNodes,
    onTab([
      { id: 'sim', type: 'flm-simulator', when: 'p1', seed: '1', speed: '1000', wires: [['out']] },
      {
        id: 'p1',
        type: 'flm-p1',
        when: 'p1',
        source: 'input',
        crc: 'strict',
        variant: 'arc',
        watchdog: '0',
        wires: [['out']],
      },
      { id: 'out', type: 'helper' },
    ]),
  );
  const out = collect('out');
  helper.getNode('p1').receive({ payload: fixture('dsmr5-nl.txt') });
  await waitFor('the telegram', () => out.find((m) => m.topic === 'p1/telegram'));
  // at speed 1000 a running simulator sends a batch every 20 ms
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(out.filter((m) => m.topic === 'board/batch').length, 0);
  assert.deepEqual(lastStatus('sim'), { fill: 'grey', shape: 'ring', text: 'standby: source is p1' });
});

test('a P1 node in standby opens no port, raises no error, ignores its input; an unset variable runs the simulator', async () => {
  await helper.load(
    flmNodes,
    onTab([
      {
        id: 'sim',
        type: 'flm-simulator',
        when: '${FLM_TEST_SOURCE_NOT_SET}',
        seed: '1',
        speed: '1000',
        wires: [['out']],
      },
      {
        id: 'p1',
        type: 'flm-p1',
        when: '${FLM_TEST_SOURCE_NOT_SET}',
        source: 'serial',
        port: '/dev/flm-no-such-port',
        serial: '115200-8N1',
        watchdog: '1',
        wires: [['out']],
      },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]),
  );
  const out = collect('out');
  const caught = collect('caught');
  await waitFor('simulated batches', () => out.filter((m) => m.topic === 'board/batch').length >= 5);
  helper.getNode('p1').receive({ payload: fixture('dsmr5-nl.txt') });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(
    out.filter((m) => String(m.topic).startsWith('p1/')).length,
    0,
    'no telegram, no availability from a standby P1 node',
  );
  assert.equal(caught.length, 0);
  const p1 = helper.getNode('p1');
  const own = (spy: any) => spy.getCalls().filter((c: any) => c.thisValue === p1).length;
  assert.equal(own(p1.error), 0);
  assert.equal(own(p1.warn), 0, 'no port was tried');
  assert.deepEqual(lastStatus('p1'), { fill: 'grey', shape: 'ring', text: 'standby: source is simulator' });
});

test('an "active when" that names no source is a red status and an error', async () => {
  await helper.load(
    flmNodes,
    onTab([
      { id: 'sim', type: 'flm-simulator', when: 'solar', seed: '1', wires: [[]] },
      { id: 'p1', type: 'flm-p1', when: 'solar', source: 'input', wires: [[]] },
    ]),
  );
  for (const id of ['sim', 'p1']) {
    const n = helper.getNode(id);
    assert.ok(n.error.calledWithMatch(/active when: "solar" is not simulator, p1, board or always/), id);
    assert.equal(lastStatus(id)?.fill, 'red', id);
  }
});
