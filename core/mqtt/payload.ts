import { parseSensorTopic } from './topics';

/**
 * The FLM reading payload `[ts,value,"unit"]`: compact JSON, no spaces, integers without a
 * decimal point, fractions with at most three decimals (docs/protocols/flm-mqtt.md#payload).
 */
export type ReadingPayload = [ts: number, value: number, unit: string];

/** Round to three decimals, half away from zero, so 0.1+0.2 prints as 0.3 and not 0.30000000000000004. */
export function round3(v: number): number {
  const r = (Math.sign(v) * Math.round(Math.abs(v) * 1000)) / 1000;
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
    !Array.isArray(v) ||
    v.length !== 3 ||
    !Number.isInteger(v[0]) ||
    typeof v[1] !== 'number' ||
    !Number.isFinite(v[1]) ||
    typeof v[2] !== 'string'
  ) {
    throw new Error(`reading payload must be [ts,value,"unit"], got ${text.slice(0, 60)}`);
  }
  return v as ReadingPayload;
}

/** A reading as people publish it into an FLM broker: the unit may be missing, the time too. */
export interface LooseReading {
  ts: number;
  value: number;
  unit?: string;
}

const LOOSE_FORMS = 'v, [v], [v,"unit"] or [ts,v,"unit"]';

/**
 * The payload forms FLM users publish besides the FLM's own (docs/protocols/flm-mqtt.md#payload;
 * gebhardm/energyhacks#1): `v`, `[v]`, `[v,"unit"]` (stamped `nowSeconds`) and `[ts,v,"unit"]`.
 * FLM03's spaces after the commas are JSON too. Anything else throws with the forms it takes.
 */
export function decodeLooseReading(raw: string | Uint8Array, nowSeconds: number): LooseReading {
  const text = (typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')).trim();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(
      `reading payload must be ${LOOSE_FORMS}; got ${JSON.stringify(text.slice(0, 60))}, which is not JSON`,
    );
  }
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const bad = (why: string) => new Error(`reading payload must be ${LOOSE_FORMS}; got ${text.slice(0, 60)} (${why})`);
  if (finite(v)) return { ts: nowSeconds, value: v };
  if (!Array.isArray(v)) throw bad('not a number or an array');
  if (v.length === 1 && finite(v[0])) return { ts: nowSeconds, value: v[0] };
  if (v.length === 2 && finite(v[0]) && typeof v[1] === 'string') return { ts: nowSeconds, value: v[0], unit: v[1] };
  if (v.length === 3 && finite(v[1]) && typeof v[2] === 'string') {
    if (!Number.isInteger(v[0]) || (v[0] as number) < 0) throw bad('the timestamp must be whole Unix seconds');
    return { ts: v[0] as number, value: v[1], unit: v[2] };
  }
  throw bad(
    v.length > 3 || v.length === 0
      ? `an array of ${v.length}`
      : 'a value that is not a finite number, or a unit that is not a string',
  );
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
