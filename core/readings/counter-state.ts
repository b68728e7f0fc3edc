import { z } from 'zod';
import { promises as fs } from 'node:fs';
import { writeFileAtomic, readFileIfExists } from '../util/atomic-file';

/**
 * Pulse sensors keep exact thousandths of a unit. Analog sensors keep energy in joules (W·s):
 * whole watts over whole seconds add up exactly there, where Wh (÷3600) would drift below a
 * whole Wh and floor to one less.
 */
const sensorCounter = z
  .object({
    milli: z.number().int().min(0).optional(),
    joules: z.number().min(0).optional(),
    /**
     * The last running total a counting source (FLM03 board) reported, per port ("sid" when it
     * named the sensor): kept with the counter, so a restart adds only what the source counted since.
     */
    refs: z.record(z.string(), z.number().min(0)).optional(),
    /**
     * The published counter (in its unit: Wh, L, …) may reach up to here before the next save:
     * a start after a crash resumes at this value when it is above the saved count, so a counter
     * once published never comes back lower.
     */
    reserved: z.number().min(0).optional(),
    /**
     * A P1 register: the last value published and when (host ms), so that the first telegram
     * after a start is checked against it (p1-totals-guard.ts).
     */
    p1: z.object({ value: z.number(), ms: z.number() }).strict().optional(),
  })
  .strict();
const counterFile = z.object({ version: z.literal(1), sensors: z.record(z.string(), z.unknown()) }).strict();

export type SensorCounter = z.infer<typeof sensorCounter>;
export interface CounterState {
  sensors: Record<string, SensorCounter>;
}

export interface LoadResult {
  state: CounterState;
  /** set when a damaged file, or a damaged entry of it, was set aside instead of read */
  warning?: string;
}

/**
 * Counters on disk, so they survive restarts. Writes are atomic (temp, fsync, rename); a file
 * that cannot be read is moved aside, never deleted, so a person can still recover it. Each
 * sensor's entry is read on its own: a damaged entry starts that sensor at 0 and leaves the
 * others as saved (the file is then copied aside, since the next save drops the damaged entry).
 * Saves are serialised: a save waits for the one before it.
 */
export class CounterStateFile {
  private pending: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<LoadResult> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return { state: { sensors: {} } };
    const file = counterFile.safeParse(safeJson(text));
    if (!file.success) {
      const aside = this.asidePath();
      await fs.rename(this.path, aside);
      return { state: { sensors: {} }, warning: `counter state ${this.path} was unreadable; moved to ${aside}, counters start at 0` };
    }
    const sensors: CounterState['sensors'] = {};
    const damaged: string[] = [];
    for (const [sid, entry] of Object.entries(file.data.sensors)) {
      const r = sensorCounter.safeParse(entry);
      if (r.success) sensors[sid] = r.data;
      else damaged.push(sid);
    }
    if (damaged.length === 0) return { state: { sensors } };
    const aside = this.asidePath();
    await writeFileAtomic(aside, text);
    const which = damaged.map((s) => `"${s}"`).join(', ');
    return {
      state: { sensors },
      warning: `counter state ${this.path}: the entry of sensor ${which} was unreadable; copied to ${aside}; only ${damaged.length === 1 ? 'that sensor starts' : 'those sensors start'} at 0`,
    };
  }

  save(state: CounterState): Promise<void> {
    const body = JSON.stringify({ version: 1, sensors: state.sensors }) + '\n';
    const next = this.pending.then(() => writeFileAtomic(this.path, body));
    this.pending = next.catch(() => undefined);
    return next;
  }

  private asidePath(): string {
    return `${this.path}.damaged-${Date.now()}`;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
