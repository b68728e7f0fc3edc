import type { ResultSetHeader } from 'mysql2';
import { gzipSync, constants as zc } from 'node:zlib';
import type { Series } from '../../tmpo/block';
import { blockJson, seriesToBlock } from '../../tmpo/codec';
import { MAX_LEAD_SECONDS } from '../../tmpo/verify';
import {
  blockEnd,
  blockId,
  compareKeys,
  isBlockId,
  isLevel,
  isSid,
  span,
  type BlockKey,
  type Level,
} from '../../tmpo/ids';
import type { BridgeSyncEntry } from '../bridge/backend';
import {
  StoreUnavailableError,
  type CfgSource,
  type DeviceState,
  type ReadingStore,
  type StoreStats,
} from '../store/types';
import { isUnreachable, type ServerDb, type Statement } from './pool';

export interface MysqlStoreOptions {
  /** the pool; the store ends it when it closes */
  db: ServerDb;
  /** makes the tables (and reads the registry) the first time the database answers */
  prepare?: () => Promise<void>;
  /** what goes into `h.cfg` of the blocks the store serves */
  cfg?: CfgSource;
  /** Unix seconds; tests pin it */
  now?: () => number;
  /** seconds after its end that a quiet sensor's window is sealed (default 360, see FileStoreOptions) */
  sealAfter?: number;
  /** how often the store checks that the database answers (default 2 s) */
  pingMs?: number;
  /** the database went away or came back, or a background check failed */
  onError?: (err: Error) => void;
}

/** Rows per INSERT: far below max_allowed_packet (16 MiB on MariaDB) at ~40 bytes a row. */
const CHUNK = 5000;
/** Transactions of queued writes at once (each on a connection of its own). */
const WRITERS = 4;

type Row = [sid: string, rid: number, ts: number, v: number];
/** a row as inserted: `w8` null for a reading in its own window */
type PlacedRow = [sid: string, rid: number, ts: number, v: number, w8: number | null];
interface QueuedWrite {
  rows: Row[];
  block: [sid: string, rid: number, lvl: number, bid: number] | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const byKey = (a: [string, number, number, ...unknown[]], b: [string, number, number, ...unknown[]]): number =>
  (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[1] - b[1] || a[2] - b[2];
/** Rows per SELECT page of a long read. */
const PAGE = 50_000;
const MAX_RID = 0xffffffff;
/** A transaction that lost a deadlock (two instances storing the same retried upload) runs again. */
const RETRIES = 6;

/**
 * The server's readings in MariaDB/MySQL, shared by every instance that names the same database
 * (docs/protocols/server.md#shared-database):
 *
 * - A write is one transaction: its readings with INSERT IGNORE under the primary key
 *   (sid, rid, ts), so a reading that is already stored, from any instance, path or retry, is
 *   dropped and the first stored value stays; the windows it touched; the last bridged block. It
 *   resolves after COMMIT, so what the API acknowledges is in the database's redo log.
 * - TMPO blocks are not stored but built from the readings when asked for, with the layout the
 *   file store reaches by compaction: a window lies in the level-20 block around it once that
 *   one is sealed, else in the level-16 block once that one is sealed, else level 12, else level
 *   8; a window not yet sealed is not listed. Every instance hence lists and serves the same
 *   blocks with the same bytes (the same gzip of the same JSON).
 * - A listed block never changes (docs/protocols/server.md#store): a window is sealed once a
 *   later reading of the sensor or the device's block of it came (`flm_srv_sealed`, raised in the
 *   write's transaction) or `sealAfter` seconds after its end (after the newest reading's
 *   window: once nothing came for that long; each instance's clock: keep them in time). A reading whose own window lies
 *   before the sensor's last block that may have been listed is served in the window after it,
 *   a block that starts early (`w8`), unless it is stored already or more than 2^20 s before it.
 * - When the database does not answer, writes fail (the HTTP API answers 503, the bridge endpoint
 *   closes the device's connection and the device sends again later), `healthy()` turns false
 *   until a check every `pingMs` gets an answer again. Nothing is acknowledged that is not
 *   committed, and nothing is kept in memory meanwhile.
 */
export class MysqlReadingStore implements ReadingStore {
  private readonly counters = { received: 0, stored: 0, duplicates: 0, expired: 0 };
  private readonly now: () => number;
  private readonly db: ServerDb;
  private up = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly queue: QueuedWrite[] = [];
  private writers = 0;

  private constructor(private readonly opts: MysqlStoreOptions) {
    this.db = opts.db;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The store on the pool; `upNow` when `prepare` has run. Checks the database from now on. */
  static open(opts: MysqlStoreOptions, upNow: boolean): MysqlReadingStore {
    const store = new MysqlReadingStore(opts);
    store.up = upNow;
    store.timer = setInterval(() => void store.check(), opts.pingMs ?? 2000);
    store.timer.unref();
    return store;
  }

  /** Ask the database for an answer; `healthy()` follows. */
  check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        await this.opts.prepare?.();
        await this.db.query('SELECT 1');
        this.mark(true);
      } catch (err) {
        this.mark(false, err);
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  private mark(up: boolean, err?: unknown): void {
    if (up === this.up || this.closed) return;
    this.up = up;
    this.opts.onError?.(
      up
        ? new Error(`database ${this.db.database} answers again; taking data`)
        : new Error(
            `database ${this.db.database} is away (${(err as Error)?.message}); refusing data until it is back`,
          ),
    );
  }

  /** Run a write; a database that is away marks the store down at once (503 on /health). */
  private async write<T>(
    fn: (q: <R = unknown>(sql: Statement, values?: unknown) => Promise<R>) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.db.transaction(fn);
        this.mark(true);
        return out;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') && attempt < RETRIES) {
          // Two writers that deadlocked and retry at once tend to meet again: part them a little.
          await new Promise((r) => setTimeout(r, attempt * 20 + Math.random() * 30));
          continue;
        }
        if (isUnreachable(err)) this.mark(false, err);
        throw err;
      }
    }
  }

