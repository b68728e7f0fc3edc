/**
 * What every ReadingStore of the Flukso server must do (core/server/store/types.ts), as tests
 * registered once per implementation: the file store and the shared database store run the same
 * suite (test/unit/server/store-contract.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadingStore } from '../../core/server/store/types';
import { decodeSeries } from '../../core/tmpo/codec';

export interface OpenedStore {
  store: ReadingStore;
  /** A second store on the same data, as after a kill and restart (or on another instance). */
  reopen(): Promise<ReadingStore>;
  /** close what is open and remove the data */
  done(): Promise<void>;
}

/** Opens an empty store whose clock is `now`. */
export type StoreFactory = (now: () => number) => Promise<OpenedStore>;

const T0 = 1_700_000_000;

async function samples(store: ReadingStore, sid: string, from = 0, to = 2 ** 40): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  await store.forEachSample(sid, 0, from, to, (t, v) => out.push([t, v]));
  return out;
}

async function using(open: StoreFactory, now: () => number, fn: (o: OpenedStore) => Promise<void>): Promise<void> {
  const o = await open(now);
  try {
    await fn(o);
  } finally {
    await o.done();
  }
}

export function readingStoreContract(name: string, open: StoreFactory): void {
  test(`${name}: the same (sid, rid, ts) twice is one reading, from any path; the first value stays`, async () => {
    await using(
      open,
      () => T0 + 100_000,
      async ({ store }) => {
        await store.addReadings('ab', 0, { times: [T0, T0 + 10, T0 + 20], values: [1, 2, 3] });
        await store.addReadings('ab', 0, { times: [T0 + 10, T0 + 30], values: [99, 4] });
        await store.flush();
        const bid = T0 - (T0 % 256);
        await store.addReadings('ab', 0, { times: [T0, T0 + 40], values: [77, 5] }, { lvl: 8, bid });
        await store.flush();
        assert.deepEqual(await samples(store, 'ab'), [
          [T0, 1],
          [T0 + 10, 2],
          [T0 + 20, 3],
          [T0 + 30, 4],
          [T0 + 40, 5],
        ]);
        const s = store.stats();
        assert.deepEqual([s.received, s.stored, s.duplicates, s.pending], [7, 5, 2, 0]);
        assert.deepEqual(await store.lastBlock('ab'), { sid: 'ab', rid: 0, lvl: 8, bid });
        assert.equal(await store.lastBlock('cd'), undefined);
        assert.ok(store.healthy());
      },
    );
  });

  test(`${name}: concurrent writes of overlapping readings store each once`, async () => {
    await using(
      open,
      () => T0 + 100_000,
      async ({ store }) => {
        const writes = Array.from({ length: 12 }, (_, k) => {
          const times = Array.from({ length: 200 }, (_, i) => T0 + (k % 3) * 100 + i);
          return store.addReadings('ef', 0, { times, values: times.map((t) => t - T0) });
        });
        await Promise.all(writes);
        await store.flush();
        const got = await samples(store, 'ef');
        assert.equal(got.length, 400);
        assert.ok(got.every(([t, v], i) => t === T0 + i && v === i));
        assert.equal(store.stats().stored, 400);
        assert.equal(store.stats().duplicates, 12 * 200 - 400);
      },
    );
  });

  test(`${name}: late data lands in the block of its window; blocks cover every reading once`, async () => {
    let now = T0;
    await using(
      open,
      () => now,
      async ({ store }) => {
        const times = Array.from({ length: 2 * 1440 }, (_, i) => T0 + i * 60);
        await store.addReadings('cd', 0, { times, values: times.map((_, i) => i * 10) });
        now = T0 + 40 * 86400;
        await store.flush();
        const keys = await store.list({ sid: 'cd' });
        assert.ok(keys.length > 0);
        assert.ok(
          keys.every((k) => k.lvl === 20 || k.lvl === 16),
          JSON.stringify(keys),
        );
        // A reading 30 s after each of the first ten, weeks late.
        const late = times.slice(0, 10).map((t) => t + 30);
        await store.addReadings('cd', 0, { times: late, values: late.map((_, i) => i * 10 + 5) });
        await store.flush();
        const all = await samples(store, 'cd');
        assert.equal(all.length, times.length + 10);
        assert.deepEqual(all.slice(0, 3), [
          [T0, 0],
          [T0 + 30, 5],
          [T0 + 60, 10],
        ]);
        // The blocks, in list order, decode to the same samples: increasing, none twice, none missing.
        const fromBlocks: Array<[number, number]> = [];
        for (const k of await store.list({ sid: 'cd', rid: 0 })) {
          const s = decodeSeries((await store.read(k))!);
          assert.ok(s.times.every((t) => t >= k.bid && t < k.bid + 2 ** k.lvl));
          s.times.forEach((t, i) => fromBlocks.push([t, s.values[i]!]));
        }
        assert.deepEqual(fromBlocks, all);
        assert.equal(await store.read({ sid: 'cd', rid: 0, lvl: 8, bid: T0 - (T0 % 256) }), undefined);
        assert.deepEqual(await store.rids('cd'), [0]);
        assert.deepEqual(await store.rids('ce'), []);
      },
    );
  });

  test(`${name}: the current window is served as level-8 blocks`, async () => {
    const now = T0 + 1000;
    await using(
      open,
      () => now,
      async ({ store }) => {
        await store.addReadings('aa', 3, { times: [T0, T0 + 300, T0 + 600], values: [1, 2, 3] });
        await store.flush();
        const keys = await store.list({ sid: 'aa' });
        assert.ok(keys.length >= 1 && keys.every((k) => k.rid === 3 && k.lvl === 8), JSON.stringify(keys));
        const got: number[] = [];
        for (const k of keys) got.push(...decodeSeries((await store.read(k))!).times);
        assert.deepEqual(got, [T0, T0 + 300, T0 + 600]);
        const part: number[] = [];
        await store.forEachSample('aa', 3, T0 + 1, T0 + 600, (t) => part.push(t));
        assert.deepEqual(part, [T0 + 300, T0 + 600]);
      },
    );
  });

  test(`${name}: what was acknowledged is there after a restart; heartbeats are counted`, async () => {
    await using(
      open,
      () => T0 + 100,
      async (o) => {
        await o.store.addReadings('0f', 0, { times: [T0, T0 + 1], values: [1, 2] });
        await o.store.addHeartbeat('0123', true, T0);
        await o.store.addHeartbeat('0123', false, T0 + 60);
        const b = await o.reopen();
        assert.deepEqual(await samples(b, '0f'), [
          [T0, 1],
          [T0 + 1, 2],
        ]);
        assert.deepEqual(await b.deviceState('0123'), { heartbeats: 2, resets: 1, lastHeartbeat: T0 + 60 });
        assert.equal(await b.deviceState('4567'), undefined);
      },
    );
  });

  test(`${name}: bad input is refused with a clear error and stores nothing`, async () => {
    await using(
      open,
      () => T0 + 100,
      async ({ store }) => {
        await assert.rejects(store.addReadings('XY', 0, { times: [T0], values: [1] }), /invalid sensor id/);
        await assert.rejects(store.addReadings('ab', -1, { times: [T0], values: [1] }), /invalid rid/);
        await assert.rejects(store.addReadings('ab', 0, { times: [T0, 1.5], values: [1, 2] }), /invalid time/);
        await assert.rejects(store.addReadings('ab', 0, { times: [T0], values: [NaN] }), /invalid value/);
        await store.flush();
        assert.deepEqual(await samples(store, 'ab'), []);
        assert.deepEqual(await store.list({ sid: 'ab' }), []);
      },
    );
  });
}
