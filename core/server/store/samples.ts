import type { Series } from '../../tmpo/block';

/**
 * Sample sets as the server store keeps them: ascending times, each time once. When the same
 * (sensor, time) comes twice, from an HTTP upload and a TMPO block or from a retry, the sample
 * stored first is kept: the FLM sends the same counter for the same second on both paths, so the
 * copies agree, and keeping the first means a retry can never change what a client already read.
 */

/** Sort readings that arrived in any order; of equal times the earliest arrival stays. */
export function sortUnique(series: Series): Series {
  const n = series.times.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => series.times[a]! - series.times[b]! || a - b);
  const times: number[] = [];
  const values: number[] = [];
  for (const i of order) {
    const t = series.times[i]!;
    if (times.length > 0 && times[times.length - 1] === t) continue;
    times.push(t);
    values.push(series.values[i]!);
  }
  return { times, values };
}

/** Join stored samples with new ones (both sorted and unique); the stored sample wins a tie. */
export function mergeInto(stored: Series, fresh: Series): { merged: Series; added: number } {
  const times: number[] = [];
  const values: number[] = [];
  let i = 0;
  let j = 0;
  let added = 0;
  const a = stored.times;
  const b = fresh.times;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      if (j < b.length && a[i] === b[j]) j++;
      times.push(a[i]!);
      values.push(stored.values[i]!);
      i++;
    } else {
      times.push(b[j]!);
      values.push(fresh.values[j]!);
      j++;
      added++;
    }
  }
  return { merged: { times, values }, added };
}

/** The readings of one window waiting to be written, and the oldest log segment holding one of them. */
export interface PendingWindow extends Series {
  seq: number;
}

/**
 * Readings waiting to be written into blocks, by the level-8 window whose block will hold them
 * (their own, or a later one for a reading whose own window is written already), in arrival order.
 */
export class PendingWindows {
  /** `sid/rid` -> window bid -> samples */
  readonly sensors = new Map<string, Map<number, PendingWindow>>();
  samples = 0;

  /** `seq`: the log segment the reading is in; its window's block is written before that segment goes. */
  add(sid: string, rid: number, bid8: number, t: number, v: number, seq: number): void {
    const key = `${sid}/${rid}`;
    let windows = this.sensors.get(key);
    if (!windows) this.sensors.set(key, (windows = new Map()));
    let w = windows.get(bid8);
    if (!w) windows.set(bid8, (w = { times: [], values: [], seq }));
    w.times.push(t);
    w.values.push(v);
    w.seq = Math.min(w.seq, seq);
    this.samples++;
  }

  /** The oldest log segment a waiting reading is in (Infinity when none waits). */
  minSeq(): number {
    let min = Infinity;
    for (const windows of this.sensors.values()) for (const w of windows.values()) min = Math.min(min, w.seq);
    return min;
  }

  /** Sorted unique samples of a sensor and rid with from <= t <= to (in any window: some wait in a later one). */
  range(sid: string, rid: number, from: number, to: number): Series {
    const windows = this.sensors.get(`${sid}/${rid}`);
    const out: Series = { times: [], values: [] };
    if (!windows) return out;
    for (const w of windows.values()) {
      for (let i = 0; i < w.times.length; i++) {
        const t = w.times[i]!;
        if (t >= from && t <= to) {
          out.times.push(t);
          out.values.push(w.values[i]!);
        }
      }
    }
    return sortUnique(out);
  }

  rids(sid: string): number[] {
    const out: number[] = [];
    for (const key of this.sensors.keys()) {
      const [s, rid] = key.split('/');
      if (s === sid) out.push(Number(rid));
    }
    return out;
  }
}