  async addReadings(sid: string, rid: number, series: Series, block?: { lvl: number; bid: number }): Promise<void> {
    if (!isSid(sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(sid)}`);
    if (!Number.isSafeInteger(rid) || rid < 0 || rid > MAX_RID) throw new RangeError(`invalid rid ${rid}`);
    const rows: Row[] = [];
    for (let i = 0; i < series.times.length; i++) {
      const t = series.times[i]!;
      const v = series.values[i]!;
      if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`invalid time ${t}`);
      if (!Number.isFinite(v)) throw new RangeError(`invalid value at ${t}`);
      rows.push([sid, rid, t, v]);
    }
    await this.batched({ rows, block: block && [sid, rid, block.lvl, block.bid] });
  }

  /**
   * Writes that arrive while others are being committed go out together: one transaction, one
   * multi-row INSERT, one redo log flush for many uploads. Each caller's promise settles with the
   * transaction that carried its rows, so nothing resolves before its COMMIT.
   */
  private batched(w: Omit<QueuedWrite, 'resolve' | 'reject'>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...w, resolve, reject });
      if (this.writers < WRITERS) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writers++;
    try {
      while (this.queue.length > 0) {
        const batch: QueuedWrite[] = [];
        let n = 0;
        while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0]!.rows.length <= CHUNK)) {
          const next = this.queue.shift()!;
          batch.push(next);
          n += next.rows.length;
        }
        try {
          const { added, expired } = await this.commit(batch);
          this.counters.received += n;
          this.counters.stored += added;
          this.counters.expired += expired;
          this.counters.duplicates += n - added - expired;
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.writers--;
    }
  }

  private commit(batch: QueuedWrite[]): Promise<{ added: number; expired: number }> {
    // In key order, so two instances storing the same upload take row locks in the same order.
    const rows = batch.flatMap((b) => b.rows).sort(byKey);
    const blocks = batch.flatMap((b) => (b.block ? [b.block] : []));
    const sensors = new Map<string, { sid: string; rid: number; newest: number; done: number }>();
    for (const [sid, rid, ts] of rows) {
      const k = `${sid}/${rid}`;
      const e = sensors.get(k) ?? { sid, rid, newest: 0, done: 0 };
      e.newest = Math.max(e.newest, ts);
      sensors.set(k, e);
    }
    for (const [sid, rid, lvl, bid] of blocks) {
      const k = `${sid}/${rid}`;
      const e = sensors.get(k) ?? { sid, rid, newest: 0, done: 0 };
      // The device sends a block once it is done with its window.
      if (isLevel(lvl)) e.done = Math.max(e.done, blockEnd(lvl, bid));
      sensors.set(k, e);
    }
    const keys = [...sensors.values()].sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : a.rid - b.rid));
    return this.write(async (q) => {
      // Locked till COMMIT: what this write places cannot be listed, nor placed by another write, meanwhile.
      const states = await this.sealedFor(q, keys, true);
      const placed: PlacedRow[] = [];
      const late: PlacedRow[] = [];
      let expired = 0;
      const lastW8 = new Map<string, number>();
      for (const [sid, rid, ts, v] of rows) {
        const k = `${sid}/${rid}`;
        const next = states.get(k)!.next;
        const own = blockId(ts, 8);
        // A reading whose own window lies before the sensor's last listed block goes after it.
        if (own >= next) placed.push([sid, rid, ts, v, null]);
        else if (next - ts > MAX_LEAD_SECONDS) expired++;
        else late.push([sid, rid, ts, v, next]);
      }
      // A late reading stored already stays where it is (its window is not touched).
      placed.push(...(await this.notStored(q, late)));
      let added = 0;
      for (let i = 0; i < placed.length; i += CHUNK) {
        const r = await q<ResultSetHeader>('INSERT IGNORE INTO flm_srv_readings (sid, rid, ts, v, w8) VALUES ?', [
          placed.slice(i, i + CHUNK),
        ]);
        added += r.affectedRows;
      }
      const windows = new Map<string, [string, number, number]>();
      for (const [sid, rid, ts, , w8] of placed) {
        const w = w8 ?? blockId(ts, 8);
        windows.set(`${sid}/${rid}/${blockId(w, 12)}`, [sid, rid, blockId(w, 12)]);
        lastW8.set(`${sid}/${rid}`, Math.max(lastW8.get(`${sid}/${rid}`) ?? 0, w));
      }
      if (windows.size > 0)
        await q('INSERT IGNORE INTO flm_srv_windows (sid, rid, w12) VALUES ?', [[...windows.values()].sort(byKey)]);
      // One source sends a sensor's readings in time order: the windows before the newest one's are complete.
      const marks = keys.map((e) => {
        const k = `${e.sid}/${e.rid}`;
        const arrived = this.now();
        return [e.sid, e.rid, Math.max(blockId(e.newest, 8), e.done), lastW8.get(k) ?? states.get(k)!.lastW8, arrived];
      });
      await q(
        `INSERT INTO flm_srv_sealed (sid, rid, below, last_w8, arrived) VALUES ?
         ON DUPLICATE KEY UPDATE below = GREATEST(below, VALUES(below)), last_w8 = GREATEST(last_w8, VALUES(last_w8)),
           arrived = GREATEST(arrived, VALUES(arrived))`,
        [marks],
      );
      // In arrival order: of two blocks of one sensor in a batch, the later one is the last.
      if (blocks.length > 0)
        await q(
          `INSERT INTO flm_srv_last_blocks (sid, rid, lvl, bid) VALUES ?
           ON DUPLICATE KEY UPDATE rid = VALUES(rid), lvl = VALUES(lvl), bid = VALUES(bid)`,
          [blocks],
        );
      return { added, expired };
    });
  }

  /** The late rows whose (sid, rid, ts) is not stored yet. */
  private async notStored(
    q: <R = unknown>(sql: Statement, values?: unknown) => Promise<R>,
    late: PlacedRow[],
  ): Promise<PlacedRow[]> {
    if (late.length === 0) return [];
    const stored = new Set<string>();
    for (let i = 0; i < late.length; i += CHUNK) {
      const found = await q<Array<[string, number, number]>>(
        { sql: 'SELECT sid, rid, ts FROM flm_srv_readings WHERE (sid, rid, ts) IN (?)', rowsAsArray: true },
        [late.slice(i, i + CHUNK).map(([sid, rid, ts]) => [sid, rid, ts])],
      );
      for (const [sid, rid, ts] of found) stored.add(`${sid}/${rid}/${Number(ts)}`);
    }
    return late.filter(([sid, rid, ts]) => !stored.has(`${sid}/${rid}/${ts}`));
  }

  /**
   * Per `sid/rid`:
   * - `sealed`: the start of its first window not sealed: the stored mark, or the clock's up to the
   *   newest reading's window, or beyond it once the sensor sent nothing for `sealAfter` seconds
   *   (while data comes, a sensor catching up would see its late readings run ahead of its data
   *   one window per write); level-8 blocks before it are listed.
   * - `layout`: the windows before it are sealed and hold all they ever will (a later reading or
   *   block came, or a later window serves readings); the compacted layout (levelAt) follows it,
   *   not the clock alone, so a sensor catching up on days of data does not see its blocks run
   *   ahead of its readings.
   * - `next`: no block at or after it can have been listed, so a late reading goes there: the
   *   end of the block holding the latest window that serves readings, or `sealed` while that
   *   window is still open.
   * `lock`: FOR UPDATE, inside a write's transaction.
   */
  private async sealedFor(
    q: <R = unknown>(sql: Statement, values?: unknown) => Promise<R>,
    keys: Array<{ sid: string; rid: number }>,
    lock: boolean,
  ): Promise<Map<string, { sealed: number; layout: number; lastW8: number; next: number }>> {
    const after = this.opts.sealAfter ?? 360;
    const now = this.now();
    const byTime = blockId(now - after, 8);
    const out = new Map(keys.map((k) => [`${k.sid}/${k.rid}`, { sealed: byTime, layout: 0, lastW8: 0, next: 0 }]));
    if (keys.length === 0) return out;
    const rows = await q<Array<[string, number, number, number, number]>>(
      {
        sql: `SELECT sid, rid, below, last_w8, arrived FROM flm_srv_sealed WHERE (sid, rid) IN (?)${lock ? ' FOR UPDATE' : ''}`,
        rowsAsArray: true,
      },
      [keys.map((k) => [k.sid, k.rid])],
    );
    for (const [sid, rid, below, last, arrived] of rows) {
      const lastW8 = Number(last);
      const mark = Number(below);
      const sealed = Math.max(mark, Math.min(byTime, mark + 256), now - Number(arrived) >= after ? byTime : 0);
      const layout = Math.min(sealed, Math.max(Number(below), lastW8 + 256));
      const lvl = levelAt(lastW8, layout);
      const next = lastW8 < sealed ? blockEnd(lvl, blockId(lastW8, lvl)) : sealed;
      out.set(`${sid}/${rid}`, { sealed, layout, lastW8, next });
    }
    return out;
  }

  async addHeartbeat(did: string, reset: boolean, at: number): Promise<void> {
    if (this.closed) throw new Error('the store is closed');
    await this.write((q) =>
      q(
        `INSERT INTO flm_srv_heartbeats (did, heartbeats, resets, last_heartbeat) VALUES (?, 1, ?, ?)
         ON DUPLICATE KEY UPDATE heartbeats = heartbeats + 1, resets = resets + VALUES(resets),
           last_heartbeat = GREATEST(last_heartbeat, VALUES(last_heartbeat))`,
        [did, reset ? 1 : 0, at],
      ),
    );
  }

  // --- reading -----------------------------------------------------------------------------

  /** A read; a database that is away is StoreUnavailableError (503), anything else as it is. */
  private async ask<T>(sql: Statement, values: unknown[]): Promise<T> {
    try {
      return await this.db.query<T>(sql, values);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.mark(false, err);
      throw new StoreUnavailableError(`the database is away: ${(err as Error).message}`);
    }
  }

  async list(filter: { sid?: string; rid?: number } = {}): Promise<BlockKey[]> {
    if (filter.sid !== undefined && !isSid(filter.sid)) return [];
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.sid !== undefined) {
      where.push('sid = ?');
      values.push(filter.sid);
    }
    if (filter.rid !== undefined) {
      where.push('rid = ?');
      values.push(filter.rid);
    }
    const rows = await this.ask<Array<[string, number, number]>>(
      {
        sql: `SELECT sid, rid, w12 FROM flm_srv_windows${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
        rowsAsArray: true,
      },
      values,
    );
    const sensors = new Map<string, { sid: string; rid: number }>();
    for (const [sid, rid] of rows) sensors.set(`${sid}/${rid}`, { sid, rid: Number(rid) });
    const sealed = await this.sealedFor((sql, v) => this.ask(sql, v as unknown[]), [...sensors.values()], false);
    const keys = new Map<string, BlockKey>();
    for (const [sid, rid, w12] of rows) {
      const { sealed: below, layout } = sealed.get(`${sid}/${rid}`)!;
      const lvl = levelAt(Number(w12), layout);
      if (lvl === 8) {
        // A level-12 window not sealed whole: its sealed level-8 windows, from the readings.
        for (const bid of await this.placedWindows(sid, Number(rid), Number(w12)))
          if (bid < below) keys.set(`${sid}/${rid}/8/${bid}`, { sid, rid: Number(rid), lvl: 8, bid });
      } else {
        const bid = blockId(Number(w12), lvl);
        keys.set(`${sid}/${rid}/${lvl}/${bid}`, { sid, rid: Number(rid), lvl, bid });
      }
    }
    return [...keys.values()].sort(compareKeys);
  }

