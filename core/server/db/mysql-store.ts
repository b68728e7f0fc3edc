import type { ResultSetHeader } from 'mysql2';
import { gzipSync, constants as zc } from 'node:zlib';
import type { Series } from '../../tmpo/block';
import { blockJson, seriesToBlock } from '../../tmpo/codec';
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
interface QueuedWrite {
  rows: Row[];
  windows: Array<[sid: string, rid: number, w12: number]>;
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
const RETRIES = 3;

/**
 * The server's readings in MariaDB/MySQL, shared by every instance that names the same database
 * (docs/protocols/server.md#shared-database):
 *
 * - A write is one transaction: its readings with INSERT IGNORE under the primary key
 *   (sid, rid, ts), so a reading that is already stored, from any instance, path or retry, is
 *   dropped and the first stored value stays; the windows it touched; the last bridged block. It
 *   resolves after COMMIT, so what the API acknowledges is in the database's redo log.
 * - TMPO blocks are not stored but built from the readings when asked for, with the layout the
 *   file store reaches by compaction: a second lies in the level-20 block of its window once that
 *   window is over, else in the level-16 block once that one is over, else level 12, else level 8.
 *   Every instance hence lists and serves the same blocks with the same bytes (the same gzip of
 *   the same JSON), and data that comes days late is simply in the block of its window.
 * - When the database does not answer, writes fail (the HTTP API answers 503, the bridge endpoint
 *   closes the device's connection and the device sends again later), `healthy()` turns false
 *   until a check every `pingMs` gets an answer again. Nothing is acknowledged that is not
 *   committed, and nothing is kept in memory meanwhile.
 */
export class MysqlReadingStore implements ReadingStore {
  private readonly counters = { received: 0, stored: 0, duplicates: 0 };
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
    fn: (q: <R = unknown>(sql: string, values?: unknown) => Promise<R>) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.db.transaction(fn);
        this.mark(true);
        return out;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') && attempt < RETRIES) continue;
        if (isUnreachable(err)) this.mark(false, err);
        throw err;
      }
    }
  }

  async addReadings(sid: string, rid: number, series: Series, block?: { lvl: number; bid: number }): Promise<void> {
    if (!isSid(sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(sid)}`);
    if (!Number.isSafeInteger(rid) || rid < 0 || rid > MAX_RID) throw new RangeError(`invalid rid ${rid}`);
    const rows: Row[] = [];
    const windows = new Set<number>();
    for (let i = 0; i < series.times.length; i++) {
      const t = series.times[i]!;
      const v = series.values[i]!;
      if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`invalid time ${t}`);
      if (!Number.isFinite(v)) throw new RangeError(`invalid value at ${t}`);
      rows.push([sid, rid, t, v]);
      windows.add(blockId(t, 12));
    }
    await this.batched({
      rows,
      windows: [...windows].map((w) => [sid, rid, w]),
      block: block && [sid, rid, block.lvl, block.bid],
    });
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
          const added = await this.commit(batch);
          this.counters.received += n;
          this.counters.stored += added;
          this.counters.duplicates += n - added;
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.writers--;
    }
  }

  private commit(batch: QueuedWrite[]): Promise<number> {
    // In key order, so two instances storing the same upload take row locks in the same order.
    const rows = batch.flatMap((b) => b.rows).sort(byKey);
    const windows = batch.flatMap((b) => b.windows).sort(byKey);
    const blocks = batch.flatMap((b) => (b.block ? [b.block] : []));
    return this.write(async (q) => {
      let added = 0;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const r = await q<ResultSetHeader>('INSERT IGNORE INTO flm_srv_readings (sid, rid, ts, v) VALUES ?', [
          rows.slice(i, i + CHUNK),
        ]);
        added += r.affectedRows;
      }
      if (windows.length > 0) await q('INSERT IGNORE INTO flm_srv_windows (sid, rid, w12) VALUES ?', [windows]);
      // In arrival order: of two blocks of one sensor in a batch, the later one is the last.
      if (blocks.length > 0)
        await q(
          `INSERT INTO flm_srv_last_blocks (sid, rid, lvl, bid) VALUES ?
           ON DUPLICATE KEY UPDATE rid = VALUES(rid), lvl = VALUES(lvl), bid = VALUES(bid)`,
          [blocks],
        );
      return added;
    });
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
    const now = this.now();
    const keys = new Map<string, BlockKey>();
    for (const [sid, rid, w12] of rows) {
      const lvl = levelAt(Number(w12), now);
      if (lvl === 8) {
        // The one window still filling (or ahead of the clock): its level-8 blocks from the readings.
        const bids = await this.ask<Array<[number]>>(
          {
            sql: `SELECT DISTINCT ts - ts % 256 FROM flm_srv_readings WHERE sid = ? AND rid = ? AND ts >= ? AND ts < ?`,
            rowsAsArray: true,
          },
          [sid, rid, w12, Number(w12) + span(12)],
        );
        for (const [bid] of bids) keys.set(`${sid}/${rid}/8/${bid}`, { sid, rid, lvl: 8, bid: Number(bid) });
      } else {
        const bid = blockId(Number(w12), lvl);
        keys.set(`${sid}/${rid}/${lvl}/${bid}`, { sid, rid, lvl, bid });
      }
    }
    return [...keys.values()].sort(compareKeys);
  }

  async read(key: BlockKey): Promise<Buffer | undefined> {
    if (!isSid(key.sid) || !isLevel(key.lvl) || !isBlockId(key.lvl, key.bid) || !Number.isSafeInteger(key.rid))
      return undefined;
    // Only the block the layout has now; a finer one that compaction would have merged is gone.
    if (levelAt(key.bid, this.now()) !== key.lvl) return undefined;
    const series: Series = { times: [], values: [] };
    await this.forEachSample(key.sid, key.rid, key.bid, blockEnd(key.lvl, key.bid) - 1, (t, v) => {
      series.times.push(t);
      series.values.push(v);
    });
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
    return { ...this.counters, pending: 0, checkpoints: 0, compactions: 0, walBytes: 0 };
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
 * The level of the block that holds second `t` at time `now`: the highest level whose window
 * around `t` is over, as compaction leaves it (parentWindowPast in core/tmpo/ids.ts), else 8.
 */
function levelAt(t: number, now: number): Level {
  for (const lvl of [20, 16, 12] as const) if (blockEnd(lvl, blockId(t, lvl)) <= now) return lvl;
  return 8;
}
