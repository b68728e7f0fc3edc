/**
 * How the dashboard labels a sensor's power: a P1 meter's net power is import or export by its
 * sign, its registers are import or export by direction, solar is production, other electricity
 * is consumption. P1 sensors are recognised by their `p1` key (delivered = import, returned =
 * export, net) or by the names the P1 mapper gives them ("grid", "grid import t1", …).
 */
export type SensorRole = 'consumption' | 'production' | 'net' | 'import' | 'export' | 'gas' | 'water' | 'other';

const PRODUCTION = /solar|\bpv\b|photovolt|zon|soleil|sonne|production|productie|inverter|omvormer/i;

export function sensorRole(s: { name: string; type: string; p1?: string | undefined }): SensorRole {
  if (s.type === 'gas') return 'gas';
  if (s.type === 'water') return 'water';
  if (s.type !== 'electricity') return 'other';
  const direction =
    s.p1?.split(':')[0] ?? /^grid(?: (import|export))?\b/.exec(s.name)?.[1] ?? (/^grid\b/.test(s.name) ? 'net' : '');
  if (direction === 'net') return 'net';
  if (direction === 'delivered' || direction === 'import') return 'import';
  if (direction === 'returned' || direction === 'export') return 'export';
  return PRODUCTION.test(s.name) ? 'production' : 'consumption';
}
