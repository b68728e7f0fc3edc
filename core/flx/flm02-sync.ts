import type { Sensor } from '../config/schema';
import type { Flm02Command } from './flm02';
import { FLM02_SENSORS } from './flm02-delta';

/**
 * The set commands that push a sensor table to an FLM02 board, in fsync's order
 * (docs/protocols/sensor-board.md#flm02-sync): every sensor disabled, the port → sensor map, each
 * sensor's meter constant as whole units (`sm`) and thousandths (`sf`), the Kube radio group when
 * one is set, the enabled sensors switched on, and `ct` to commit it all to EEPROM.
 *
 * Differences from fsync, on purpose:
 * - the pulse constant is split after rounding to thousandths, so 1.001 is 1 + 1/1000, where
 *   fsync's float floor gave 1 + 0;
 * - counters are never written here (no `sc` on sync): the board's totals are what the host
 *   counts from, and flm-sensor keeps the host's own; fsync wrote them only on reset_counters;
 * - `sk` and `si` (FLM02B hardware lines and LED) are left as the board has them: the device
 *   table does not say how the board is wired.
 */

const FLM02_PORTS = 6;
/** fsync's METERCONST_FACTOR: analog meter constant = floor(0.449 · V · I) */
const METERCONST_FACTOR = 0.449;
const UNUSED = 0xff;

export interface Flm02Step {
  cmd: Flm02Command;
  args: number[];
}

export interface Flm02SyncOptions {
  /** `max_analog_sensors`: logical sensors below this measure clamps; default 3 */
  analogSensors?: number;
  /** Kube radio group (`sg`, FLM02B); none: the board keeps its own */
  kubeGroup?: number;
  /** line voltage for analog meter constants when a sensor gives none; default 230 */
  voltage?: number;
}

export interface Flm02SyncPlan {
  steps: Flm02Step[];
  /** sensors that cannot be set up as given; the rest of the plan still holds */
  problems: string[];
}

export function flm02SyncPlan(sensors: readonly Sensor[], options: Flm02SyncOptions = {}): Flm02SyncPlan {
  const analogSensors = options.analogSensors ?? 3;
  const problems: string[] = [];
  const map = new Array<number>(FLM02_PORTS).fill(UNUSED);
  const bySensor = new Array<Sensor | undefined>(FLM02_SENSORS);
  for (const s of sensors) {
    if (!s.enable || (s.class !== 'analog' && s.class !== 'pulse')) continue;
    if (s.n > FLM02_SENSORS) {
      problems.push(`sensor "${s.name}" is number ${s.n}: an FLM02 board has sensors 1-${FLM02_SENSORS}`);
      continue;
    }
    const analogSlot = s.n <= analogSensors;
    if ((s.class === 'analog') !== analogSlot) {
      problems.push(
        `sensor "${s.name}" is number ${s.n}: on an FLM02 board sensors 1-${analogSensors} are clamps and ${analogSensors + 1}-${FLM02_SENSORS} pulse inputs, so ${s.class === 'analog' ? 'an analog' : 'a pulse'} sensor cannot be number ${s.n}`,
      );
      continue;
    }
    const bad = s.port.find((p) => p > FLM02_PORTS);
    if (bad !== undefined) {
      problems.push(`sensor "${s.name}": port ${bad} is not an FLM02 port (1-${FLM02_PORTS})`);
      continue;
    }
    const taken = s.port.find((p) => map[p - 1] !== UNUSED);
    if (taken !== undefined) {
      problems.push(`sensor "${s.name}": port ${taken} is already sensor ${map[taken - 1]! + 1}'s`);
      continue;
    }
    for (const p of s.port) map[p - 1] = s.n - 1;
    bySensor[s.n - 1] = s;
  }

  const steps: Flm02Step[] = [];
  for (let i = 0; i < FLM02_SENSORS; i++) steps.push({ cmd: 'se', args: [i, 0] });
  steps.push({ cmd: 'sp', args: map });
  for (let i = 0; i < FLM02_SENSORS; i++) {
    const [whole, thousandths] = meterConstant(bySensor[i], options.voltage ?? 230, problems);
    steps.push({ cmd: 'sm', args: [i, whole] }, { cmd: 'sf', args: [i, thousandths] });
  }
  if (options.kubeGroup !== undefined) steps.push({ cmd: 'sg', args: [options.kubeGroup] });
  for (let i = 0; i < FLM02_SENSORS; i++) if (bySensor[i]) steps.push({ cmd: 'se', args: [i, 1] });
  steps.push({ cmd: 'ct', args: [] });
  return { steps, problems };
}

function meterConstant(s: Sensor | undefined, voltage: number, problems: string[]): [number, number] {
  if (!s) return [0, 0];
  if (s.class === 'analog') return [Math.floor(METERCONST_FACTOR * (s.voltage ?? voltage) * (s.current ?? 50)), 0];
  const milli = Math.round((s.constant ?? 1) * 1000);
  const whole = Math.floor(milli / 1000);
  if (whole > 0xffff) {
    problems.push(`sensor "${s.name}": meter constant ${s.constant} exceeds the board's 65535; set to 65535.999`);
    return [0xffff, 999];
  }
  return [whole, milli % 1000];
}