  async read(key: BlockKey): Promise<Buffer | undefined> {
    if (!isSid(key.sid) || !isLevel(key.lvl) || !isBlockId(key.lvl, key.bid) || !Number.isSafeInteger(key.rid))
      return undefined;
    const { sealed, layout } = (
      await this.sealedFor((sql, v) => this.ask(sql, v as unknown[]), [{ sid: key.sid, rid: key.rid }], false)
    ).get(`${key.sid}/${key.rid}`)!;
    // Only a sealed block, as the layout has it now; a finer one that compaction would have merged is gone.
    if (levelAt(key.bid, layout) !== key.lvl || blockEnd(key.lvl, key.bid) > sealed) return undefined;
    const series = await this.placedIn(key);
    if (series.times.length === 0) return undefined;
    const cfg = this.opts.cfg?.(key.sid, key.rid) ?? { id: key.sid, rid: key.rid, data_type: 'counter' };
    return gzipSync(blockJson(seriesToBlock(series, cfg)), { level: 6, strategy: zc.Z_FILTERED });
  }

  async forEachSample(
    sid: string,
    rid: number,
    from: number,
    to: number,
    visit: (t: number, v: number) => void,
  ): Promise<void> {
    if (!isSid(sid) || !Number.isSafeInteger(rid)) return;
    let after = Math.max(-1, Math.floor(from) - 1);
    for (;;) {
      const rows = await this.ask<Array<[number, number]>>(
        {
          sql: 'SELECT ts, v FROM flm_srv_readings WHERE sid = ? AND rid = ? AND ts > ? AND ts <= ? ORDER BY ts LIMIT ?',
          rowsAsArray: true,
        },
        [sid, rid, after, Math.floor(to), PAGE],
      );
      for (const [t, v] of rows) visit(Number(t), v);
      if (rows.length < PAGE) return;
      after = Number(rows[rows.length - 1]![0]);
    }
  }

