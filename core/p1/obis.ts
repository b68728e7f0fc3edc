/**
 * The OBIS codes (docs/protocols/p1.md#obis-codes) that hold one plain value, and where each lands
 * in a P1Telegram. Codes with structure of their own (timestamps, logs, peaks, M-Bus channels) are
 * read by their own modules; anything in neither place is kept raw.
 */

export type ValueKind =
  /** `number*unit` or a bare number */
  | 'quantity'
  /** a count or code such as `00015`, `0001` */
  | 'integer'
  /** text kept as sent */
  | 'text'
  /** ASCII sent as hex, decoded when it is */
  | 'hexText'
  /** like hexText, but line breaks are allowed in the decoded text */
  | 'message';

export interface ObisTarget {
  /** property path inside P1Telegram */
  path: readonly string[];
  kind: ValueKind;
  /** set only when no other code filled the path (e.g. 96.1.0 where a meter lacks 96.1.1) */
  fallback?: boolean;
}

const table = new Map<string, ObisTarget>();
const add = (obis: string, kind: ValueKind, ...path: string[]): void => {
  table.set(obis, { path, kind });
};

add('1-3:0.2.8', 'text', 'p1Version');
add('0-0:96.1.4', 'text', 'emucsVersion');
add('0-0:96.1.1', 'hexText', 'equipmentId');
// HU and IE meters put their id on 96.1.0, Q3D gateways on 96.1.255.
table.set('0-0:96.1.0', { path: ['equipmentId'], kind: 'hexText', fallback: true });
table.set('0-0:96.1.255', { path: ['equipmentId'], kind: 'hexText', fallback: true });
add('0-0:42.0.0', 'hexText', 'logicalDeviceName');
add('0-0:96.1.2', 'hexText', 'serialNumber');

const registers = ['total', 'tariff1', 'tariff2', 'tariff3', 'tariff4'];
registers.forEach((name, i) => {
  add(`1-0:1.8.${i}`, 'quantity', 'electricity', 'delivered', name);
  add(`1-0:2.8.${i}`, 'quantity', 'electricity', 'returned', name);
});
registers.slice(0, 3).forEach((name, i) => {
  add(`1-0:3.8.${i}`, 'quantity', 'electricity', 'reactiveEnergy', 'delivered', name);
  add(`1-0:4.8.${i}`, 'quantity', 'electricity', 'reactiveEnergy', 'returned', name);
});
add('0-0:96.14.0', 'integer', 'electricity', 'activeTariff');
add('1-0:1.7.0', 'quantity', 'electricity', 'power', 'delivered');
add('1-0:2.7.0', 'quantity', 'electricity', 'power', 'returned');
add('1-0:3.7.0', 'quantity', 'electricity', 'reactivePower', 'delivered');
add('1-0:4.7.0', 'quantity', 'electricity', 'reactivePower', 'returned');
for (let q = 1; q <= 4; q++) {
  add(`1-0:${q + 4}.8.0`, 'quantity', 'electricity', 'reactiveEnergy', `q${q}`);
  add(`1-0:${q + 4}.7.0`, 'quantity', 'electricity', 'reactivePower', `q${q}`);
}
add('1-0:9.7.0', 'quantity', 'electricity', 'apparentPower', 'delivered');
add('1-0:10.7.0', 'quantity', 'electricity', 'apparentPower', 'returned');
add('1-0:13.7.0', 'quantity', 'electricity', 'powerFactor');
add('1-0:14.7.0', 'quantity', 'electricity', 'frequency');
add('1-0:15.8.0', 'quantity', 'electricity', 'combinedEnergy');
add('0-0:17.0.0', 'quantity', 'electricity', 'threshold');
add('0-0:96.3.10', 'integer', 'electricity', 'switchPosition');

// IEC 62056 numbers phase quantities by adding 20 (L1), 40 (L2) or 60 (L3) to the total's C.
(['l1', 'l2', 'l3'] as const).forEach((phase, i) => {
  const c = 20 * (i + 1);
  const at = (field: string): string[] => ['electricity', 'phases', phase, field];
  add(`1-0:${c + 1}.7.0`, 'quantity', ...at('powerDelivered'));
  add(`1-0:${c + 2}.7.0`, 'quantity', ...at('powerReturned'));
  add(`1-0:${c + 3}.7.0`, 'quantity', ...at('reactivePowerDelivered'));
  add(`1-0:${c + 4}.7.0`, 'quantity', ...at('reactivePowerReturned'));
  add(`1-0:${c + 11}.7.0`, 'quantity', ...at('current'));
  add(`1-0:${c + 12}.7.0`, 'quantity', ...at('voltage'));
  add(`1-0:${c + 13}.7.0`, 'quantity', ...at('powerFactor'));
  add(`1-0:${c + 11}.4.0`, 'quantity', ...at('fuseThreshold'));
  add(`1-0:${c + 12}.32.0`, 'integer', ...at('voltageSags'));
  add(`1-0:${c + 12}.36.0`, 'integer', ...at('voltageSwells'));
});

add('0-0:96.7.21', 'integer', 'powerFailures', 'short');
add('0-0:96.7.9', 'integer', 'powerFailures', 'long');
add('0-0:96.13.1', 'message', 'messages', 'code');
add('0-0:96.13.0', 'message', 'messages', 'text');
add('1-0:1.4.0', 'quantity', 'capacity', 'currentAverageDemand');

export const SIMPLE_OBIS: ReadonlyMap<string, ObisTarget> = table;

/** Codes with a structure of their own, read in parse.ts and the modules it calls. */
export const OBIS = {
  timestamp: '0-0:1.0.0',
  powerFailureLog: '1-0:99.97.0',
  monthPeak: '1-0:1.6.0',
  peakHistory: '0-0:98.1.0',
} as const;
