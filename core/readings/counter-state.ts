import { z } from 'zod';
import { copyAside, readStateFile, writeStateFile } from '../util/state-file';

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
    /**
     * A counter its source keeps (a Kube's movement count): the source's last value and what is
     * added to it since the source last counted again from scratch, and the reservation the
     * published counter may reach before the next save (source-total-guard.ts).
     */
    total: z
      .object({ last: z.number(), offset: z.number().min(0), reserved: z.number().min(0).optional() })
      .strict()
      .optional(),
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
    const file = await readStateFile(this.path, (json) => counterFile.parse(json));
    if (file.kind === 'missing') return { state: { sensors: {} } };
    if (file.kind === 'damaged') {
      return {
        state: { sensors: {} },
        warning: `counter state ${this.path} was unreadable; moved to ${file.aside}, counters start at 0`,
      };
    }
    const sensors: CounterState['sensors'] = {};
    const damaged: string[] = [];
    for (const [sid, entry] of Object.entries(file.value.sensors)) {
      const r = sensorCounter.safeParse(entry);
      if (r.success) sensors[sid] = r.data;
      else damaged.push(sid);
    }
    if (damaged.length === 0) return { state: { sensors } };
    const aside = await copyAside(this.path, file.text);
    const which = damaged.map((s) => `"${s}"`).join(', ');
    return {
      state: { sensors },
      warning: `counter state ${this.path}: the entry of sensor ${which} was unreadable; copied to ${aside}; only ${damaged.length === 1 ? 'that sensor starts' : 'those sensors start'} at 0`,
    };
  }

  save(state: CounterState): Promise<void> {
    const body = { sensors: state.sensors };
    const next = this.pending.then(() => writeStateFile(this.path, 1, body));
    this.pending = next.catch(() => undefined);
    return next;
  }
}
