import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HomieDevice, tableSensor, homieId, type HomieMessage } from '../../../core/sinks/openhab';
import { checkHomie, type Retained } from '../../support/homie';
import { device, sid, DEVICE_ID, HOUSEHOLD_SENSORS } from '../../support/device';

/** What a broker keeps after these messages: the last retained one per topic, none for an empty payload. */
function retained(msgs: HomieMessage[], into = new Map<string, Retained>()): Map<string, Retained> {
  for (const m of msgs) {
    assert.equal(m.retain, true, m.topic);
    assert.equal(m.qos, 1);
    if (m.payload === '') into.delete(m.topic);
    else into.set(m.topic, { payload: m.payload, retain: m.retain });
  }
  return into;
}

const household = () =>
  new HomieDevice(
    DEVICE_ID,
    device()
      .sensors.filter((s) => s.enable)
      .map(tableSensor),
    { implementation: 'node-red-contrib-fluksometer' },
  );

test('the FLM as a Homie 4 device: init, attributes, nodes, properties, ready', () => {
  const d = household();
  const msgs = d.announce();
  assert.deepEqual(msgs[0], { topic: `homie/${DEVICE_ID}/$state`, payload: 'init', retain: true, qos: 1 });
  assert.deepEqual(msgs.at(-1), { topic: `homie/${DEVICE_ID}/$state`, payload: 'ready', retain: true, qos: 1 });
  const broker = retained(msgs);
  assert.deepEqual(checkHomie(broker).problems, []);
  const get = (t: string) => broker.get(`homie/${DEVICE_ID}/${t}`)?.payload;
  assert.equal(get('$homie'), '4.0.0');
  assert.equal(get('$name'), 'Fluksometer 01234567');
  assert.equal(get('$nodes'), 'main,solar,gas,water');
  assert.equal(get('main/$properties'), 'energy,power');
  assert.equal(get('main/$type'), 'electricity');
  assert.equal(get('main/power/$datatype'), 'float');
  assert.equal(get('main/power/$unit'), 'W');
  assert.equal(get('main/power/$name'), 'main power');
  assert.equal(get('gas/$properties'), 'volume,flow');
  assert.equal(get('gas/volume/$unit'), 'L');
  assert.equal(get('gas/flow/$unit'), 'L/day');
  // Values on the property topics.
  retained([d.value(sid(1), 'gauge', 157.4)!, d.value(sid(3), 'counter', 0.1 + 0.2)!], broker);
  assert.equal(get('main/power'), '157.4');
  assert.equal(get('gas/volume'), '0.3');
  assert.equal(d.value(sid(9), 'gauge', 1), undefined);
  assert.deepEqual(checkHomie(broker, 'homie', { requireValues: false }).problems, []);
});

test('a sensor learnt from a reading: back to init, the description grows, ready again', () => {
  const d = household();
  const broker = retained(d.announce());
  const msgs = d.learn({ sid: sid(7), name: 'p1', type: 'electricity' }, 'counter', 'Wh');
  assert.equal(msgs[0]!.payload, 'init');
  assert.equal(msgs.at(-1)!.payload, 'ready');
  retained(msgs, broker);
  assert.equal(broker.get(`homie/${DEVICE_ID}/$nodes`)!.payload, 'main,solar,gas,water,p1');
  assert.deepEqual(d.learn({ sid: sid(7), name: 'p1', type: 'electricity' }, 'counter', 'Wh'), [], 'known: nothing');
  retained(d.learn({ sid: sid(7), name: 'p1', type: 'electricity' }, 'gauge', 'W'), broker);
  assert.equal(broker.get(`homie/${DEVICE_ID}/p1/$properties`)!.payload, 'energy,power');
  retained([d.value(sid(7), 'gauge', -320)!], broker);
  assert.deepEqual(checkHomie(broker).problems, []);
});

