import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * JSON that arrives on the wire (MQTT payloads from brokers we do not own) is checked here, with
 * JSON schemas compiled by ajv (config from people is zod's job, core/config/schema.ts).
 * `allowUnionTypes`: the FLM turns every uci value that looks like a number into one, so a
 * field may be a string on one FLM and a number on the next.
 */
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });

function compileWire<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** ajv's errors as one readable line: "/3/enable: must be equal to one of the allowed values". */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, max = 3): string {
  const list = errors ?? [];
  const parts = list.slice(0, max).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? 'is not valid'}`);
  const more = list.length - max;
  return parts.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}

/**
 * One section of `/device/<did>/config/sensor` as tmpod publishes it
 * (docs/protocols/flm-mqtt.md#sensor-table): uci options, numbers where the text looked like one.
 * Options we do not read (obis, derive, kid, counter, …) are allowed; those we read must have a
 * usable type.
 */
const sensorSection = {
  type: 'object',
  properties: {
    id: { type: ['string', 'number'] },
    type: { type: 'string', minLength: 1 },
    function: { type: ['string', 'number'] },
    class: { type: 'string' },
    enable: { enum: [0, 1, '0', '1', true, false] },
    data_type: { type: 'string' },
    rid: { type: 'integer', minimum: 0 },
    subtype: { type: 'string' },
  },
};

/** The whole config object: "main", "daemon", … and numbered sensor sections, each an object. */
const flmSensorConfigSchema = {
  type: 'object',
  patternProperties: { '^[0-9]+$': sensorSection },
  additionalProperties: { type: 'object' },
};

export interface FlmSensorSection {
  id?: string | number;
  type?: string;
  function?: string | number;
  class?: string;
  enable?: 0 | 1 | '0' | '1' | boolean;
  data_type?: string;
  rid?: number;
  subtype?: string;
  [option: string]: unknown;
}

export type FlmSensorConfig = Record<string, FlmSensorSection>;

export const validateFlmSensorConfig = compileWire<FlmSensorConfig>(flmSensorConfigSchema);
