import { encodeFlm03Frame } from './flm03-frame';
import { SUBTYPES } from '../config/schema';

/**
 * FLM03 message payloads (docs/protocols/sensor-board.md#flm03-message-types; field layouts as in
 * flukso/flxd `decode.h`, `config.h`): little-endian, laid out like the C structs, padding
 * included.
 *
 * Types with a known layout for are decoded into records. A payload whose length does not
 * fit its type's layout is reported as malformed rather than half-read. Types without a known
 * layout (time_slew, kube_packet, debug, rfm, exit, anything above 16) keep their raw bytes.
 */

const FLM03_TYPE = {
  ping: 0,
  pong: 1,
  port_config: 2,
  time_stamp: 3,
  time_step: 4,
  time_slew: 5,
  voltage: 6,
  current: 7,
  ct_data: 8,
  pulse_data: 9,
  kube_packet: 10,
  kube_ctrl: 11,
  debug: 12,
  sar: 13,
  sdadc: 14,
  rfm: 15,
  exit: 16,
} as const;

export type Flm03TypeName = keyof typeof FLM03_TYPE;
const TYPE_NAMES = Object.keys(FLM03_TYPE) as Flm03TypeName[];

export function flm03TypeName(type: number): Flm03TypeName | undefined {
  return TYPE_NAMES[type];
}

/**
 * Order of the 6 counters and 12 gauges in ct_data; also the FLM03 sensor index within a clamp.
 * The sensor table's subtypes are these parameters, in this order.
 */
export const CT_PARAMETERS = SUBTYPES;
export type CtParameter = (typeof CT_PARAMETERS)[number];
export const CT_COUNTERS = 6;
export const CT_GAUGES = 12;

/** Samples in one voltage/current/sar/sdadc record. */
const FLM03_SAMPLES = 32;
/** Ports in a port_config: clamps 1–3, pulse inputs 4–6, and a seventh. */
export const FLM03_PORTS = 7;

interface Stamp {
  /** board Unix seconds */
  time: number;
  /** milliseconds within that second */
  millis: number;
}

export interface CtCounter {
  /** whole Wh (pplus, pminus) or varh (q1..q4) */
  integer: number;
  /** 16-bit binary fraction of a unit */
  fraction: number;
}

export interface CtData extends Stamp {
  type: 'ct_data';
  /** 0-based clamp port, 0..2 */
  port: number;
  /** pplus, pminus, q1..q4 */
  counters: CtCounter[];
  /** raw signed Q20.11, in CT_PARAMETERS order */
  gauges: number[];
}

export interface PulseData extends Stamp {
  type: 'pulse_data';
  /** 0-based port, 3..5 for the pulse inputs */
  port: number;
  /** raw signed Q20.11, counter units per second */
  gauge: number;
  /** whole counter units */
  counter: number;
  /** thousandths of a counter unit */
  counterMillis: number;
}

export interface VoltageSamples extends Stamp {
  type: 'voltage';
  /** mV */
  rms: number;
  /** mV */
  samples: number[];
}

export interface CurrentSamples extends Stamp {
  type: 'current';
  /** 0-based clamp */
  index: number;
  /** mA */
  rms: number;
  /** mA */
  samples: number[];
}

export interface SarSamples extends Stamp {
  type: 'sar';
  /** raw ADC counts */
  samples: number[];
}

export interface SdadcSamples extends Stamp {
  type: 'sdadc';
  index: number;
  /** raw signed ADC counts */
  samples: number[];
}

export interface Flm03PortSettings {
  /** whole meter-constant units per pulse */
  constant: number;
  /** thousandths of the meter constant */
  fraction: number;
  /** clamp rating index: 0 = 50 A, 1 = 100 A, 2 = 250 A, 3 = 500 A */
  current: number;
  /** clamp phase shift, board units */
  shift: number;
  enable: boolean;
  /** pulse trigger: FLM03_TRIGGER */
  trigger: number;
}

export interface Flm03PortConfig {
  type: 'port_config';
  ports: Flm03PortSettings[];
  /** FLM03_PHASE */
  phase: number;
  /** LED mode; 255 = heartbeat */
  led: number;
  /** production batch, from the device serial */
  batch: number;
  /** FLM03_MATH */
  math: number;
}

export const FLM03_PHASE = { '1p': 0, '3p+n': 1, '3p-n': 2 } as const;
export const FLM03_MATH = { none: 0, 'p2+p1': 1, 'p1+p2+p3': 2 } as const;
export const FLM03_TRIGGER = { edge: 0, level: 1 } as const;
export const CLAMP_CURRENT_INDEX: Readonly<Record<number, number>> = { 50: 0, 100: 1, 250: 2, 500: 3 };
export const LED_HEARTBEAT = 255;

