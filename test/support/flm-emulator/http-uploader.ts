import { fluksodFilters } from './downsample';
import { FlmHttpConnection, type Endpoint } from './http-connection';
import { measurementsBody, requestBytes } from './http-request';

/**
 * fluksod's WAN branch (docs/protocols/upload.md#measurements, #downsampling): integer counter readings collect in a
 * per-sensor buffer; once a reading is past the threshold (start + 300 s, then 300 s after each
 * upload) the buffer goes through the three downsampling filters and one POST per sensor with data
 * goes out over one persistent connection, `Connection: close` on the last. A sensor's buffer is
 * cleared only by a 200; anything else keeps it for the next round.
 */

export interface UploaderOptions {
  endpoint: Endpoint;
  /** Host header value */
  host: string;
  version: number;
  keyHex: string;
  /** sids in uci order: the order of the POSTs in a round */
  sids: readonly string[];
  /** emulated Unix seconds at start */
  startedAt: number;
  /** network down: requests fail without reaching the server */
  offline?: () => boolean;
}

export interface PostRecord {
  sid: string;
  points: Array<[number, number]>;
  /** 0: no answer (refused, reset, timed out, offline) */
  status: number;
  at: number;
}

const WAN_INTERVAL = 300;

export class HttpUploader {
  private readonly buffers = new Map<string, Map<number, number>>();
  private threshold: number;
  private readonly conn: FlmHttpConnection;
  /** every POST made, in order */
  readonly posts: PostRecord[] = [];
  /** readings the server acknowledged with 200, per sid and ts */
  readonly acked = new Map<string, Map<number, number>>();
  /** readings that went on the wire at least once (acked or not) */
  readonly attempted = new Map<string, Map<number, number>>();

  constructor(private readonly opts: UploaderOptions) {
    this.threshold = opts.startedAt + WAN_INTERVAL;
    this.conn = new FlmHttpConnection(opts.endpoint);
    for (const s of opts.sids) this.buffers.set(s, new Map());
  }

  /** A reading from fluksod's counter branch (only integer counters are uploaded). */
  async push(sid: string, ts: number, counter: number, now: number): Promise<void> {
    if (Number.isInteger(counter)) this.buffers.get(sid)?.set(ts, counter);
    if (ts > this.threshold && this.buffered() > 0) await this.round(now);
  }

  buffered(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.size;
    return n;
  }

  /** The device lost power: what was in RAM is gone. */
  dropBuffers(now: number): void {
    for (const b of this.buffers.values()) b.clear();
    this.threshold = now + WAN_INTERVAL;
  }

  /** filter -> send -> gc, one POST per sensor with data. */
  async round(now: number): Promise<void> {
    const todo: Array<[string, Array<[number, number]>]> = [];
    for (const sid of this.opts.sids) {
      const buf = this.buffers.get(sid)!;
      if (buf.size === 0) continue;
      const keep = fluksodFilters(
        [...buf.keys()].sort((a, b) => a - b),
        now,
      );
      const kept = new Map<number, number>();
      for (const ts of keep) kept.set(ts, buf.get(ts)!);
      this.buffers.set(sid, kept);
      todo.push([sid, [...kept.entries()]]);
    }
    for (let i = 0; i < todo.length; i++) {
      const [sid, points] = todo[i]!;
      const status = await this.post(sid, points, i === todo.length - 1 ? 'close' : 'keep-alive');
      this.posts.push({ sid, points, status, at: now });
      if (status === 200) {
        const buf = this.buffers.get(sid)!;
        for (const [ts] of points) buf.delete(ts);
        note(this.acked, sid, points);
      }
    }
    // the last request said `Connection: close`: this round's connection is done
    this.conn.close();
    this.threshold = now + WAN_INTERVAL;
  }

  private async post(
    sid: string,
    points: Array<[number, number]>,
    connection: 'keep-alive' | 'close',
  ): Promise<number> {
    if (this.opts.offline?.()) return 0;
    note(this.attempted, sid, points);
    const bytes = requestBytes({
      host: this.opts.host,
      path: `/sensor/${sid}`,
      version: this.opts.version,
      connection,
      keyHex: this.opts.keyHex,
      body: measurementsBody(points),
    });
    try {
      return (await this.conn.request(bytes)).status;
    } catch (err) {
      if (process.env.FLM_EMU_DEBUG) console.error(err);
      return 0;
    }
  }

  close(): void {
    this.conn.close();
  }
}

function note(into: Map<string, Map<number, number>>, sid: string, points: Array<[number, number]>): void {
  let m = into.get(sid);
  if (!m) into.set(sid, (m = new Map()));
  for (const [ts, c] of points) m.set(ts, c);
}