  /** The level-8 windows of a level-12 window that serve readings. */
  private async placedWindows(sid: string, rid: number, w12: number): Promise<number[]> {
    const end = w12 + span(12);
    const own = await this.ask<Array<[number]>>(
      {
        sql: `SELECT DISTINCT ts - ts % 256 FROM flm_srv_readings WHERE sid = ? AND rid = ? AND ts >= ? AND ts < ? AND w8 IS NULL`,
        rowsAsArray: true,
      },
      [sid, rid, w12, end],
    );
    const early = await this.ask<Array<[number]>>(
      {
        sql: `SELECT DISTINCT w8 FROM flm_srv_readings WHERE sid = ? AND rid = ? AND w8 >= ? AND w8 < ?`,
        rowsAsArray: true,
      },
      [sid, rid, w12, end],
    );
    return [...new Set([...own, ...early].map(([b]) => Number(b)))].sort((a, b) => a - b);
  }

  /** The readings a block serves: those of its windows, and those placed in them late; ascending. */
  private async placedIn(key: BlockKey): Promise<Series> {
    const end = blockEnd(key.lvl, key.bid);
    const [own, early] = await Promise.all([
      this.ask<Array<[number, number]>>(
        {
          sql: 'SELECT ts, v FROM flm_srv_readings WHERE sid = ? AND rid = ? AND ts >= ? AND ts < ? AND w8 IS NULL ORDER BY ts',
          rowsAsArray: true,
        },
        [key.sid, key.rid, key.bid, end],
      ),
      this.ask<Array<[number, number]>>(
        {
          sql: 'SELECT ts, v FROM flm_srv_readings WHERE sid = ? AND rid = ? AND w8 >= ? AND w8 < ? ORDER BY ts',
          rowsAsArray: true,
        },
        [key.sid, key.rid, key.bid, end],
      ),
    ]);
    const rows = early.length === 0 ? own : [...early, ...own].sort((a, b) => Number(a[0]) - Number(b[0]));
    return { times: rows.map(([t]) => Number(t)), values: rows.map(([, v]) => v) };
  }

