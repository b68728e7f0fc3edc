import { encodeSeries } from '../../../core/tmpo/codec';
import { compactBlocks } from './tmpo-compact';

/**
 * tmpod's side of an FLM (docs/protocols/tmpo.md#flushing-level-8-blocks, #compaction, #sync): open level-8 blocks in RAM, flushed
 * once their window is past plus a per-device grace of 4-20 s, then compacted 8 -> 12 -> 16 -> 20
 * when a parent window lies wholly in the past; every block written is published, and a sync list
 * from the server makes it publish again what the server lacks.
 *
 * Level-8 blocks are made with core/tmpo's codec (the block format is checked on its own against
 * tmpo-py); compaction and the sync rule are written here from the description. Compaction is not
 * throttled (in emulated time it would take no time) and runs after each flush.
 */

const LEVELS = [8, 12, 16, 20] as const;
type Level = (typeof LEVELS)[number];

export interface PublishedBlock {
  sid: string;
  rid: number;
  lvl: Level;
  bid: number;
  bytes: Buffer;
}

interface Open {
  times: number[];
  values: number[];
}

const keyOf = (sid: string, rid: number, lvl: number, bid: number) => `${sid}/${rid}/${lvl}/${bid}`;

export class TmpoDisk {
  private readonly open = new Map<string, Map<number, Open>>();
  /** "files": sid/rid/lvl/bid -> gzip bytes */
  readonly files = new Map<string, PublishedBlock>();
  private close8: number | undefined;
  /** every sample written to a level-8 file, per sid (what the server should end up with) */
  readonly written = new Map<string, Map<number, number>>();

  constructor(
    private readonly cfgOf: (sid: string) => Record<string, unknown>,
    private readonly grace: number,
    private readonly publish: (b: PublishedBlock) => void,
    private readonly rid = 0,
  ) {}

  /** A counter reading as tmpod records it; false when refused (not after the block's tail, or window on disk). */
  push(sid: string, ts: number, value: number): boolean {
    const bid = Math.floor(ts / 256) * 256;
    if (this.covered(sid, bid)) return false;
    let bySid = this.open.get(sid);
    if (!bySid) this.open.set(sid, (bySid = new Map()));
    let blk = bySid.get(bid);
    if (!blk) bySid.set(bid, (blk = { times: [], values: [] }));
    const tail = blk.times[blk.times.length - 1];
    if (tail !== undefined && ts <= tail) return false;
    blk.times.push(ts);
    blk.values.push(value);
    return true;
  }

  /** Whether a file at any level already covers this level-8 window. */
  private covered(sid: string, bid8: number): boolean {
    for (const lvl of LEVELS) {
      const bid = Math.floor(bid8 / 2 ** lvl) * 2 ** lvl;
      if (this.files.has(keyOf(sid, this.rid, lvl, bid))) return true;
    }
    return false;
  }

  /** The 1 s timer; `force` is ubus `flukso.tmpo flush` (now + 256 + grace). */
  tick(now: number, force = false): void {
    const t = force ? now + 256 + this.grace : now;
    this.close8 ??= Math.ceil(t / 256) * 256;
    if (!force && t < this.close8 + this.grace) return;
    const limit = force ? Math.ceil(t / 256) * 256 : this.close8;
    for (const [sid, bySid] of this.open) {
      for (const [bid, blk] of [...bySid].sort((a, b) => a[0] - b[0])) {
        if (bid >= limit) continue;
        bySid.delete(bid);
        this.write8(sid, bid, blk);
      }
    }
    this.close8 = Math.ceil(now / 256) * 256;
    this.compact(now);
  }

  /** Power lost: the open blocks in RAM are gone. */
  powerOff(): void {
    this.open.clear();
    this.close8 = undefined;
  }

  private write8(sid: string, bid: number, blk: Open): void {
    const bytes = encodeSeries({ times: blk.times, values: blk.values }, this.cfgOf(sid));
    let w = this.written.get(sid);
    if (!w) this.written.set(sid, (w = new Map()));
    for (let i = 0; i < blk.times.length; i++) w.set(blk.times[i]!, blk.values[i]!);
    this.store({ sid, rid: this.rid, lvl: 8, bid, bytes });
  }

  private store(b: PublishedBlock): void {
    this.files.set(keyOf(b.sid, b.rid, b.lvl, b.bid), b);
    this.publish(b);
  }

  /** One pass over every sid / rid / level < 20, ascending. */
  private compact(now: number): void {
    for (const lvl of [8, 12, 16] as const) {
      const up = (lvl + 4) as Level;
      const groups = new Map<string, PublishedBlock[]>();
      for (const b of this.files.values()) {
        if (b.lvl !== lvl) continue;
        const window = Math.floor(b.bid / 2 ** up);
        if (window >= Math.floor(now / 2 ** up)) continue;
        const k = `${b.sid}/${b.rid}/${window}`;
        const g = groups.get(k);
        if (g) g.push(b);
        else groups.set(k, [b]);
      }
      for (const g of groups.values()) {
        g.sort((a, b) => a.bid - b.bid);
        const first = g[0]!;
        const cid = Math.floor(first.bid / 2 ** up) * 2 ** up;
        const target = keyOf(first.sid, first.rid, up, cid);
        if (!this.files.has(target))
          this.store({
            sid: first.sid,
            rid: first.rid,
            lvl: up,
            bid: cid,
            bytes: compactBlocks(g.map((b) => b.bytes)),
          });
        for (const b of g) this.files.delete(keyOf(b.sid, b.rid, b.lvl, b.bid));
      }
    }
  }

  /**
   * A sync list from the server (docs/protocols/tmpo.md#sync): per entry, every block on disk of that sid with rid at
   * least entry.rid whose tail bid + 2^lvl − 1 is past the entry's, levels 20, 16, 12, 8.
   */
  resync(entries: ReadonlyArray<{ sid: string; rid: number; lvl: number; bid: number }>): PublishedBlock[] {
    const out: PublishedBlock[] = [];
    for (const e of entries) {
      const stail = e.bid + 2 ** e.lvl - 1;
      for (const lvl of [20, 16, 12, 8]) {
        const blocks = [...this.files.values()]
          .filter((b) => b.sid === e.sid && b.rid >= e.rid && b.lvl === lvl && b.bid + 2 ** lvl - 1 > stail)
          .sort((a, b) => a.rid - b.rid || a.bid - b.bid);
        for (const b of blocks) {
          out.push(b);
          this.publish(b);
        }
      }
    }
    return out;
  }
}
