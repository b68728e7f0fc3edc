/**
 * flm-in's counters never go back: another FLM that loses its counters (a reflash, a replaced
 * box) publishes lower ones; flm-in holds them until three in a row agree, then carries on from
 * what it published, also across a restart of Node-RED (docs/protocols/flm-mqtt.md#counters-that-restart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir } from '../support/nodered';
import { DEVICE_ID, sid } from '../support/device';
import { flm02Config } from '../support/flm-config';
import { EmbeddedBroker } from '../../core/broker/embedded-broker';

const T = 1_750_000_000;
const COUNTER = `/sensor/${sid(1)}/counter`;

function flow(port: number, dataDir: string) {
  return onTab([
    {
      id: 'in',
      type: 'flm-in',
      url: `mqtt://127.0.0.1:${port}`,
      caFile: '',
      clientId: '',
      retained: 'skip',
      dataDir,
      wires: [['out']],
    },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

const warningsOf = (node: any): string[] =>
  node.warn
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => String(c.args[0]));

test("flm-in: another FLM's counter that goes back is held, then carries on from what was published, also after a restart", async () => {
  const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, wsPort: null, access: { mode: 'open' } });
  const flm = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, {
    reconnectPeriod: 0,
    clientId: 'fluksod',
  });
  try {
    await flm.publishAsync(`/device/${DEVICE_ID}/config/sensor`, JSON.stringify(flm02Config()), {
      retain: true,
      qos: 1,
    });
    await withDataDir(async (dir) => {
      const counters = (out: any[]) => out.filter((m) => m.topic === COUNTER).map((m) => m.payload[1]);
      const publish = async (values: number[], from: number) => {
        for (const [i, v] of values.entries()) await flm.publishAsync(COUNTER, `[${from + i},${v},"Wh"]`, { qos: 1 });
      };
      await helper.load(flmNodes, flow(broker.tcpPort, dir));
      let out = collect('out');
      const caught = collect('caught');
      await waitFor('the table', () => out.some((m) => m.topic.startsWith('/device/')));
      // The other FLM counts, then starts again from scratch.
      await publish([1000, 1010, 5, 6, 8, 9], T);
      await waitFor('four counters out', () => counters(out).length === 4);
      assert.deepEqual(counters(out), [1000, 1010, 1013, 1014]);
      const warns = warningsOf(helper.getNode('in'));
      assert.equal(warns.filter((w) => /counter went back from 1010 to 5: held/.test(w)).length, 1, warns.join('\n'));
      assert.ok(
        warns.some((w) => /sensor main: 3 readings in a row are below the last 1010.*carries on from 1010/.test(w)),
      );
      assert.deepEqual(caught, []);

      // A restart of Node-RED: the offset is kept; the counter carries on.
      await helper.unload();
      const kept = JSON.parse(await readFile(join(dir, 'flm-in-counters.json'), 'utf8'));
      assert.deepEqual(kept.in[sid(1)], { last: 9, offset: 1005 }, 'saved at the stop, with no reservation left');
      await helper.load(flmNodes, flow(broker.tcpPort, dir));
      out = collect('out');
      await waitFor('the table again', () => out.some((m) => m.topic.startsWith('/device/')));
      await publish([12], T + 10);
      await waitFor('the counter after the restart', () => counters(out).length === 1);
      assert.deepEqual(counters(out), [1017]);
    });
  } finally {
    await flm.endAsync(true);
    await broker.close(2000);
  }
});
