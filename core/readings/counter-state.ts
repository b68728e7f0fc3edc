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
  })
  .strict();
const counterState = z.object({ version: z.literal(1), sensors: z.record(z.string(), sensorCounter) }).strict();

export type SensorCounter = z.infer<typeof sensorCounter>;
export interface CounterState {
  sensors: Record<string, SensorCounter>;
}

export interface LoadResult {
  state: CounterState;
  /** set when a damaged file was moved aside instead of read */
  warning?: string;
}

/**
 * Counters on disk, so they survive restarts. Writes are atomic (temp, fsync, rename); a file
 * that cannot be read is moved aside, never deleted, so a person can still recover it.
 * Saves are serialised: a save waits for the one before it.
 */
export class CounterStateFile {
  private pending: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<LoadResult> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return { state: { sensors: {} } };
    const parsed = safeJson(text);
    const r = counterState.safeParse(parsed);
    if (r.success) return { state: { sensors: r.data.sensors } };
    const aside = `${this.path}.damaged-${Date.now()}`;
    await fs.rename(this.path, aside);
    return { state: { sensors: {} }, warning: `counter state ${this.path} was unreadable; moved to ${aside}, counters start at 0` };
  }

  save(state: CounterState): Promise<void> {
    const body = JSON.stringify({ version: 1, sensors: state.sensors }) + '\n';
    const next = this.pending.then(() => writeFileAtomic(this.path, body));
    this.pending = next.catch(() => undefined);
    return next;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
