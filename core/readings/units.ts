import type { Sensor } from '../config/schema';

/**
 * Units and gauge factors per sensor type (flm-firmware.md §2.3): electricity counts Wh and
 * gauges W; water and gas count L and gauge L/day. The factor turns a counter delta per ms
 * into the gauge unit.
 */
interface TypeUnits {
  counter: string;
  gauge: string;
  /** gauge = Δcounter / Δms × factor */
  factor: number;
}

const ELECTRIC: TypeUnits = { counter: 'Wh', gauge: 'W', factor: 3.6e6 };
const FLUID: TypeUnits = { counter: 'L', gauge: 'L/day', factor: 24 * 3.6e6 };

const BY_TYPE: Partial<Record<Sensor['type'], TypeUnits>> = {
  electricity: ELECTRIC,
  heat: ELECTRIC,
  water: FLUID,
  gas: FLUID,
};

export function unitsFor(type: Sensor['type']): TypeUnits {
  const u = BY_TYPE[type];
  if (!u) throw new Error(`no counter/gauge units for sensor type "${type}"`);
  return u;
}

export const hasMeterUnits = (type: Sensor['type']): boolean => BY_TYPE[type] !== undefined;
