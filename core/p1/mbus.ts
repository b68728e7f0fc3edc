import { codeKey } from './cosem';
import type { Groups } from './groups';
import type { MbusDevice, MbusMedium, MbusReading } from './types';
import { decodeHexText, normalizeUnit } from './values';

/**
 * M-Bus devices behind the electricity meter (docs/protocols/p1.md#m-bus-meters): every object
 * `0-n:…` with n ≥ 1 belongs to channel n. Gas is not always on channel 1, Belgium publishes gas on
 * 24.2.3 and water on 24.2.1, and unused slots send placeholders; so the medium comes from the
 * device type on 24.1.0, never from the channel or the code.
 */

/** EN 13757-3 device types; 3, 4 and 7 are what DSMR meters send. */
const MEDIUM_BY_TYPE: ReadonlyMap<number, MbusMedium> = new Map([
  [0x03, 'gas'],
  [0x04, 'heat'], // heat, measured at the return
  [0x0c, 'heat'], // heat, measured at the flow
  [0x06, 'water'], // warm water
  [0x07, 'water'],
  [0x15, 'water'], // hot water
  [0x16, 'water'], // cold water
]);

const HEAT_UNITS = new Set(['GJ', 'MJ', 'kWh', 'MWh']);

/** The codes read from M-Bus channels, by the number codeKey gives what follows `0-n:`. */
export const MBUS_CODES: ReadonlyMap<number, string> = new Map(
  ['24.1.0', '96.1.0', '96.1.1', '96.1.2', '24.4.0', '96.3.10', '24.2.0', '24.2.1', '24.2.3', '24.3.0'].map((cde) => [
    codeKey(`0-1:${cde}`).cdeKey,
    cde,
  ]),
);

export class MbusCollector {
  private readonly byChannel = new Map<number, MbusDevice>();

  /**
   * Take one M-Bus object: `cde` is its code after `A-B:` (one of MBUS_CODES, else the object
   * is not read), `values` its groups. False when its value could not be read (the caller
   * keeps it raw).
   */
  add(channel: number, cde: string | undefined, values: Groups): boolean {
    switch (cde) {
      case '24.1.0':
        return this.setInt(channel, 'deviceType', values.integer(0));
      case '96.1.0':
      case '96.1.1':
        return this.setText(channel, 'equipmentId', values.text(0));
      case '96.1.2':
        return this.setText(channel, 'serialNumber', values.text(0));
      case '24.4.0':
        return this.setInt(channel, 'valvePosition', values.integer(0));
      case '96.3.10':
        return this.setInt(channel, 'switchPosition', values.integer(0));
      case '24.2.0':
      case '24.2.1':
      case '24.2.3':
        return this.setReading(channel, meterReading(cde, values));
      case '24.3.0':
        return this.setReading(channel, profileReading(values));
      default:
        return false;
    }
  }

  devices(): MbusDevice[] {
    return [...this.byChannel.values()]
      .sort((a, b) => a.channel - b.channel)
      .map((d) => ({ ...d, medium: mediumOf(d) }));
  }

  private device(channel: number): MbusDevice {
    let d = this.byChannel.get(channel);
    if (!d) {
      d = { channel, medium: 'unknown' };
      this.byChannel.set(channel, d);
    }
    return d;
  }

  /** An empty id `()` still shows the channel exists, so the device is created either way. */
  private setText(channel: number, field: 'equipmentId' | 'serialNumber', text: string): boolean {
    const d = this.device(channel);
    if (text.trim() !== '') d[field] = decodeHexText(text);
    return true;
  }

  private setInt(channel: number, field: 'deviceType' | 'valvePosition' | 'switchPosition', n: number | null): boolean {
    if (n === null) return false;
    this.device(channel)[field] = n;
    return true;
  }

  /** A channel has one meter; if two readings come, the one with a unit is the live one. */
  private setReading(channel: number, reading: MbusReading | null): boolean {
    if (!reading) return false;
    const d = this.device(channel);
    if (!d.reading || (d.reading.unit === null && reading.unit !== null)) d.reading = reading;
    return true;
  }
}

/** `(capture time)(value*unit)` (DSMR 4/5), or just `(value*unit)`. */
function meterReading(cde: string, values: Groups): MbusReading | null {
  if (values.length < 1 || values.length > 2) return null;
  const q = values.quantity(values.length - 1);
  if (!q) return null;
  const capturedAt = values.length === 2 ? values.timestamp(0) : null;
  return { obis: cde, capturedAt, value: q.value, unit: q.unit };
}

/** DSMR 2.2/3: `(time)(00)(60)(1)(0-1:24.2.1)(m3)` and the value alone on the next line. */
function profileReading(values: Groups): MbusReading | null {
  if (values.length < 7) return null;
  const value = values.quantity(values.length - 1);
  if (!value) return null;
  return {
    obis: '24.3.0',
    capturedAt: values.timestamp(0),
    value: value.value,
    unit: value.unit ?? normalizeUnit(values.text(5)),
  };
}

/**
 * Without a device type, fall back on the unit: m³ was gas on every meter the FLM supported
 * (docs/protocols/p1.md#m-bus-meters), energy units mean heat.
 */
function mediumOf(d: MbusDevice): MbusMedium {
  if (d.deviceType !== undefined) return MEDIUM_BY_TYPE.get(d.deviceType) ?? 'unknown';
  const unit = d.reading?.unit;
  if (unit === 'm³') return 'gas';
  if (unit && HEAT_UNITS.has(unit)) return 'heat';
  return 'unknown';
}
