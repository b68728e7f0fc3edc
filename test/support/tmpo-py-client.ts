import { gunzipSync } from 'node:zlib';

/**
 * tmpo-py's Session (flukso/tmpo-py 0.2.10, docs/protocols/tmpo.md#http-sync-api) redone in
 * TypeScript for tests: what a tmpo-py user pointed at our server would get. It keeps its own
 * "SQLite" rows and decodes blocks its own way (regex + cumulative sum, as `_blk2series`), not
 * through our codec, so a test against it checks our blocks and our sync answers, not our reader.
 */

export interface TmpoPyRow {
  sid: string;
  rid: number;
  lvl: number;
  bid: number;
  ext: string;
  /** tmpo-py stores time.time() at download; a counter gives the same order without ties */
  created: number;
  data: Buffer;
}

export interface TmpoPyOptions {
  /** requests_futures pool size (tmpo-py's default 16) */
  workers?: number;
  /** Unix seconds, for the poll throttle */
  now?: () => number;
  /** tmpo-py sends headers; tmpo-js the query string */
  auth?: 'headers' | 'query';
}

/** `^\{"h":(\{.+?\}),"t":(\[.+?\]),"v":(\[.+?\])\}$`: tmpo-py matches, it does not parse the block whole. */
const RE_JSON_BLK = /^\{"h":(\{.+?\}),"t":(\[.+?\]),"v":(\[.+?\])\}$/;

export class TmpoPyClient {
  readonly rows: TmpoPyRow[] = [];
  private readonly sensors = new Map<string, string>();
  private created = 0;
  private readonly workers: number;
  private readonly now: () => number;
  private readonly auth: 'headers' | 'query';
  /** every URL asked, for tests that count requests */
  readonly requests: string[] = [];

  constructor(
    readonly baseUrl: string,
    opts: TmpoPyOptions = {},
  ) {
    this.workers = opts.workers ?? 16;
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.auth = opts.auth ?? 'headers';
  }

  add(sid: string, token: string): void {
    if (!this.sensors.has(sid)) this.sensors.set(sid, token);
  }

