import { parseDevice } from '../../core/config/device';
import type { Device, SensorInput } from '../../core/config/schema';

export const DEVICE_ID = '0123456789abcdef0123456789abcdef';
export const DEVICE_KEY = 'fedcba9876543210fedcba9876543210';
export const sid = (n: number): string => n.toString(16).padStart(32, 'a');

/** The default flow's household: a mains clamp, solar, gas and water pulse meters. */
export const HOUSEHOLD_SENSORS: SensorInput[] = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1] },
  { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 3, id: sid(3), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 10 },
  { n: 4, id: sid(4), name: 'water', type: 'water', class: 'pulse', port: [6], constant: 1 },
];

export function device(sensors: SensorInput[] = HOUSEHOLD_SENSORS, extra: Partial<Device> = {}): Device {
  return parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors, ...extra });
}

/** 2026-06-21T12:00:00Z */
export const T0 = Date.UTC(2026, 5, 21, 12, 0, 0);
