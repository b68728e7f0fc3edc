import { parseSensorTopic } from './topics';

/**
 * The FLM reading payload `[ts,value,"unit"]`: compact JSON, no spaces, integers without a
 * decimal point, fractions with at most three decimals (flm-firmware.md §2.2, §2.3).
 */
export type ReadingPayload = [ts: number, value: number, unit: string];

/** Round to three decimals, half away from zero, so 0.1+0.2 prints as 0.3 and not 0.30000000000000004. */
export function round3(v: number): number {
  const r = Math.sign(v) * Math.round(Math.abs(v) * 1000) / 1000;
  return Object.is(r, -0) ? 0 : r;
}

export function encodeReading(ts: number, value: number, unit: string): string {
  if (!Number.isInteger(ts) || ts < 0) throw new Error(`reading timestamp must be whole Unix seconds, got ${ts}`);
  if (!Number.isFinite(value)) throw new Error(`reading value must be a finite number, got ${value}`);
  return JSON.stringify([ts, round3(value), unit]);
}

/** Parse and check an FLM payload; throws with a clear message on anything else. */
export function decodeReading(raw: string | Uint8Array): ReadingPayload {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`reading payload is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (
    !Array.isArray(v) || v.length !== 3 ||
    !Number.isInteger(v[0]) || typeof v[1] !== 'number' || !Number.isFinite(v[1]) || typeof v[2] !== 'string'
  ) {
    throw new Error(`reading payload must be [ts,value,"unit"], got ${text.slice(0, 60)}`);
  }
  return v as ReadingPayload;
}

/** What goes on the wire: readings in exact FLM form, objects as JSON, the rest as text. */
export function wirePayload(topic: string, payload: unknown): string | Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return payload;
  if (parseSensorTopic(topic) && Array.isArray(payload) && payload.length === 3) {
    return encodeReading(payload[0] as number, payload[1] as number, payload[2] as string);
  }
  if (payload === undefined || payload === null) return '';
  return typeof payload === 'object' ? JSON.stringify(payload) : String(payload);
}
