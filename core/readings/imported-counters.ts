import type { ImportedReading } from '../mqtt/importer';
import { readKeyedJson, writeKeyedEntry } from '../util/keyed-json-file';
import { SourceTotalGuard, type SourceTotal } from './source-total-guard';

export interface ImportedCountersOptions {
  /** the file the counters' state is kept in, shared by every flm-in node (one entry each) */
  path: string;
  /** this node's entry in it */
  key: string;
  /** a counter held or restarted (source-total-guard.ts), or a save that failed */
  warn: (text: string) => void;
}

/**
 * The counters flm-in takes from another FLM's broker, through the same guard as a Kube's count:
 * a counter that goes back (that FLM lost its counters, or was replaced) is held until confirmed,
 * then carries on from what was published here instead of starting again
 * (docs/protocols/flm-mqtt.md#counters-that-restart). A moved counter goes out once its state is
 * on disk, so a crash cannot take it back lower; readings keep their order.
 */
export class ImportedCounters {
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly guard: SourceTotalGuard,
    private readonly o: ImportedCountersOptions,
  ) {}

  static async open(o: ImportedCountersOptions): Promise<ImportedCounters> {
    const saved = (await readKeyedJson<Record<string, SourceTotal>>(o.path))[o.key];
    const state: Record<string, SourceTotal> = {};
    for (const [sid, t] of Object.entries(saved && typeof saved === 'object' ? saved : {}))
      if (Number.isFinite(t?.last) && Number.isFinite(t?.offset) && t.offset >= 0) state[sid] = t;
    return new ImportedCounters(new SourceTotalGuard(state), o);
  }

  /** Counters held so far, and restarts carried on from. */
  get stats(): { held: number; restarts: number } {
    return { ...this.guard.stats };
  }

  /** The readings that may go out, in order, counters with their offset; `send` is called after those before. */
  take(list: readonly ImportedReading[], send: (list: ImportedReading[]) => void): Promise<void> {
    const run = this.queue.then(() => this.pass(list, send));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** After the last reading: every counter sent is within the saved values, so nothing stays reserved. */
  async close(): Promise<void> {
    await this.queue;
    this.guard.release();
    if (this.guard.dirty) await this.save();
  }

  private async pass(list: readonly ImportedReading[], send: (list: ImportedReading[]) => void): Promise<void> {
    const out: ImportedReading[] = [];
    let mustSave = false;
    for (const r of list) {
      if (r.flm.kind !== 'counter') {
        out.push(r);
        continue;
      }
      const what = `${r.flm.deviceId ? `device ${r.flm.deviceId.slice(0, 8)}… ` : ''}sensor ${r.flm.name ?? r.flm.sid}`;
      const v = this.guard.offer(r.flm.sid, r.payload[1], what);
      if (v.reason) this.o.warn(v.reason);
      if (v.notice) this.o.warn(v.notice);
      if (v.publish === undefined) continue;
      out.push({ ...r, payload: [r.payload[0], v.publish, r.payload[2]] });
      if (this.guard.reserve(r.flm.sid, v.publish)) mustSave = true;
    }
    // A counter goes out once a crash could not bring it back lower.
    if (mustSave) await this.save();
    if (out.length) send(out);
  }

  private async save(): Promise<void> {
    try {
      await writeKeyedEntry(this.o.path, this.o.key, this.guard.snapshot());
    } catch (err) {
      this.o.warn(`could not save ${this.o.path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
