import type { ErrorObject } from 'ajv';
// Draft 2019-09, for dependentRequired.
import Ajv2019 from 'ajv/dist/2019';

/**
 * Home Assistant's MQTT sensor discovery config as a JSON schema, written by hand from HA's
 * documentation (integrations/sensor.mqtt "Configuration variables", integrations/sensor
 * "Device class", developers.home-assistant.io docs/core/entity/sensor "Available device
 * classes" and "Available state classes", docs/mqtt discovery "Device" and "Origin" blocks),
 * validated with ajv. Full (unabbreviated) field names only, since that is what we publish.
 *
 * It is stricter than HA in one way: unknown keys are an error (HA drops them silently), so a
 * misspelt field fails here instead of being ignored there.
 */

/** sensor.md "Available device classes": units HA accepts per class (the classes we may use, and a few neighbours); null: no unit. */
const DEVICE_CLASS_UNITS: Readonly<Record<string, readonly (string | null)[]>> = {
  apparent_power: ['VA', 'mVA', 'kVA'],
  battery: ['%'],
  current: ['A', 'mA'],
  energy: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
  frequency: ['Hz', 'kHz', 'MHz', 'GHz'],
  gas: ['L', 'm³', 'ft³', 'CCF', 'MCF'],
  humidity: ['%'],
  illuminance: ['lx'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW'],
  power_factor: ['%', null],
  pressure: ['Pa', 'hPa', 'kPa', 'bar', 'cbar', 'mbar', 'mmHg', 'inHg', 'psi'],
  reactive_energy: ['varh', 'kvarh'],
  reactive_power: ['mvar', 'var', 'kvar'],
  temperature: ['°C', '°F', 'K'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  volume: ['L', 'mL', 'gal', 'fl. oz.', 'm³', 'ft³', 'CCF', 'MCF'],
  volume_flow_rate: ['m³/h', 'm³/min', 'm³/s', 'ft³/min', 'L/h', 'L/min', 'L/s', 'gal/min', 'mL/s'],
  volume_storage: ['L', 'mL', 'gal', 'fl. oz.', 'm³', 'ft³', 'CCF', 'MCF'],
  water: ['L', 'gal', 'm³', 'ft³', 'CCF', 'MCF'],
};

/** sensor.md: classes whose values accumulate; `measurement` makes no sense (and HA warns) for them. */
const ACCUMULATING = ['energy', 'gas', 'water', 'volume', 'reactive_energy', 'monetary'];

/** Jinja in the MQTT docs' sense: a template, here one that reads the value out of value_json. */
const template = { type: 'string', pattern: '^\\{\\{[\\s\\S]*\\}\\}$' };
/** An MQTT topic HA may subscribe to; a leading slash (the FLM's topics) is legal MQTT. */
const topic = { type: 'string', minLength: 1, maxLength: 65535, pattern: '^[^\\u0000]+$' };
const url = { type: 'string', pattern: '^https?://\\S+$' };

const deviceSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    identifiers: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    connections: {
      type: 'array',
      items: { type: 'array', items: [{ type: 'string' }, { type: 'string' }], minItems: 2, maxItems: 2 },
    },
    name: { type: 'string' },
    manufacturer: { type: 'string' },
    model: { type: 'string' },
    model_id: { type: 'string' },
    sw_version: { type: 'string' },
    hw_version: { type: 'string' },
    serial_number: { type: 'string' },
    suggested_area: { type: 'string' },
    configuration_url: url,
    via_device: { type: 'string' },
  },
  anyOf: [{ required: ['identifiers'] }, { required: ['connections'] }],
};

const originSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1 }, sw_version: { type: 'string' }, support_url: url },
};

/** Per device class: the units HA accepts (absent unit = null), and no `measurement` for accumulating classes. */
const perClass = Object.entries(DEVICE_CLASS_UNITS).map(([cls, units]) => ({
  if: { required: ['device_class'], properties: { device_class: { const: cls } } },
  then: {
    ...(units.includes(null) ? {} : { required: ['unit_of_measurement'] }),
    properties: {
      unit_of_measurement: { enum: units.filter((u) => u !== null) },
      ...(ACCUMULATING.includes(cls) ? { state_class: { not: { const: 'measurement' } } } : {}),
    },
  },
}));

const haSensorConfigJsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['state_topic'],
  properties: {
    state_topic: topic,
    name: { type: ['string', 'null'] },
    unique_id: { type: 'string', minLength: 1 },
    object_id: { type: 'string' },
    default_entity_id: { type: 'string' },
    value_template: template,
    device_class: { enum: Object.keys(DEVICE_CLASS_UNITS) },
    state_class: { enum: ['measurement', 'measurement_angle', 'total', 'total_increasing'] },
    unit_of_measurement: { type: 'string' },
    suggested_display_precision: { type: 'integer', minimum: 0 },
    entity_category: { enum: ['diagnostic'] },
    enabled_by_default: { type: 'boolean' },
    expire_after: { type: 'integer', minimum: 0 },
    force_update: { type: 'boolean' },
    icon: { type: 'string', pattern: '^[a-z]+:[a-z0-9-]+$' },
    qos: { enum: [0, 1, 2] },
    encoding: { type: 'string' },
    json_attributes_topic: topic,
    json_attributes_template: template,
    last_reset_value_template: template,
    availability_topic: topic,
    availability_template: template,
    availability_mode: { enum: ['all', 'any', 'latest'] },
    availability: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['topic'],
        properties: {
          topic,
          payload_available: { type: 'string' },
          payload_not_available: { type: 'string' },
          value_template: template,
        },
      },
    },
    payload_available: { type: 'string' },
    payload_not_available: { type: 'string' },
    device: deviceSchema,
    origin: originSchema,
  },
  allOf: [
    // mqtt.markdown: "availability" and "availability_topic" are mutually exclusive.
    { not: { required: ['availability', 'availability_topic'] } },
    // discovery docs: a device block is only accepted with a unique_id.
    { dependentRequired: { device: ['unique_id'] } },
    // last_reset only means something for a `total` sensor.
    {
      if: { required: ['last_reset_value_template'] },
      then: { required: ['state_class'], properties: { state_class: { const: 'total' } } },
    },
    ...perClass,
  ],
};

const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true });
const validate = ajv.compile<HaSensorConfig>(haSensorConfigJsonSchema);

export interface HaSensorConfig {
  state_topic: string;
  name?: string | null;
  unique_id?: string;
  value_template?: string;
  device_class?: string;
  state_class?: string;
  unit_of_measurement?: string;
  device?: { identifiers?: string | string[]; name?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type HaCheck = { success: true; data: HaSensorConfig; errors: [] } | { success: false; errors: string[] };

/** Readable lines for ajv's errors, with the rule that failed said in HA's terms. */
function explain(e: ErrorObject): string {
  const at = e.instancePath || '(root)';
  if (e.keyword === 'additionalProperties')
    return `${at}: unrecognized key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'enum' && e.instancePath === '/unit_of_measurement')
    return `${at}: unit is not one HA accepts for this device_class: ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'not' && e.instancePath === '/state_class')
    return `${at}: an accumulating device class cannot have state_class measurement`;
  if (e.keyword === 'dependentRequired') return `${at}: a device block needs a unique_id`;
  if (e.keyword === 'anyOf' && e.instancePath === '/device') return `${at}: a device needs identifiers or connections`;
  if (e.keyword === 'not' && e.instancePath === '') return `${at}: availability and availability_topic are exclusive`;
  return `${at}: ${e.message ?? e.keyword}${e.keyword === 'required' ? ` (${(e.params as { missingProperty: string }).missingProperty})` : ''}`;
}

/** Check one config payload as HA would take it. */
export function checkHaSensorConfig(payload: unknown): HaCheck {
  if (validate(payload)) return { success: true, data: payload, errors: [] };
  // The if/then wrappers only say "must match then schema": the useful line is the one inside.
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(explain);
  return { success: false, errors };
}

/** Device classes the Energy dashboard offers for grid, gas and water, with the state classes it takes. */
export function energyDashboardReady(c: HaSensorConfig): boolean {
  return (
    ['energy', 'gas', 'water'].includes(c.device_class ?? '') &&
    (c.state_class === 'total' || c.state_class === 'total_increasing')
  );
}
