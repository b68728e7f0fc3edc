import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HaAnnouncer,
  REANNOUNCE_GAP_MS,
  DiscoveryRegistry,
  availabilityTopic,
  type AnnouncedEntry,
  type HaMqttMessage,
} from '../../../core/sinks/homeassistant';
import { P1_AVAILABILITY_TOPIC } from '../../../core/mqtt/topics';
import { ManualClock } from '../../support/clock';
import { device, sid, DEVICE_ID, T0 } from '../../support/device';

const P1_SID = 'b'.repeat(32);
const AVAILABILITY = availabilityTopic(DEVICE_ID);
const reading = (s: string, kind: 'gauge' | 'counter', unit: string) => ({
  topic: `/sensor/${s}/${kind}`,
  payload: [T0 / 1000, 1, unit],
});

/** An announcer on a manual clock, publishing into a list; `previous` is what the last run announced. */
function announcer(opts: { staleAfterMs?: number; previous?: string[] } = {}) {
  const clock = new ManualClock(T0);
  const sent: HaMqttMessage[] = [];
  const saved: AnnouncedEntry[] = [];
  let statusChanges = 0;
  const a = new HaAnnouncer({
    deviceId: DEVICE_ID,
    registry: new DiscoveryRegistry(device()),
    discovery: { prefix: 'homeassistant' },
    staleAfterMs: opts.staleAfterMs ?? 0,
    clock,
    publish: (msgs) => sent.push(...msgs),
    loadPrevious: () => Promise.resolve(opts.previous ?? []),
    save: (entry) => {
      saved.push(entry);
      return Promise.resolve();
    },
    onSaveError: (err) => assert.fail(String(err)),
    onStatus: () => statusChanges++,
  });
  const availability = () => sent.filter((m) => m.topic === AVAILABILITY).map((m) => m.payload);
  const configs = () => sent.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
  return { a, clock, sent, saved, availability, configs, statusChanges: () => statusChanges };
}

test('nothing goes out before start; start announces every entity once, then online, and removes what is gone', async () => {
  const gone = `homeassistant/sensor/${DEVICE_ID}/${'f'.repeat(32)}_gauge/config`;
  const h = announcer({ previous: [gone] });
  h.a.input(reading(sid(1), 'gauge', 'W'));
  assert.equal(h.sent.length, 0);
  assert.equal(h.a.status(), undefined);
  assert.equal(await h.a.start(), true);
  assert.equal(await h.a.start(), false, 'a second start (flows:started and the end of starting both) does nothing');
  assert.deepEqual(h.sent[0], { topic: gone, payload: '', retain: true, qos: 1 });
  assert.equal(h.configs().length, 8);
  assert.deepEqual(h.availability(), ['online']);
  assert.equal(h.a.entities, 8);
  assert.deepEqual(h.a.status(), { level: 'ok', text: '8 entities · homeassistant' });
  await h.a.close();
  assert.deepEqual(h.saved.at(-1)?.topics.length, 8);
});

test('a burst of birth messages is one announcement now and one after the gap, on the clock', async () => {
  const h = announcer();
  const birth = { topic: 'homeassistant/status', payload: Buffer.from('online') };
  h.a.input(birth);
  assert.equal(h.sent.length, 0, 'a birth before start is passed over');
  await h.a.start();
  const first = h.configs().length;
  h.clock.advance(5000);
  h.a.input(birth);
  assert.equal(h.configs().length, 2 * first, 'the first birth announces at once');
  for (let i = 0; i < 50; i++) h.a.input(birth);
  assert.equal(h.configs().length, 2 * first, 'the burst waits');
  h.clock.advance(REANNOUNCE_GAP_MS - 1);
  assert.equal(h.configs().length, 2 * first);
  h.clock.advance(1);
  assert.equal(h.configs().length, 3 * first, 'one more, after the gap');
  h.a.input({ topic: 'homeassistant/status', payload: 'offline' });
  h.clock.advance(10 * REANNOUNCE_GAP_MS);
  assert.equal(h.configs().length, 3 * first, "HA's offline asks for nothing");
  await h.a.close();
});

test("availability follows the source's watchdog and says offline at close", async () => {
  const h = announcer();
  await h.a.start();
  h.a.input({ topic: P1_AVAILABILITY_TOPIC, payload: 'offline' });
  assert.deepEqual(h.a.status(), { level: 'warn', text: 'source offline · 8 entities · homeassistant' });
  h.a.input({ topic: P1_AVAILABILITY_TOPIC, payload: 'offline' });
  h.a.input({ topic: P1_AVAILABILITY_TOPIC, payload: Buffer.from('online\n') });
  assert.deepEqual(h.availability(), ['online', 'offline', 'online'], 'a change each, no repeats');
  assert.throws(
    () => h.a.input({ topic: P1_AVAILABILITY_TOPIC, payload: 'maybe' }),
    /must be "online" or "offline", got "maybe"/,
  );
  await h.a.close();
  assert.deepEqual(h.availability(), ['online', 'offline', 'online', 'offline']);
  assert.equal(h.clock.timers, 0, 'no timer left');
});

test('no reading for staleAfter shows the entities unavailable; the next reading brings them back', async () => {
  const h = announcer({ staleAfterMs: 30_000 });
  await h.a.start();
  h.clock.advance(30_000);
  assert.deepEqual(h.availability(), ['online'], 'not yet: exactly the limit');
  h.clock.advance(1000);
  assert.deepEqual(h.availability(), ['online', 'offline']);
  assert.deepEqual(h.a.status(), { level: 'warn', text: 'no readings · 8 entities · homeassistant' });
  h.clock.advance(60_000);
  assert.deepEqual(h.availability(), ['online', 'offline'], 'said once');
  h.a.input(reading(sid(1), 'gauge', 'W'));
  assert.deepEqual(h.availability(), ['online', 'offline', 'online']);
  await h.a.close();
  assert.equal(h.clock.timers, 0);
});

test('a reading of an unknown sensor or an unexpected unit is announced, saved and counted; other traffic is passed over', async () => {
  const h = announcer();
  await h.a.start();
  const before = h.sent.length;
  for (const topic of [`/device/${DEVICE_ID}/config/sensor`, 'p1/telegram', 'board/batch'])
    h.a.input({ topic, payload: '{}' });
  assert.equal(h.sent.length, before);
  h.a.input({ ...reading(P1_SID, 'counter', 'Wh'), flm: { name: 'p1', type: 'electricity', deviceId: DEVICE_ID } });
  assert.equal(h.sent.length, before + 1);
  assert.match(h.sent.at(-1)!.topic, new RegExp(`${P1_SID}_counter/config$`));
  assert.equal(h.a.entities, 9);
  h.a.input(reading(sid(4), 'gauge', 'L/s'));
  assert.equal(h.sent.length, before + 2, 'water in L/s: its config again');
  assert.equal(h.a.entities, 9, 'the same entity');
  assert.throws(() => h.a.input({ topic: 'nonsense', payload: 1 }), /not a reading, .* topic "nonsense"/);
  await h.a.close();
  const last = h.saved.at(-1)!;
  assert.ok(last.seen.some((s) => s.id === P1_SID));
  assert.deepEqual(last.extra[sid(4)]?.units, { gauge: 'L/s' });
});

test('closed before start: nothing announced, no offline for entities never announced', async () => {
  const h = announcer({ staleAfterMs: 1000 });
  await h.a.close();
  assert.equal(await h.a.start(), false);
  h.clock.advance(10_000);
  assert.deepEqual(h.sent, []);
  assert.equal(h.clock.timers, 0);
});
