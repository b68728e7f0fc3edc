import type { P1Time } from './time';

/**
 * A parsed P1 telegram: what the flm-p1 node emits as `msg.payload`. Plain JSON: numbers are
 * numbers, every measured value carries its unit as the meter sent it (only `m3` becomes
 * `m³`), times are Unix seconds UTC plus an ISO string. A field the meter did not send is
 * absent rather than null, except `timestamp`, which is always there (null when missing or
 * invalid) because every consumer looks for it.
 */
export interface P1Telegram {
  header: P1Header;
  /** 1-3:0.2.8, e.g. "42", "50" */
  p1Version?: string;
  /** 0-0:96.1.4, Belgian e-MUCS version, e.g. "50217" */
  emucsVersion?: string;
  /** 0-0:1.0.0, the telegram's time */
  timestamp: P1Time | null;
  /** 0-0:96.1.1 (or 96.1.0 on HU/IE meters), decoded when it is hex-encoded ASCII */
  equipmentId?: string;
  /** 0-0:42.0.0, COSEM logical device name (LU, HU), decoded */
  logicalDeviceName?: string;
  /** 0-0:96.1.2 (BE e-MUCS 2.x), decoded */
  serialNumber?: string;
  electricity: Electricity;
  powerFailures?: PowerFailures;
  messages?: Messages;
  /** Belgian capacity tariff */
  capacity?: Capacity;
  /** M-Bus devices (gas, water, heat) by channel, in channel order */
  mbus: MbusDevice[];
  /** objects this parser does not model, keyed by OBIS code, with their raw value groups */
  unknown: Record<string, string[]>;
  /** lines that could not be read; the rest of the telegram still is */
  warnings: string[];
}

export interface P1Header {
  /** the identification line without the leading `/` */
  raw: string;
  /** three-letter manufacturer code, e.g. "ISk", "FLU", "KFM" */
  manufacturer: string | null;
  /** what follows the manufacturer code and the baud-rate character */
  identification: string;
}

export interface Quantity {
  value: number;
  /** null when the meter sent a bare number */
  unit: string | null;
}

export interface EnergyRegisters {
  total?: Quantity;
  tariff1?: Quantity;
  tariff2?: Quantity;
  tariff3?: Quantity;
  tariff4?: Quantity;
}

export interface PhaseValues {
  powerDelivered?: Quantity;
  powerReturned?: Quantity;
  reactivePowerDelivered?: Quantity;
  reactivePowerReturned?: Quantity;
  voltage?: Quantity;
  current?: Quantity;
  powerFactor?: Quantity;
  fuseThreshold?: Quantity;
  voltageSags?: number;
  voltageSwells?: number;
}

/** "Delivered" is energy delivered to the client (import), "returned" is export. */
export interface Electricity {
  delivered: EnergyRegisters;
  returned: EnergyRegisters;
  /** 0-0:96.14.0: 1 or 2 (NL: 1 = low, BE: 1 = day) */
  activeTariff?: number;
  power: { delivered?: Quantity; returned?: Quantity };
  phases: { l1?: PhaseValues; l2?: PhaseValues; l3?: PhaseValues };
  reactiveEnergy?: {
    delivered?: EnergyRegisters;
    returned?: EnergyRegisters;
    q1?: Quantity;
    q2?: Quantity;
    q3?: Quantity;
    q4?: Quantity;
  };
  reactivePower?: {
    delivered?: Quantity;
    returned?: Quantity;
    q1?: Quantity;
    q2?: Quantity;
    q3?: Quantity;
    q4?: Quantity;
  };
  apparentPower?: { delivered?: Quantity; returned?: Quantity };
  /** 1-0:13.7.0 */
  powerFactor?: Quantity;
  /** 1-0:14.7.0 */
  frequency?: Quantity;
  /** 1-0:15.8.0, |import| + |export| */
  combinedEnergy?: Quantity;
  /** 0-0:17.0.0, power or current limit (BE 999.9 kW = none) */
  threshold?: Quantity;
  /** 0-0:96.3.10, breaker: 1 on, 0 off */
  switchPosition?: number;
}

export interface PowerFailures {
  /** 0-0:96.7.21 */
  short?: number;
  /** 0-0:96.7.9 */
  long?: number;
  /** 1-0:99.97.0, long failures: when each ended and how long it lasted */
  log?: PowerFailureEvent[];
}

export interface PowerFailureEvent {
  end: P1Time | null;
  duration: Quantity;
}

export interface Messages {
  /** 0-0:96.13.1, decoded */
  code?: string;
  /** 0-0:96.13.0, decoded */
  text?: string;
}

export interface Capacity {
  /** 1-0:1.4.0, running average of the current quarter hour */
  currentAverageDemand?: Quantity;
  /** 1-0:1.6.0, this month's highest quarter-hour average and when it happened */
  monthPeak?: DemandPeak;
  /** 0-0:98.1.0, the monthly peaks of up to 13 previous months */
  history?: MonthlyPeak[];
}

export interface DemandPeak {
  at: P1Time | null;
  value: number;
  unit: string | null;
}

export interface MonthlyPeak extends DemandPeak {
  /** start of the month the peak belongs to */
  month: P1Time | null;
}

export type MbusMedium = 'gas' | 'water' | 'heat' | 'unknown';

export interface MbusDevice {
  channel: number;
  /** 0-n:24.1.0, EN 13757-3 device type: 3 gas, 7 water, 4 heat */
  deviceType?: number;
  medium: MbusMedium;
  /** 0-n:96.1.0 or 0-n:96.1.1, decoded */
  equipmentId?: string;
  /** 0-n:96.1.2, decoded */
  serialNumber?: string;
  /** 0-n:24.4.0 */
  valvePosition?: number;
  /** 0-n:96.3.10 */
  switchPosition?: number;
  reading?: MbusReading;
}

export interface MbusReading {
  /** where it came from: "24.2.1" (NL, temperature corrected), "24.2.3" (BE), "24.3.0" (DSMR 2.2/3 profile) */
  obis: string;
  /** when the M-Bus meter took the reading; null when invalid (unused slots) */
  capturedAt: P1Time | null;
  value: number;
  /** null in unused slots such as `(00000000)` */
  unit: string | null;
}
