import { crc16Modbus } from '../util/checksum';

/**
 * FluksoKube radio packets as the sensor board hands them over
 * (docs/protocols/sensor-board.md#kube-packets): `grp hdr len payload crc16`, the header JeeLib
 * style (bit 7 CTL, bit 6 DST, bit 5 ACK, bits 0–4 node id), payload fields little-endian,
 * CRC-16/MODBUS over everything before it, sent little-endian.
 */

const KUBE_MAX_PAYLOAD = 66;
const HEADER_BYTES = 3;
const CRC_BYTES = 2;

export interface KubeHeader {
  /** control packet (JeeBoot OAM) rather than data */
  ctl: boolean;
  /** the node id is the destination, not the source */
  dst: boolean;
  /** the sender asks for an acknowledgement */
  ack: boolean;
  /** node id, 0..31 */
  nid: number;
}

/**
 * data: a sensor reading (CTL clear); control: a JeeBoot request (CTL and ACK set,
 * docs/protocols/sensor-board.md#kube-packets); ack: an acknowledgement (CTL set, ACK clear), no
 * content of its own.
 */
export type KubePacketKind = 'data' | 'control' | 'ack';

export interface KubePacket {
  group: number;
  header: KubeHeader;
  kind: KubePacketKind;
  payload: Uint8Array;
}

export type KubeParsed = { ok: true; packet: KubePacket } | { ok: false; reason: string };

function parseKubeHeader(hdr: number): KubeHeader {
  return { ctl: (hdr & 0x80) !== 0, dst: (hdr & 0x40) !== 0, ack: (hdr & 0x20) !== 0, nid: hdr & 0x1f };
}

function encodeKubeHeader(h: KubeHeader): number {
  if (!Number.isInteger(h.nid) || h.nid < 0 || h.nid > 0x1f) throw new RangeError(`Kube node id ${h.nid} is not 0..31`);
  return (h.ctl ? 0x80 : 0) | (h.dst ? 0x40 : 0) | (h.ack ? 0x20 : 0) | h.nid;
}

/** A packet with its CRC checked. Never throws. */
export function parseKubePacket(bytes: Uint8Array): KubeParsed {
  if (bytes.length < HEADER_BYTES + CRC_BYTES)
    return { ok: false, reason: `${bytes.length} bytes is shorter than an empty packet` };
  const len = bytes[2]!;
  if (len > KUBE_MAX_PAYLOAD) return { ok: false, reason: `payload length ${len} exceeds ${KUBE_MAX_PAYLOAD}` };
  if (bytes.length !== HEADER_BYTES + len + CRC_BYTES) {
    return {
      ok: false,
      reason: `${bytes.length} bytes for a ${len}-byte payload (expected ${HEADER_BYTES + len + CRC_BYTES})`,
    };
  }
  const end = HEADER_BYTES + len;
  const want = crc16Modbus(bytes, 0, end);
  const got = bytes[end]! | (bytes[end + 1]! << 8);
  if (got !== want) return { ok: false, reason: `CRC ${hex4(got)} does not match ${hex4(want)}` };
  const header = parseKubeHeader(bytes[1]!);
  const kind: KubePacketKind = !header.ctl ? 'data' : header.ack ? 'control' : 'ack';
  return { ok: true, packet: { group: bytes[0]!, header, kind, payload: bytes.slice(HEADER_BYTES, end) } };
}

/** A packet with its CRC appended; for replies, the emulator and tests. */
export function encodeKubePacket(group: number, header: KubeHeader, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(group) || group < 0 || group > 0xff) throw new RangeError(`Kube group ${group} is not a byte`);
  if (payload.length > KUBE_MAX_PAYLOAD)
    throw new RangeError(`Kube payload of ${payload.length} bytes exceeds ${KUBE_MAX_PAYLOAD}`);
  const out = new Uint8Array(HEADER_BYTES + payload.length + CRC_BYTES);
  out[0] = group;
  out[1] = encodeKubeHeader(header);
  out[2] = payload.length;
  out.set(payload, HEADER_BYTES);
  const crc = crc16Modbus(out, 0, HEADER_BYTES + payload.length);
  out[HEADER_BYTES + payload.length] = crc & 0xff;
  out[HEADER_BYTES + payload.length + 1] = crc >>> 8;
  return out;
}

/** JeeBoot requests (docs/protocols/sensor-board.md#kube-packets), told apart by length. */
export type KubeControl =
  | { request: 'pair'; hwType: number; group: number; nid: number; check: number; hwId: string }
  | { request: 'upgrade'; hwType: number; swVersion: number; swSize: number; swCrc: number }
  | { request: 'download'; swVersion: number; swIndex: number };

export function decodeKubeControl(payload: Uint8Array): KubeControl | null {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  switch (payload.length) {
    case 22: {
      let hwId = '';
      for (const b of payload.subarray(6, 22)) hwId += b.toString(16).padStart(2, '0');
      return {
        request: 'pair',
        hwType: dv.getUint16(0, true),
        group: payload[2]!,
        nid: payload[3]!,
        check: dv.getUint16(4, true),
        hwId,
      };
    }
    case 8:
      return {
        request: 'upgrade',
        hwType: dv.getUint16(0, true),
        swVersion: dv.getUint16(2, true),
        swSize: dv.getUint16(4, true),
        swCrc: dv.getUint16(6, true),
      };
    case 4:
      return { request: 'download', swVersion: dv.getUint16(0, true), swIndex: dv.getUint16(2, true) };
    default:
      return null;
  }
}

