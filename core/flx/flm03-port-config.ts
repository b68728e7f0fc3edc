import type { Sensor } from '../config/schema';
import {
  CLAMP_CURRENT_INDEX,
  FLM03_MATH,
  FLM03_PHASE,
  FLM03_PORTS,
  FLM03_TRIGGER,
  LED_HEARTBEAT,
  encodeFlm03Message,
  type Flm03PortConfig,
  type Flm03PortSettings,
} from './flm03-messages';

/**
 * The port_config the host pushes when the board pings for one
 * (docs/protocols/sensor-board.md#flm03-configuration), built from the device's sensor table:
 * clamps on ports 1–3 (rating from `current`), pulse inputs on ports 4–6 (meter constant split into
 * whole units and rounded thousandths, as flxd does).
 */

const FLM03_CLAMP_PORTS = [1, 2, 3] as const;
const FLM03_PULSE_PORTS = [4, 5, 6] as const;

export type Flm03PhaseName = keyof typeof FLM03_PHASE;
export type Flm03MathName = keyof typeof FLM03_MATH;
export type Flm03TriggerName = keyof typeof FLM03_TRIGGER;

export interface PortConfigOptions {
  /** the device's phase (1 or 3, where 3 means 3p+n) or the FLM03 name; default 1p */
  phase?: 1 | 3 | Flm03PhaseName;
  /** LED mode; default heartbeat */
  led?: number;
  batch?: number;
  math?: Flm03MathName;
  /** per-port clamp phase shift, index 0 = port 1; default 0 */
  shift?: readonly number[];
  /** per-port pulse trigger, index 0 = port 1; default edge */
  trigger?: readonly Flm03TriggerName[];
}

export interface PortConfigResult {
  config: Flm03PortConfig;
  /** sensors that could not be configured as given; the rest of the config still holds */
  problems: string[];
}

export function portConfigFromSensors(sensors: readonly Sensor[], options: PortConfigOptions = {}): PortConfigResult {
  const problems: string[] = [];
  const ports: Flm03PortSettings[] = [];
  for (let p = 1; p <= FLM03_PORTS; p++) {
    const trigger = options.trigger?.[p - 1] ?? 'edge';
    ports.push({
      constant: 0,
      fraction: 0,
      current: 0,
      shift: options.shift?.[p - 1] ?? 0,
      enable: false,
      trigger: FLM03_TRIGGER[trigger],
    });
  }
  // The first sensor that sets a port decides its rating or constant; with subtypes, up to 12
  // sensors share a clamp port and must agree.
  const setBy = new Map<number, Sensor>();
  for (const s of sensors) {
    if (!s.enable || (s.class !== 'analog' && s.class !== 'pulse')) continue;
    for (const p of s.port) {
      const wanted = s.class === 'analog' ? FLM03_CLAMP_PORTS : FLM03_PULSE_PORTS;
      if (!(wanted as readonly number[]).includes(p)) {
        problems.push(`sensor "${s.name}": port ${p} is not an FLM03 ${s.class} port (${wanted.join(', ')})`);
        continue;
      }
      const settings = s.class === 'analog' ? clampSettings(s, problems) : pulseSettings(s, problems);
      if (!settings) continue;
      const slot = ports[p - 1]!;
      const first = setBy.get(p);
      if (first) {
        if (
          first.class !== s.class ||
          slot.current !== settings.current ||
          slot.constant !== settings.constant ||
          slot.fraction !== settings.fraction
        ) {
          problems.push(
            `sensor "${s.name}" disagrees with sensor "${first.name}" on port ${p}; port ${p} keeps "${first.name}"'s settings`,
          );
        }
        continue;
      }
      setBy.set(p, s);
      Object.assign(slot, settings, { enable: true });
    }
  }
  const config: Flm03PortConfig = {
    type: 'port_config',
    ports,
    phase: phaseIndex(options.phase ?? '1p'),
    led: options.led ?? LED_HEARTBEAT,
    batch: options.batch ?? 0,
    math: FLM03_MATH[options.math ?? 'none'],
  };
  return { config, problems };
}

/** The port_config frame for a sensor table. */
export function portConfigFrame(
  sensors: readonly Sensor[],
  options: PortConfigOptions = {},
): { frame: Uint8Array; problems: string[] } {
  const { config, problems } = portConfigFromSensors(sensors, options);
  return { frame: encodeFlm03Message(config), problems };
}

function phaseIndex(phase: 1 | 3 | Flm03PhaseName): number {
  if (phase === 1) return FLM03_PHASE['1p'];
  if (phase === 3) return FLM03_PHASE['3p+n'];
  return FLM03_PHASE[phase];
}

function clampSettings(
  s: Sensor,
  problems: string[],
): Pick<Flm03PortSettings, 'constant' | 'fraction' | 'current'> | null {
  const amps = s.current ?? 50;
  const index = CLAMP_CURRENT_INDEX[amps];
  if (index === undefined) {
    problems.push(`sensor "${s.name}": no FLM03 clamp rating of ${amps} A (50, 100, 250 or 500)`);
    return null;
  }
  return { constant: 0, fraction: 0, current: index };
}

function pulseSettings(
  s: Sensor,
  problems: string[],
): Pick<Flm03PortSettings, 'constant' | 'fraction' | 'current'> | null {
  // Rounding to thousandths first avoids the FLM02's floor error (1.001 → fraction 0).
  const milli = Math.round((s.constant ?? 1) * 1000);
  const constant = Math.floor(milli / 1000);
  if (constant > 0xffff) {
    problems.push(`sensor "${s.name}": meter constant ${s.constant} exceeds the board's 65535`);
    return null;
  }
  return { constant, fraction: milli % 1000, current: 0 };
}