  async rids(sid: string): Promise<number[]> {
    if (!isSid(sid)) return [];
    const rows = await this.ask<Array<[number]>>(
      { sql: 'SELECT DISTINCT rid FROM flm_srv_windows WHERE sid = ? ORDER BY rid', rowsAsArray: true },
      [sid],
    );
    return rows.map(([r]) => Number(r));
  }

  async lastBlock(sid: string): Promise<BridgeSyncEntry | undefined> {
    const rows = await this.ask<Array<{ rid: number; lvl: number; bid: number }>>(
      'SELECT rid, lvl, bid FROM flm_srv_last_blocks WHERE sid = ?',
      [sid],
    );
    const r = rows[0];
    return r && { sid, rid: Number(r.rid), lvl: Number(r.lvl), bid: Number(r.bid) };
  }

  async deviceState(did: string): Promise<DeviceState | undefined> {
    const rows = await this.ask<Array<{ heartbeats: number; resets: number; last_heartbeat: number }>>(
      'SELECT heartbeats, resets, last_heartbeat FROM flm_srv_heartbeats WHERE did = ?',
      [did],
    );
    const r = rows[0];
    return r && { heartbeats: Number(r.heartbeats), resets: Number(r.resets), lastHeartbeat: Number(r.last_heartbeat) };
  }

  /** Nothing waits: a write resolved after its COMMIT. */
  async flush(): Promise<void> {}

  healthy(): boolean {
    return this.up && !this.closed;
  }

  /** This instance's counts since start; nothing waits in memory, there is no log and no compaction. */
  stats(): StoreStats {
    return { ...this.counters, pending: 0, open: 0, checkpoints: 0, compactions: 0, walBytes: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Writes already taken finish (or fail) before the pool goes.
    while (this.writers > 0) await new Promise((r) => setTimeout(r, 10));
    await this.checking;
    await this.db.end().catch(() => undefined);
  }
}

/**
 * The level of the block that serves window `t` of a sensor whose windows before `layout` are
 * sealed and hold all they ever will: the highest level whose window around `t` is so, as
 * compaction leaves it, else 8.
 */
function levelAt(t: number, layout: number): Level {
  for (const lvl of [20, 16, 12] as const) if (blockEnd(lvl, blockId(t, lvl)) <= layout) return lvl;
  return 8;
}