/** Registry hw_type of each Kube model (docs/protocols/sensor-board.md#kube-data). */
const KUBE_HW_TYPE = { flk01a: 19217, flk01b: 19218 } as const;
export type KubeModel = keyof typeof KUBE_HW_TYPE;

export type KubeFieldName =
  'temperature' | 'humidity' | 'battery' | 'pressure' | 'light' | 'error' | 'movement' | 'vibration';

export interface KubeField {
  field: KubeFieldName;
  value: number;
  unit: string;
  data_type: 'gauge' | 'counter';
}

export type KubeDecoded = { ok: true; fields: KubeField[] } | { ok: false; reason: string };

/** `roundN` of the registry: half-up at N decimals, `floor(v·10^N + 0.5) / 10^N`. */
export function roundHalfUp(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.floor(v * f + 0.5) / f;
}

const gauge = (field: KubeFieldName, value: number, unit: string): KubeField => ({
  field,
  value,
  unit,
  data_type: 'gauge',
});
const counter = (field: KubeFieldName, value: number): KubeField => ({ field, value, unit: '', data_type: 'counter' });

/**
 * The battery formulas are powers of x with a negative exponent: a raw 0 (FLK01A) would be an
 * infinite voltage. Such a field is left out rather than published as Infinity.
 */
function battery(v: number): KubeField[] {
  return Number.isFinite(v) ? [gauge('battery', v, 'V')] : [];
}

/**
 * A data packet's payload as fields, by model; the format is chosen by length
 * (docs/protocols/sensor-board.md#kube-data).
 */
export function decodeKubeData(model: KubeModel | number, payload: Uint8Array): KubeDecoded {
  const m = typeof model === 'number' ? modelOf(model) : model;
  if (!m) return { ok: false, reason: `no decoder for Kube hw_type ${model}` };
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length === 4) return { ok: true, fields: [counter('movement', dv.getUint32(0, true))] };
  if (m === 'flk01a' && payload.length === 6) {
    const t = dv.getUint16(0, true);
    const h = dv.getUint16(2, true);
    const b = payload[4]!;
    return {
      ok: true,
      fields: [
        gauge('temperature', roundHalfUp(-46.85 + (175.72 * t) / 65536, 2), '°C'),
        gauge('humidity', roundHalfUp(-6 + (125 * h) / 65536, 1), '%'),
        ...battery(roundHalfUp(27.43 * b ** -1.04, 1)),
        gauge('error', payload[5]!, ''),
      ],
    };
  }
  if (m === 'flk01b' && payload.length === 9) {
    const w = dv.getUint32(0, true);
    const light = dv.getUint16(4, true);
    const x = payload[6]! | (payload[7]! << 8) | (payload[8]! << 16);
    const pressure = w & 0xfffff;
    const humidity = w >>> 20;
    const temperature = x & 0x3fff;
    const batt = (x >>> 14) & 0x7;
    const error = (x >>> 17) & 0x7f;
    return {
      ok: true,
      fields: [
        gauge('temperature', roundHalfUp(-46.85 + (175.72 * temperature) / 16384, 2), '°C'),
        gauge('humidity', roundHalfUp(-6 + (125 * humidity) / 4096, 1), '%'),
        ...battery(roundHalfUp(26.93 * (batt + 8.5) ** -0.985, 1)),
        gauge('pressure', pressure * 0.25, 'Pa'),
        gauge('light', light * 0.25, 'lx'),
        gauge('error', error, ''),
      ],
    };
  }
  if (m === 'flk01b' && payload.length === 2)
    return { ok: true, fields: [counter('vibration', dv.getUint16(0, true))] };
  return { ok: false, reason: `no ${m.toUpperCase()} format is ${payload.length} bytes long` };
}

/**
 * A data payload decoded by its length alone. Each FLK01A and FLK01B format has a length of its
 * own (6; 9 and 2), and the 4-byte movement count is the same on both, so a host needs no
 * record of which model a node id is.
 */
export function decodeKubeAuto(payload: Uint8Array): KubeDecoded {
  if (payload.length !== 6 && payload.length !== 4 && payload.length !== 9 && payload.length !== 2) {
    return {
      ok: false,
      reason: `no Kube format is ${payload.length} bytes long (FLK01A sends 6 or 4, FLK01B 9, 4 or 2)`,
    };
  }
  return decodeKubeData(payload.length === 6 ? 'flk01a' : 'flk01b', payload);
}

/** Names of the FLK01B error bits, lowest first (sensor error flags, then board events). */
const FLK01B_ERROR_BITS = [
  'temperature',
  'humidity',
  'light',
  'pressure',
  'accelerometer',
  'brown-out',
  'watchdog',
] as const;

export function flk01bErrors(error: number): (typeof FLK01B_ERROR_BITS)[number][] {
  return FLK01B_ERROR_BITS.filter((_, i) => (error >>> i) & 1);
}

function modelOf(hwType: number): KubeModel | undefined {
  return (Object.keys(KUBE_HW_TYPE) as KubeModel[]).find((k) => KUBE_HW_TYPE[k] === hwType);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