  /** `reset(sid)`: drop the blocks, keep the sensor. */
  reset(sid: string): void {
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i]!.sid === sid) this.rows.splice(i, 1);
  }

  /**
   * `sync(*sids)`. Kept as tmpo-py has it: a sensor synced less than 256 s after its last block's
   * bid stops the whole sync (`return` inside the loop), whatever the level.
   */
  async sync(...sids: string[]): Promise<void> {
    for (const sid of sids.length ? sids : [...this.sensors.keys()]) {
      const token = this.sensors.get(sid);
      if (token === undefined) throw new Error(`sensor ${sid} was not added`);
      const last = this.lastBlock(sid);
      if (last && this.now() < last.bid + 256) return;
      const from = last ?? { rid: 0, lvl: 0, bid: 0 };
      const list = (await this.get(
        sid,
        token,
        `/sensor/${sid}/tmpo/sync`,
        { rid: from.rid, lvl: from.lvl, bid: from.bid },
        'application/json',
      ).then((r) => r.json())) as Array<{ rid: number; lvl: number; bid: number; ext: string }>;
      // requests_futures: all block requests go out at once on the pool, then are written in list order
      const futures = limitAll(
        list.map(
          (t) => () =>
            this.get(sid, token, `/sensor/${sid}/tmpo/${t.rid}/${t.lvl}/${t.bid}`, {}, 'application/gzip').then(
              async (r) => Buffer.from(await r.arrayBuffer()),
            ),
        ),
        this.workers,
      );
      for (const f of futures) f.catch(() => undefined); // the first failure is thrown below, in order
      for (let i = 0; i < list.length; i++) {
        const t = list[i]!;
        this.writeBlock(await futures[i]!, sid, t.rid, t.lvl, t.bid, t.ext);
      }
    }
  }

  private async get(
    sid: string,
    token: string,
    path: string,
    params: Record<string, number>,
    accept: string,
  ): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: accept };
    if (this.auth === 'headers') {
      headers['X-Version'] = '1.0';
      headers['X-Token'] = token;
    } else {
      url.searchParams.set('version', '1.0');
      url.searchParams.set('token', token);
    }
    this.requests.push(url.pathname + url.search);
    const r = await fetch(url, { headers });
    if (r.status !== 200) throw new Error(`GET ${url.pathname} for ${sid}: HTTP ${r.status} ${await r.text()}`);
    return r;
  }

  /** `_write_block`: a plain INSERT (a duplicate key fails the sync), then `_clean`. */
  private writeBlock(data: Buffer, sid: string, rid: number, lvl: number, bid: number, ext: string): void {
    if (this.rows.some((r) => r.sid === sid && r.rid === rid && r.lvl === lvl && r.bid === bid)) {
      throw new Error(`UNIQUE constraint failed: tmpo ${sid}/${rid}/${lvl}/${bid}`);
    }
    this.rows.push({ sid, rid, lvl, bid, ext, created: ++this.created, data });
    this.clean(sid, rid, lvl, bid);
  }

  /** `_clean`: drop the level below up to the last child, and so on down to level 8. */
  private clean(sid: string, rid: number, lvl: number, bid: number): void {
    if (lvl === 8) return;
    const lastchild = bid + 15 * 2 ** (lvl - 4);
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const r = this.rows[i]!;
      if (r.sid === sid && r.rid === rid && r.lvl === lvl - 4 && r.bid <= lastchild) this.rows.splice(i, 1);
    }
    this.clean(sid, rid, lvl - 4, lastchild);
  }

  /** SQL_TMPO_LAST: the latest created row, ties to the highest level. */
  lastBlock(sid: string): TmpoPyRow | undefined {
    return this.rows.filter((r) => r.sid === sid).sort((a, b) => b.created - a.created || b.lvl - a.lvl)[0];
  }

  /** `list(sid)`: rid ASC, lvl DESC, bid ASC. */
  list(sid: string): TmpoPyRow[] {
    return this.rows.filter((r) => r.sid === sid).sort((a, b) => a.rid - b.rid || b.lvl - a.lvl || a.bid - b.bid);
  }

  /** `series(sid, recycle_id, head, tail, datetime=False)` as plain arrays. */
  series(
    sid: string,
    opts: { rid?: number; head?: number; tail?: number } = {},
  ): { times: number[]; values: number[] } {
    const mine = this.rows.filter((r) => r.sid === sid);
    const rid = opts.rid ?? Math.max(...mine.map((r) => r.rid));
    const head = opts.head ?? 0;
    const tail = opts.tail ?? 2147483647;
    const blocks = mine
      .filter((r) => r.rid === rid && r.bid + 2 ** r.lvl > head && r.bid <= tail)
      .sort((a, b) => a.bid - b.bid);
    const times: number[] = [];
    const values: number[] = [];
    for (const b of blocks) {
      const s = blk2series(b.ext, b.data);
      for (let i = 0; i < s.times.length; i++) {
        if (s.times[i]! < head || s.times[i]! > tail) continue;
        times.push(s.times[i]!);
        values.push(s.values[i]!);
      }
    }
    return { times, values };
  }
}

/** `_blk2series`: gunzip, match, cumulative sums seeded with the head. */
export function blk2series(ext: string, data: Buffer): { times: number[]; values: number[] } {
  if (ext !== 'gz') throw new Error('Compression type not supported in tmpo');
  const m = RE_JSON_BLK.exec(gunzipSync(data).toString('utf8'));
  if (!m) throw new Error("block does not match tmpo-py's pattern");
  const h = JSON.parse(m[1]!) as { head: [number, number] };
  const t = JSON.parse(m[2]!) as number[];
  const v = JSON.parse(m[3]!) as number[];
  const times: number[] = [];
  const values: number[] = [];
  let ts = h.head[0];
  let val = h.head[1];
  for (let i = 0; i < t.length; i++) {
    ts += t[i]!;
    val += v[i]!;
    times.push(ts);
    values.push(val);
  }
  return { times, values };
}

/** Start every task, at most `limit` running at once; one promise per task, in order. */
function limitAll<T>(tasks: Array<() => Promise<T>>, limit: number): Array<Promise<T>> {
  let running = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    if (running < limit && queue.length > 0) queue.shift()!();
  };
  return tasks.map(
    (task) =>
      new Promise<T>((resolve, reject) => {
        queue.push(() => {
          running++;
          task()
            .then(resolve, reject)
            .finally(() => {
              running--;
              next();
            });
        });
        next();
      }),
  );
}