test('sensors gone since the last announce are cleared; names that collide get unique ids', () => {
  const before = household();
  const broker = retained(before.announce());
  retained([before.value(sid(4), 'counter', 5)!], broker);
  const sensors = HOUSEHOLD_SENSORS.map((s) => (s.name === 'water' ? { ...s, enable: false } : s));
  const after = new HomieDevice(
    DEVICE_ID,
    device(sensors)
      .sensors.filter((s) => s.enable)
      .map(tableSensor),
  );
  retained(after.announce(before.structure()), broker);
  assert.deepEqual(
    [...broker.keys()].filter((t) => t.includes('/water')),
    [],
  );
  assert.deepEqual(checkHomie(broker).problems, []);

  const twins = new HomieDevice(DEVICE_ID, [
    { sid: sid(1), name: 'Main', type: 'electricity', kinds: ['gauge'], units: { gauge: 'W' } },
    { sid: sid(2), name: 'main', type: 'electricity', kinds: ['gauge'], units: { gauge: 'W' } },
    { sid: sid(3), name: '!!', type: 'error', kinds: ['gauge'], units: { gauge: '' } },
  ]);
  assert.deepEqual(
    twins.nodeList.map((n) => n.id),
    ['main', `main-${sid(2).slice(0, 8)}`, `sensor-${sid(3).slice(0, 8)}`],
  );
  const b = retained([...twins.announce(), twins.value(sid(3), 'gauge', 1)!]);
  assert.deepEqual(checkHomie(b).problems, []);
  assert.equal(b.has(`homie/${DEVICE_ID}/sensor-${sid(3).slice(0, 8)}/error/$unit`), false, 'no empty $unit');
  assert.equal(homieId('Solar Roof_2'), 'solar-roof-2');
});

test('the Homie checker finds what breaks the convention', () => {
  const d = household();
  const ok = retained(d.announce());
  const broken = (edit: (m: Map<string, Retained>) => void) => {
    const m = new Map(ok);
    edit(m);
    return checkHomie(m).problems.join('\n');
  };
  const base = `homie/${DEVICE_ID}`;
  assert.match(
    broken((m) => m.delete(`${base}/$homie`)),
    /\$homie: missing/,
  );
  assert.match(
    broken((m) => m.set(`${base}/$homie`, { payload: '3.0.1', retain: true })),
    /not a 4.x version/,
  );
  assert.match(
    broken((m) => m.set(`${base}/$state`, { payload: 'online', retain: true })),
    /\$state: "online"/,
  );
  assert.match(
    broken((m) => m.delete(`${base}/main/power/$datatype`)),
    /main\/power\/\$datatype: missing/,
  );
  assert.match(
    broken((m) => m.set(`${base}/main/power/$datatype`, { payload: 'number', retain: true })),
    /not one of integer/,
  );
  assert.match(
    broken((m) => m.set(`${base}/main/power`, { payload: '1,5', retain: true })),
    /not a float payload/,
  );
  assert.match(
    broken((m) => m.set(`${base}/main/power`, { payload: '15', retain: false })),
    /not retained/,
  );
  assert.match(
    broken((m) => m.set(`${base}/$nodes`, { payload: 'main,Solar', retain: true })),
    /"Solar" is not a valid node id/,
  );
  assert.match(
    broken((m) => m.set(`${base}/$nodes`, { payload: 'main,-x', retain: true })),
    /"-x" is not a valid node id/,
  );
  assert.match(
    broken((m) => m.set(`${base}/old/$name`, { payload: 'x', retain: true })),
    /old\/\$name: not part of any described/,
  );
  assert.match(
    broken((m) => m.set(`homie/Bad_Id/$homie`, { payload: '4.0.0', retain: true })),
    /"Bad_Id" is not a valid device id/,
  );
  assert.match(
    broken(
      (m) =>
        m.set(`${base}/main/power/$format`, { payload: '', retain: true }) &&
        m.set(`${base}/main/power/$datatype`, { payload: 'enum', retain: true }),
    ),
    /\$format: required for enum/,
  );
});

test('a device with no node yet stays in init; the first sensors described make it ready, gone ones are cleared', () => {
  const d = new HomieDevice(DEVICE_ID, []);
  const first = d.announce({ main: ['power', 'energy'] });
  assert.equal(first.filter((m) => m.topic.endsWith('/$state')).at(-1)?.payload, 'init');
  const broker = retained(first);
  assert.equal(broker.get(`homie/${DEVICE_ID}/$nodes`), undefined, 'an empty $nodes deletes the old one');
  assert.equal(broker.get(`homie/${DEVICE_ID}/main/$name`), undefined);
  assert.deepEqual(d.describe([]), [], 'nothing changed: nothing to say');
  const grid = tableSensor(device().sensors[0]!);
  retained(d.describe([{ ...grid, sid: sid(9), name: 'grid' }]), broker);
  assert.deepEqual(checkHomie(broker).problems, []);
  assert.equal(broker.get(`homie/${DEVICE_ID}/$nodes`)?.payload, 'grid');
  assert.equal(broker.get(`homie/${DEVICE_ID}/$state`)?.payload, 'ready');
  retained(d.describe([]), broker);
  assert.equal(broker.get(`homie/${DEVICE_ID}/$state`)?.payload, 'init');
  assert.deepEqual(
    [...broker.keys()].filter((t) => t.includes('/grid')),
    [],
    'the node gone is cleared',
  );
});