export interface TimeMessage {
  type: 'time_stamp' | 'time_step';
  /** Unix seconds */
  time: number;
}

export interface KubeCtrl {
  type: 'kube_ctrl';
  /** radio group the board listens on */
  group: number;
}

export interface RawMessage {
  type: 'ping' | 'pong' | 'time_slew' | 'kube_packet' | 'debug' | 'rfm' | 'exit';
  payload: Uint8Array;
}

export interface UnknownMessage {
  type: 'unknown';
  typeId: number;
  payload: Uint8Array;
}

export type Flm03Message =
  | CtData
  | PulseData
  | VoltageSamples
  | CurrentSamples
  | SarSamples
  | SdadcSamples
  | Flm03PortConfig
  | TimeMessage
  | KubeCtrl
  | RawMessage
  | UnknownMessage;

export type Flm03DecodeResult = { ok: true; message: Flm03Message } | { ok: false; typeId: number; reason: string };

const CT_DATA_BYTES = 8 + CT_COUNTERS * 4 + CT_COUNTERS * 2 + CT_GAUGES * 4;
const PULSE_DATA_BYTES = 18;
/** the C struct is padded to a multiple of 4 */
const PULSE_DATA_PADDED = 20;
const SAMPLES_BYTES = 12 + FLM03_SAMPLES * 4;
const SAR_BYTES = 6 + FLM03_SAMPLES * 2;
const SAR_PADDED = SAR_BYTES + 2;
const SDADC_BYTES = 8 + FLM03_SAMPLES * 2;
const PORT_BYTES = 8;
const PORT_CONFIG_BYTES = FLM03_PORTS * PORT_BYTES + 4;

const view = (p: Uint8Array): DataView => new DataView(p.buffer, p.byteOffset, p.byteLength);

function fail(typeId: number, reason: string): Flm03DecodeResult {
  return { ok: false, typeId, reason };
}

function badLength(typeId: number, got: number, want: string): Flm03DecodeResult {
  return fail(typeId, `${flm03TypeName(typeId)} payload of ${got} bytes, expected ${want}`);
}

