import type { Sensor } from '../config/schema';
import type { ReadingKind } from './topics';

/**
 * What quantity an FLM reading is, in Home Assistant's vocabulary (openHAB item names reuse its
 * labels): the device class, state class and unit HA accepts for that quantity, and the factor that turns the FLM value into
 * that unit. The Energy dashboard takes only `energy`, `gas` and `water` sensors with a
 * `total`/`total_increasing` state class, in units of their device class; gas and water
 * counters are therefore given in m³ (the FLM counts litres), and gauges in L/day (not a
 * unit HA knows) in L/min.
 */
export interface HaClass {
  /** HA sensor device class; absent for a plain numeric sensor */
  device_class?: string;
  /** absent for a value without statistics (an error bit field) */
  state_class?: 'measurement' | 'total' | 'total_increasing';
  /** HA unit; absent for a unitless value */
  unit?: string;
  /** HA value = FLM value ÷ divisor (1: as published) */
  divisor: number;
  /** word after the sensor name in the entity name: "main power", "gas volume" */
  label: string;
  suggested_display_precision?: number;
  entity_category?: 'diagnostic';
}

/** What the mapping needs to know of a reading: its sensor's type and the unit on the wire. */
export interface ReadingQuantity {
  type: Sensor['type'] | string;
  kind: ReadingKind;
  subtype?: Sensor['subtype'] | string;
  /** the unit in the FLM payload */
  unit: string;
  /** a net counter that goes down while exporting (P1 net): `total`, not `total_increasing` */
  net?: boolean;
  /** a meter's own import or export register: in kWh, as the meter shows it */
  kwh?: boolean;
}

/** HA's name for the reactive units FLM03 firmware wrote in capitals. */
const UNIT_ALIASES: Readonly<Record<string, string>> = { VAR: 'var', VARh: 'varh', VARH: 'varh', m3: 'm³', l: 'L' };

export function haClass(q: ReadingQuantity): HaClass {
  const unit = UNIT_ALIASES[q.unit] ?? q.unit;
  const counter = q.kind === 'counter';
  switch (unit) {
    case 'Wh':
      if (counter && q.kwh && !q.net)
        return {
          device_class: 'energy',
          state_class: 'total_increasing',
          unit: 'kWh',
          divisor: 1000,
          label: 'energy',
          suggested_display_precision: 3,
        };
      return counter
        ? {
            device_class: 'energy',
            state_class: q.net ? 'total' : 'total_increasing',
            unit: 'Wh',
            divisor: 1,
            label: 'energy',
            suggested_display_precision: 0,
          }
        : {
            device_class: 'energy',
            state_class: 'total',
            unit: 'Wh',
            divisor: 1,
            label: 'energy',
            suggested_display_precision: 0,
          };
    case 'W':
      return {
        device_class: 'power',
        state_class: 'measurement',
        unit: 'W',
        divisor: 1,
        label: 'power',
        suggested_display_precision: 0,
      };
    case 'varh':
      return {
        device_class: 'reactive_energy',
        state_class: counter ? 'total_increasing' : 'total',
        unit: 'varh',
        divisor: 1,
        label: 'reactive energy',
      };
    case 'var':
      return {
        device_class: 'reactive_power',
        state_class: 'measurement',
        unit: 'var',
        divisor: 1,
        label: 'reactive power',
      };
    case 'L':
    case 'm³': {
      const divisor = unit === 'L' ? 1000 : 1;
      const device_class = q.type === 'gas' ? 'gas' : q.type === 'water' ? 'water' : 'volume';
      return counter
        ? {
            device_class,
            state_class: q.net ? 'total' : 'total_increasing',
            unit: 'm³',
            divisor,
            label: 'volume',
            suggested_display_precision: 3,
          }
        : {
            device_class: 'volume_storage',
            state_class: 'measurement',
            unit: 'm³',
            divisor,
            label: 'volume',
            suggested_display_precision: 3,
          };
    }
    case 'L/day':
      return {
        device_class: 'volume_flow_rate',
        state_class: 'measurement',
        unit: 'L/min',
        divisor: 1440,
        label: 'flow',
        suggested_display_precision: 2,
      };
    case 'L/s':
      return {
        device_class: 'volume_flow_rate',
        state_class: 'measurement',
        unit: 'L/s',
        divisor: 1,
        label: 'flow',
        suggested_display_precision: 3,
      };
    case 'V':
      return {
        device_class: 'voltage',
        state_class: 'measurement',
        unit: 'V',
        divisor: 1,
        label: q.type === 'battery' ? 'battery voltage' : 'voltage',
        suggested_display_precision: 1,
      };
    case 'A':
      return {
        device_class: 'current',
        state_class: 'measurement',
        unit: 'A',
        divisor: 1,
        label: 'current',
        suggested_display_precision: 2,
      };
    case '°C':
      return {
        device_class: 'temperature',
        state_class: 'measurement',
        unit: '°C',
        divisor: 1,
        label: 'temperature',
        suggested_display_precision: 1,
      };
    case '%':
      if (q.type === 'battery')
        return { device_class: 'battery', state_class: 'measurement', unit: '%', divisor: 1, label: 'battery' };
      return {
        device_class: 'humidity',
        state_class: 'measurement',
        unit: '%',
        divisor: 1,
        label: 'humidity',
        suggested_display_precision: 0,
      };
    case 'lx':
      return {
        device_class: 'illuminance',
        state_class: 'measurement',
        unit: 'lx',
        divisor: 1,
        label: 'illuminance',
        suggested_display_precision: 0,
      };
    case 'Pa':
      return {
        device_class: 'pressure',
        state_class: 'measurement',
        unit: 'Pa',
        divisor: 1,
        label: 'pressure',
        suggested_display_precision: 0,
      };
    default:
  }
  // Unitless FLM03 parameters and Kube fields.
  if (q.subtype === 'pf')
    return {
      device_class: 'power_factor',
      state_class: 'measurement',
      divisor: 1,
      label: 'power factor',
      suggested_display_precision: 3,
    };
  if (q.subtype === 'vthd' || q.subtype === 'ithd') {
    return {
      state_class: 'measurement',
      divisor: 1,
      label: q.subtype === 'vthd' ? 'voltage THD' : 'current THD',
      entity_category: 'diagnostic',
      suggested_display_precision: 3,
    };
  }
  if (q.subtype === 'alpha')
    return {
      state_class: 'measurement',
      unit: '°',
      divisor: 1,
      label: 'phase angle',
      entity_category: 'diagnostic',
      suggested_display_precision: 1,
    };
  if (q.type === 'error') return { divisor: 1, label: 'error', entity_category: 'diagnostic' };
  if (counter)
    return {
      state_class: 'total_increasing',
      ...(unit ? { unit } : {}),
      divisor: 1,
      label: q.type === 'movement' || q.type === 'vibration' ? 'events' : 'count',
    };
  return {
    state_class: 'measurement',
    ...(unit ? { unit } : {}),
    divisor: 1,
    label: q.type === 'proximity' ? 'proximity' : 'value',
  };
}
