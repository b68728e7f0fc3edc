import type { Sensor } from '../config/schema';
import type { ReadingKind } from './topics';

/**
 * Units and gauge factors of the readings a sensor publishes. By type
 * (docs/protocols/flm-mqtt.md#units): electricity and heat count Wh and gauge W; water, gas and
 * fuel count L and gauge L/day (the FLM02's unit, which this project keeps for every fluid);
 * pellets count g and gauge g/s, and a time counter counts s (its gauge, seconds per second, has no
 * unit), as on the FLM03. An FLM03 clamp parameter (subtype) has units of its own, whatever the
 * type.
 */
export interface TypeUnits {
  counter: string;
  gauge: string;
  /** gauge = Δcounter / Δms × factor */
  factor: number;
  /** a computed gauge is rounded to this many decimals (W and L/day are whole, as on the FLM) */
  decimals: number;
}

const ELECTRIC: TypeUnits = { counter: 'Wh', gauge: 'W', factor: 3.6e6, decimals: 0 };
const FLUID: TypeUnits = { counter: 'L', gauge: 'L/day', factor: 24 * 3.6e6, decimals: 0 };

const BY_TYPE: Partial<Record<Sensor['type'], TypeUnits>> = {
  electricity: ELECTRIC,
  heat: ELECTRIC,
  water: FLUID,
  gas: FLUID,
  fuel: FLUID,
  pellet: { counter: 'g', gauge: 'g/s', factor: 1000, decimals: 3 },
  time: { counter: 's', gauge: '', factor: 1000, decimals: 3 },
};

/** The units of each FLM03 clamp parameter (docs/protocols/flm-mqtt.md#units); only the first six count. */
export interface SubtypeUnits {
  counter?: string;
  gauge: string;
}

const REACTIVE: SubtypeUnits = { counter: 'varh', gauge: 'var' };
const SUBTYPE_UNITS: Readonly<Record<NonNullable<Sensor['subtype']>, SubtypeUnits>> = {
  pplus: { counter: 'Wh', gauge: 'W' },
  pminus: { counter: 'Wh', gauge: 'W' },
  q1: REACTIVE,
  q2: REACTIVE,
  q3: REACTIVE,
  q4: REACTIVE,
  vrms: { gauge: 'V' },
  irms: { gauge: 'A' },
  pf: { gauge: '' },
  vthd: { gauge: '' },
  ithd: { gauge: '' },
  alpha: { gauge: '°' },
};

export function unitsFor(type: Sensor['type']): TypeUnits {
  const u = BY_TYPE[type];
  if (!u) throw new Error(`no counter/gauge units for sensor type "${type}"`);
  return u;
}

export const hasMeterUnits = (type: Sensor['type']): boolean => BY_TYPE[type] !== undefined;

/** What a sensor's readings carry: its subtype's units, else its type's; undefined for neither (Kube fields). */
export function sensorUnits(s: Pick<Sensor, 'type' | 'subtype'>): SubtypeUnits | undefined {
  if (s.subtype) return SUBTYPE_UNITS[s.subtype];
  return BY_TYPE[s.type];
}

/** The units that readings of a sensor carry on the wire (above; FLM03 clamp parameters in core/flx/flm03-readings.ts). */
export function flmUnit(s: Pick<Sensor, 'type' | 'subtype'>, kind: ReadingKind): string {
  const meter = sensorUnits(s);
  if (meter) return (kind === 'counter' ? meter.counter : meter.gauge) ?? '';
  switch (s.type) {
    case 'temperature':
      return '°C';
    case 'humidity':
      return '%';
    case 'light':
      return 'lx';
    case 'pressure':
      return 'Pa';
    case 'battery':
      return 'V';
    default:
      return '';
  }
}

/** Which readings a sensor publishes: both for meters, one for Kube fields and FLM03 clamp parameters. */
export function readingKinds(s: Pick<Sensor, 'type' | 'subtype' | 'class' | 'p1'>): ReadingKind[] {
  if (s.subtype)
    return ['pplus', 'pminus', 'q1', 'q2', 'q3', 'q4'].includes(s.subtype) ? ['counter', 'gauge'] : ['gauge'];
  if (s.class === 'cosem' && s.p1) {
    const [medium, sub] = s.p1.split(':');
    if (medium === 'gas' || medium === 'water' || medium === 'heat') return ['counter'];
    if (medium === 'delivered' || medium === 'returned') return sub ? ['counter'] : ['counter', 'gauge'];
    if (medium === 'net') return ['counter', 'gauge'];
    return ['gauge']; // l1–l3, capacity:demand, capacity:peak
  }
  switch (s.type) {
    case 'electricity':
    case 'heat':
    case 'gas':
    case 'water':
    case 'fuel':
    case 'pellet':
    case 'time':
      return ['counter', 'gauge'];
    case 'movement':
    case 'vibration':
      return ['counter'];
    default:
      return ['gauge'];
  }
}