/** A frame's payload as a typed message. Never throws. */
export function decodeFlm03Payload(typeId: number, payload: Uint8Array): Flm03DecodeResult {
  const name = flm03TypeName(typeId);
  const n = payload.length;
  const dv = view(payload);
  const ok = (message: Flm03Message): Flm03DecodeResult => ({ ok: true, message });
  switch (name) {
    case undefined:
      return ok({ type: 'unknown', typeId, payload });
    case 'ping':
    case 'pong':
    case 'time_slew':
    case 'kube_packet':
    case 'debug':
    case 'rfm':
    case 'exit':
      return ok({ type: name, payload });
    case 'time_stamp':
    case 'time_step': {
      // flxd copies the payload into a time_t: 4 bytes on its 32-bit MIPS; 8 would be a 64-bit one.
      if (n === 4) return ok({ type: name, time: dv.getUint32(0, true) });
      if (n === 8) {
        const time = Number(dv.getBigUint64(0, true));
        if (!Number.isSafeInteger(time)) return fail(typeId, `${name} ${time} is not a usable time`);
        return ok({ type: name, time });
      }
      return badLength(typeId, n, '4 or 8');
    }
    case 'ct_data': {
      if (n !== CT_DATA_BYTES) return badLength(typeId, n, String(CT_DATA_BYTES));
      const counters: CtCounter[] = [];
      for (let i = 0; i < CT_COUNTERS; i++) {
        counters.push({
          integer: dv.getUint32(8 + 4 * i, true),
          fraction: dv.getUint16(8 + 4 * CT_COUNTERS + 2 * i, true),
        });
      }
      const gauges: number[] = [];
      const g0 = 8 + 6 * CT_COUNTERS;
      for (let i = 0; i < CT_GAUGES; i++) gauges.push(dv.getInt32(g0 + 4 * i, true));
      return ok({
        type: 'ct_data',
        time: dv.getUint32(0, true),
        millis: dv.getUint16(4, true),
        port: payload[6]!,
        counters,
        gauges,
      });
    }
    case 'pulse_data': {
      if (n !== PULSE_DATA_BYTES && n !== PULSE_DATA_PADDED) {
        return badLength(typeId, n, `${PULSE_DATA_BYTES} or ${PULSE_DATA_PADDED}`);
      }
      return ok({
        type: 'pulse_data',
        time: dv.getUint32(0, true),
        millis: dv.getUint16(4, true),
        port: payload[6]!,
        gauge: dv.getInt32(8, true),
        counter: dv.getUint32(12, true),
        counterMillis: dv.getUint16(16, true),
      });
    }
    case 'voltage':
    case 'current': {
      if (n !== SAMPLES_BYTES) return badLength(typeId, n, String(SAMPLES_BYTES));
      const samples: number[] = [];
      for (let i = 0; i < FLM03_SAMPLES; i++) samples.push(dv.getInt32(12 + 4 * i, true));
      const stamp = { time: dv.getUint32(0, true), millis: dv.getUint16(4, true) };
      const rms = dv.getInt32(8, true);
      return name === 'voltage'
        ? ok({ type: 'voltage', ...stamp, rms, samples })
        : ok({ type: 'current', ...stamp, index: payload[6]!, rms, samples });
    }
    case 'sar': {
      if (n !== SAR_BYTES && n !== SAR_PADDED) return badLength(typeId, n, `${SAR_BYTES} or ${SAR_PADDED}`);
      const samples: number[] = [];
      for (let i = 0; i < FLM03_SAMPLES; i++) samples.push(dv.getUint16(6 + 2 * i, true));
      return ok({ type: 'sar', time: dv.getUint32(0, true), millis: dv.getUint16(4, true), samples });
    }
    case 'sdadc': {
      if (n !== SDADC_BYTES) return badLength(typeId, n, String(SDADC_BYTES));
      const samples: number[] = [];
      for (let i = 0; i < FLM03_SAMPLES; i++) samples.push(dv.getInt16(8 + 2 * i, true));
      return ok({
        type: 'sdadc',
        time: dv.getUint32(0, true),
        millis: dv.getUint16(4, true),
        index: payload[6]!,
        samples,
      });
    }
    case 'port_config': {
      if (n !== PORT_CONFIG_BYTES) return badLength(typeId, n, String(PORT_CONFIG_BYTES));
      const ports: Flm03PortSettings[] = [];
      for (let p = 0; p < FLM03_PORTS; p++) {
        const o = p * PORT_BYTES;
        ports.push({
          constant: dv.getUint16(o, true),
          fraction: dv.getUint16(o + 2, true),
          current: payload[o + 4]!,
          shift: payload[o + 5]!,
          enable: payload[o + 6] !== 0,
          trigger: payload[o + 7]!,
        });
      }
      const m = FLM03_PORTS * PORT_BYTES;
      return ok({
        type: 'port_config',
        ports,
        phase: payload[m]!,
        led: payload[m + 1]!,
        batch: payload[m + 2]!,
        math: payload[m + 3]!,
      });
    }
    case 'kube_ctrl':
      if (n !== 1) return badLength(typeId, n, '1');
      return ok({ type: 'kube_ctrl', group: payload[0]! });
  }
}

function u(value: number, bits: 8 | 16 | 32, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits)
    throw new RangeError(`${what} ${value} is not a u${bits}`);
  return value;
}

function i32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff)
    throw new RangeError(`${what} ${value} is not an i32`);
  return value;
}

function i16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -0x8000 || value > 0x7fff)
    throw new RangeError(`${what} ${value} is not an i16`);
  return value;
}

function samplesOf(samples: number[], what: string): number[] {
  if (samples.length !== FLM03_SAMPLES)
    throw new RangeError(`${what} needs ${FLM03_SAMPLES} samples, got ${samples.length}`);
  return samples;
}

/**
 * A message's payload bytes, the inverse of decodeFlm03Payload. The host sends port_config,
 * time_step and kube_ctrl; the others are here for the board emulator and tests.
 * Throws RangeError on a field that does not fit its wire type.
 */
