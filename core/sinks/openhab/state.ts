/**
 * The state text of a reading for `PUT /rest/items/<item>/state`. With units, openHAB converts
 * to the item's own unit (a Number:Energy item in kWh takes "1234 Wh"); the symbols are those
 * openHAB's unit library knows, and L/day, which it does not, goes as l/min.
 */
const OPENHAB_UNITS: Readonly<Record<string, { unit: string; divisor: number }>> = {
  L: { unit: 'l', divisor: 1 },
  l: { unit: 'l', divisor: 1 },
  'L/day': { unit: 'l/min', divisor: 1440 },
  m3: { unit: 'm³', divisor: 1 },
  VAR: { unit: 'var', divisor: 1 },
  VARh: { unit: 'varh', divisor: 1 },
  VARH: { unit: 'varh', divisor: 1 },
};

export type StateFormat = 'units' | 'plain';

function text(v: number): string {
  // Three decimals, as the FLM publishes them, without a float's tail (0.30000000000000004).
  return String(Math.round(v * 1000) / 1000);
}

export function stateText(value: number, unit: string, format: StateFormat): string {
  if (!Number.isFinite(value)) throw new Error(`reading value must be a finite number, got ${value}`);
  const u = OPENHAB_UNITS[unit] ?? { unit, divisor: 1 };
  if (format === 'plain' || u.unit === '') return text(value);
  return `${text(value / u.divisor)} ${u.unit}`;
}
