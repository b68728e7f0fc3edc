/**
 * What every ReadingStore of the Flukso server must do (core/server/store/types.ts), as tests
 * registered once per implementation: the file store and the shared database store run the same
 * suite (test/unit/server/store-contract.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadingStore } from '../../core/server/store/types';
import { decodeSeries } from '../../core/tmpo/codec';
import { syncSelection } from '../../core/api/blocks';
import type { BlockKey } from '../../core/tmpo/ids';

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
    let now = T0 + 100_000;
    await using(
      open,
      () => now,
      async ({ store }) => {
        const writes = Array.from({ length: 12 }, (_, k) => {
          const times = Array.from({ length: 200 }, (_, i) => T0 + (k % 3) * 100 + i);
          return store.addReadings('ef', 0, { times, values: times.map((t) => t - T0) });
        });
        await Promise.all(writes);
        // Nothing more comes: after sealAfter (360 s) the last window is sealed too.
        now += 400;
        await store.flush();
        const got = await samples(store, 'ef');
        assert.equal(got.length, 400);
        assert.ok(got.every(([t, v], i) => t === T0 + i && v === i));
        assert.equal(store.stats().stored, 400);
        assert.equal(store.stats().duplicates, 12 * 200 - 400);
      },
    );
  });

  test(`${name}: data days late is stored once, in a new block that starts early; weeks before the open window it is dropped`, async () => {
    let now = T0;
    await using(
      open,
      () => now,
      async ({ store }) => {
        const times = Array.from({ length: 2 * 1440 }, (_, i) => T0 + i * 60);
        await store.addReadings('cd', 0, { times, values: times.map((_, i) => i * 10) });
        now = T0 + 3 * 86400;
        await store.flush();
        const before = await store.list({ sid: 'cd' });
        assert.ok(before.length > 0);
        // Compacted as far as the data goes (the last windows, which no later data closed, stay finer).
        assert.ok(
          before.some((k) => k.lvl === 16),
          JSON.stringify(before),
        );
        // A reading 30 s after each of the first ten, three days late; one 23 days before them all.
        const late = times.slice(0, 10).map((t) => t + 30);
        await store.addReadings('cd', 0, {
          times: [...late, T0 - 2_000_000],
          values: [...late.map((_, i) => i * 10 + 5), 1],
        });
        now += 1000;
        await store.flush();
        const all = await samples(store, 'cd');
        assert.equal(all.length, times.length + 10);
        assert.deepEqual(all.slice(0, 3), [
          [T0, 0],
          [T0 + 30, 5],
          [T0 + 60, 10],
        ]);
        assert.equal(store.stats().expired, 1);
        // The blocks hold every sample once; each within 2^20 s before its window and none after it.
        const fromBlocks: Array<[number, number]> = [];
        const keys = await store.list({ sid: 'cd', rid: 0 });
        for (const k of keys) {
          const s = decodeSeries((await store.read(k))!);
          assert.ok(s.times.every((t) => t >= k.bid - 2 ** 20 && t < k.bid + 2 ** k.lvl));
          s.times.forEach((t, i) => fromBlocks.push([t, s.values[i]!]));
        }
        assert.deepEqual(
          fromBlocks.sort((x, y) => x[0] - y[0]),
          all,
        );
        // The blocks listed before are there as they were: the late readings came in a new one after them.
        const endBefore = Math.max(...before.map((k) => k.bid + 2 ** k.lvl));
        const added = keys.filter((k) => !before.some((b) => b.lvl === k.lvl && b.bid === k.bid));
        assert.ok(added.length > 0 && added.every((k) => k.bid >= endBefore), JSON.stringify(added));
        for (const k of before) assert.ok(keys.some((x) => x.lvl === k.lvl && x.bid === k.bid));
        assert.equal(await store.read({ sid: 'cd', rid: 0, lvl: 8, bid: T0 - (T0 % 256) }), undefined);
        assert.deepEqual(await store.rids('cd'), [0]);
        assert.deepEqual(await store.rids('ce'), []);
      },
    );
  });

  test(`${name}: a client that synced gets late readings at its next sync; no block it has changes`, async () => {
    let now = T0 + 10_000;
    await using(
      open,
      () => now,
      async ({ store }) => {
        const times = Array.from({ length: 51 }, (_, i) => T0 + i * 60);
        await store.addReadings('ce', 0, { times, values: times.map((_, i) => i) });
        now += 400;
        await store.flush();
        // tmpo-py's sync (test/support/tmpo-py-client.ts) on the store's list: the blocks after
        // the last one the client has, each fetched once.
        const client = new Map<string, Buffer>();
        let last = { rid: 0, lvl: 0, bid: 0 };
        const sync = async (): Promise<void> => {
          const selected = syncSelection(await store.list({ sid: 'ce' }), last);
          assert.notEqual(selected, 'inconsistent');
          for (const k of selected as BlockKey[]) {
            client.set(`${k.rid}/${k.lvl}/${k.bid}`, (await store.read(k))!);
            last = k;
          }
        };
        const clientTimes = (): number[] => {
          const t = new Set<number>();
          for (const bytes of client.values()) for (const x of decodeSeries(bytes).times) t.add(x);
          return [...t].sort((a, b) => a - b);
        };
        await sync();
        assert.deepEqual(clientTimes(), times);
        const late = [T0 + 30, T0 + 90, T0 + 2990];
        await store.addReadings('ce', 0, { times: late, values: [0.5, 1.5, 49.5] });
        now += 1000;
        await store.flush();
        await sync();
        assert.deepEqual(
          clientTimes(),
          [...times, ...late].sort((a, b) => a - b),
        );
        // What the client fetched first and the store still lists has the same bytes.
        for (const k of await store.list({ sid: 'ce' })) {
          const had = client.get(`${k.rid}/${k.lvl}/${k.bid}`);
          if (had) assert.ok(had.equals((await store.read(k))!), `block ${k.lvl}/${k.bid} changed`);
        }
      },
    );
  });

  test(`${name}: a window is listed once sealed: at once when a later reading or the device's block came, else sealAfter after its end`, async () => {
    // T0 is a multiple of 256; by the clock alone only the window T0 is sealed (it ended 444 s ago).
    let now = T0 + 700;
    await using(
      open,
      () => now,
      async ({ store }) => {
        await store.addReadings('aa', 3, { times: [T0, T0 + 300, T0 + 600], values: [1, 2, 3] });
        await store.flush();
        // The windows before the newest reading's are complete; the newest one is still open.
        assert.deepEqual(
          (await store.list({ sid: 'aa' })).map((k) => [k.rid, k.lvl, k.bid]),
          [
            [3, 8, T0],
            [3, 8, T0 + 256],
          ],
        );
        const part: number[] = [];
        await store.forEachSample('aa', 3, T0 + 1, T0 + 600, (t) => part.push(t));
        assert.deepEqual(part, [T0 + 300, T0 + 600], 'an open window is read all the same');
        // The device's block of a window seals it at once.
        await store.addReadings('ab', 0, { times: [T0 + 522, T0 + 532], values: [1, 2] }, { lvl: 8, bid: T0 + 512 });
        await store.flush();
        assert.deepEqual(
          (await store.list({ sid: 'ab' })).map((k) => k.bid),
          [T0 + 512],
        );
        // The newest reading's window is sealed sealAfter (360 s) after its end.
        now = T0 + 512 + 256 + 360;
        await store.flush();
        const got: number[] = [];
        for (const k of await store.list({ sid: 'aa' })) got.push(...decodeSeries((await store.read(k))!).times);
        assert.deepEqual(got, [T0, T0 + 300, T0 + 600]);
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