function encodeFlm03Payload(m: Flm03Message): Uint8Array {
  switch (m.type) {
    case 'unknown':
    case 'ping':
    case 'pong':
    case 'time_slew':
    case 'kube_packet':
    case 'debug':
    case 'rfm':
    case 'exit':
      return m.payload.slice();
    case 'time_stamp':
    case 'time_step': {
      const p = new Uint8Array(4);
      view(p).setUint32(0, u(m.time, 32, 'time'), true);
      return p;
    }
    case 'kube_ctrl':
      return Uint8Array.of(u(m.group, 8, 'kube group'));
    case 'ct_data': {
      if (m.counters.length !== CT_COUNTERS || m.gauges.length !== CT_GAUGES) {
        throw new RangeError(`ct_data needs ${CT_COUNTERS} counters and ${CT_GAUGES} gauges`);
      }
      const p = new Uint8Array(CT_DATA_BYTES);
      const dv = view(p);
      stamp(dv, m);
      p[6] = u(m.port, 8, 'port');
      m.counters.forEach((c, i) => {
        dv.setUint32(8 + 4 * i, u(c.integer, 32, 'counter'), true);
        dv.setUint16(8 + 4 * CT_COUNTERS + 2 * i, u(c.fraction, 16, 'counter fraction'), true);
      });
      m.gauges.forEach((g, i) => dv.setInt32(8 + 6 * CT_COUNTERS + 4 * i, i32(g, 'gauge'), true));
      return p;
    }
    case 'pulse_data': {
      const p = new Uint8Array(PULSE_DATA_PADDED);
      const dv = view(p);
      stamp(dv, m);
      p[6] = u(m.port, 8, 'port');
      dv.setInt32(8, i32(m.gauge, 'gauge'), true);
      dv.setUint32(12, u(m.counter, 32, 'counter'), true);
      dv.setUint16(16, u(m.counterMillis, 16, 'counter millis'), true);
      return p;
    }
    case 'voltage':
    case 'current': {
      const p = new Uint8Array(SAMPLES_BYTES);
      const dv = view(p);
      stamp(dv, m);
      if (m.type === 'current') p[6] = u(m.index, 8, 'index');
      dv.setInt32(8, i32(m.rms, 'rms'), true);
      samplesOf(m.samples, m.type).forEach((s, i) => dv.setInt32(12 + 4 * i, i32(s, 'sample'), true));
      return p;
    }
    case 'sar': {
      const p = new Uint8Array(SAR_PADDED);
      const dv = view(p);
      stamp(dv, m);
      samplesOf(m.samples, 'sar').forEach((s, i) => dv.setUint16(6 + 2 * i, u(s, 16, 'sample'), true));
      return p;
    }
    case 'sdadc': {
      const p = new Uint8Array(SDADC_BYTES);
      const dv = view(p);
      stamp(dv, m);
      p[6] = u(m.index, 8, 'index');
      samplesOf(m.samples, 'sdadc').forEach((s, i) => dv.setInt16(8 + 2 * i, i16(s, 'sample'), true));
      return p;
    }
    case 'port_config': {
      if (m.ports.length !== FLM03_PORTS)
        throw new RangeError(`port_config needs ${FLM03_PORTS} ports, got ${m.ports.length}`);
      const p = new Uint8Array(PORT_CONFIG_BYTES);
      const dv = view(p);
      m.ports.forEach((s, i) => {
        const o = i * PORT_BYTES;
        dv.setUint16(o, u(s.constant, 16, 'constant'), true);
        dv.setUint16(o + 2, u(s.fraction, 16, 'fraction'), true);
        p[o + 4] = u(s.current, 8, 'current index');
        p[o + 5] = u(s.shift, 8, 'shift');
        p[o + 6] = s.enable ? 1 : 0;
        p[o + 7] = u(s.trigger, 8, 'trigger');
      });
      const o = FLM03_PORTS * PORT_BYTES;
      p[o] = u(m.phase, 8, 'phase');
      p[o + 1] = u(m.led, 8, 'led');
      p[o + 2] = u(m.batch, 8, 'batch');
      p[o + 3] = u(m.math, 8, 'math');
      return p;
    }
  }
}

function stamp(dv: DataView, s: Stamp): void {
  dv.setUint32(0, u(s.time, 32, 'time'), true);
  dv.setUint16(4, u(s.millis, 16, 'millis'), true);
}

/** A message as a whole frame. */
export function encodeFlm03Message(m: Flm03Message): Uint8Array {
  const typeId = m.type === 'unknown' ? m.typeId : FLM03_TYPE[m.type];
  return encodeFlm03Frame(typeId, encodeFlm03Payload(m));
}

/** The frame the host answers a mismatched board clock with (docs/protocols/sensor-board.md#board-time). */
export function timeStepFrame(unixSeconds: number): Uint8Array {
  return encodeFlm03Message({ type: 'time_step', time: Math.floor(unixSeconds) });
}

/** The frame that tells the board which Kube radio group to listen on. */
export function kubeCtrlFrame(group: number): Uint8Array {
  return encodeFlm03Message({ type: 'kube_ctrl', group });
}
