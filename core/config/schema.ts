import { z } from 'zod';
import { CLOCK_VALID_AFTER } from './clock-valid';

/** Ids and keys are 128-bit values written as 32 lowercase hex characters, as on the FLM. */
export const hex32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

export const SENSOR_CLASSES = ['analog', 'pulse', 'cosem', 'kube', 'virtual'] as const;
/** Meter types first (pulse units, docs/protocols/flm-mqtt.md#units), then the Kube fields. */
const SENSOR_TYPES = [
  'electricity',
  'water',
  'gas',
  'heat',
  'fuel',
  'pellet',
  'time',
  'temperature',
  'humidity',
  'light',
  'pressure',
  'battery',
  'error',
  'movement',
  'vibration',
  'proximity',
] as const;
/** FLM03 per-clamp parameters (docs/protocols/sensor-board.md#flm03-message-types). */
export const SUBTYPES = [
  'pplus',
  'pminus',
  'q1',
  'q2',
  'q3',
  'q4',
  'vrms',
  'irms',
  'pf',
  'vthd',
  'ithd',
  'alpha',
] as const;
type ClampRating = 50 | 100 | 250 | 500;

/**
 * The fields a FluksoKube reports, and what the FLM's Kube registry stores each as
 * (docs/protocols/sensor-board.md#kube-data): running event counts are counters, everything
 * measured is a gauge. On the FLM a Kube sensor's data_type comes from the registry, not from the
 * user; the table keeps that rule.
 */
export const KUBE_FIELD_DATA_TYPE = {
  temperature: 'gauge',
  humidity: 'gauge',
  light: 'gauge',
  pressure: 'gauge',
  battery: 'gauge',
  error: 'gauge',
  movement: 'counter',
  vibration: 'counter',
  proximity: 'counter',
} as const satisfies Partial<Record<(typeof SENSOR_TYPES)[number], 'gauge' | 'counter'>>;
export type KubeFieldType = keyof typeof KUBE_FIELD_DATA_TYPE;
export const isKubeField = (type: string): type is KubeFieldType => Object.hasOwn(KUBE_FIELD_DATA_TYPE, type);
/** Kube node ids the FLM hands out when it pairs a Kube (kubed's max_nodes 30). */
const KUBE_KID_MAX = 30;

/** Meter constant: Wh or L per pulse with at most three decimals (the FLM UI's rule). */
const meterConstant = z
  .number()
  .positive()
  .max(1e6)
  .refine((c) => Math.abs(Math.round(c * 1000) - c * 1000) < 1e-6, 'a meter constant has at most 3 decimals');

export const sensorSchema = z
  .object({
    /** FLM config section number ("1", "2", … in /device/<did>/config/sensor). */
    n: z.number().int().min(1).max(128).optional(),
    id: hex32.optional(),
    name: z
      .string()
      .regex(
        /^\w[\w \-.]{0,31}$/,
        'a name starts with a letter or digit and has at most 32 letters, digits, spaces, - . _',
      ),
    type: z.enum(SENSOR_TYPES),
    class: z.enum(SENSOR_CLASSES),
    port: z.array(z.number().int().min(1).max(255)).default([]),
    constant: meterConstant.optional(),
    voltage: z.number().int().min(1).max(999).optional(),
    current: z.union([z.literal(50), z.literal(100), z.literal(250), z.literal(500)]).optional(),
    enable: z.boolean().default(true),
    /** what history stores; default counter, and for a Kube sensor its field's (KUBE_FIELD_DATA_TYPE) */
    data_type: z.enum(['counter', 'gauge']).optional(),
    rid: z.number().int().min(0).default(0),
    subtype: z.enum(SUBTYPES).optional(),
    /** kube: the node id of the Kube that reports this field (uci `kid`) */
    kid: z.number().int().min(1).max(KUBE_KID_MAX).optional(),
    /** cosem: which P1 reading feeds it ("net", "gas", "delivered:t1", "l1", "capacity:peak", …) */
    p1: z
      .string()
      .regex(/^[a-z0-9]+(:[a-z0-9]+)?$/, 'a P1 reading key such as net, gas, water, delivered:t1, l1')
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.class === 'pulse' && s.constant === undefined) {
      ctx.addIssue({ code: 'custom', path: ['constant'], message: 'a pulse sensor needs a meter constant' });
    }
    if ((s.class === 'analog' || s.class === 'pulse') && s.port.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: `an ${s.class} sensor needs at least one port` });
    }
    if (s.class === 'kube') {
      if (s.kid === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['kid'],
          message: `a kube sensor needs the Kube's node id (kid 1..${KUBE_KID_MAX})`,
        });
      if (!isKubeField(s.type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['type'],
          message: `a kube sensor's type is the field it reports: ${Object.keys(KUBE_FIELD_DATA_TYPE).join(', ')}`,
        });
      } else if (s.data_type !== undefined && s.data_type !== KUBE_FIELD_DATA_TYPE[s.type]) {
        ctx.addIssue({
          code: 'custom',
          path: ['data_type'],
          message: `a Kube ${s.type} is stored as a ${KUBE_FIELD_DATA_TYPE[s.type]}, as the Kube registry says`,
        });
      }
    } else if (s.kid !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['kid'], message: 'only a kube sensor has a Kube node id' });
    }
  });

export type SensorInput = z.input<typeof sensorSchema>;

export const deviceSchema = z
  .object({
    id: hex32,
    key: hex32,
    phase: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Readings stamped at or before this Unix time are held back (the FLM's 2009-02-13 rule). */
    validAfter: z.number().int().min(0).default(CLOCK_VALID_AFTER),
    sensors: z.array(sensorSchema).max(128).default([]),
  })
  .strict();

export type DeviceInput = z.input<typeof deviceSchema>;

/** A sensor after validation and normalisation: every field the pipeline needs is set. */
export interface Sensor {
  n: number;
  id: string;
  name: string;
  type: (typeof SENSOR_TYPES)[number];
  class: (typeof SENSOR_CLASSES)[number];
  port: number[];
  constant?: number;
  voltage?: number;
  current?: ClampRating;
  enable: boolean;
  data_type: 'counter' | 'gauge';
  rid: number;
  subtype?: (typeof SUBTYPES)[number];
  p1?: string;
  kid?: number;
}

export interface Device {
  id: string;
  key: string;
  phase: 1 | 3;
  validAfter: number;
  sensors: Sensor[];
}

/** Human-readable one-line summary of a zod error: "sensors.1.constant: a pulse sensor needs…". */
export function describeZodError(err: z.ZodError, max = 3): string {
  const parts = err.issues.slice(0, max).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  const more = err.issues.length - max;
  return parts.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}
