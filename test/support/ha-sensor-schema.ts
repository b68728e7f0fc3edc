import { z } from 'zod';

/**
 * Home Assistant's MQTT sensor discovery config, written by hand from HA's documentation
 * (integrations/sensor.mqtt "Configuration variables", integrations/sensor "Device class",
 * developers.home-assistant.io docs/core/entity/sensor "Available device classes" and
 * "Available state classes", docs/mqtt discovery "Device" and "Origin" blocks). Full
 * (unabbreviated) field names only, since that is what we publish.
 *
 * A JSON schema validated with ajv was the plan; ajv is not installed in this project and no
 * dependency may be added, so the same rules are a zod schema (zod is already a dependency).
 * It is stricter than HA in one way: unknown keys are an error (HA drops them silently), so a
 * misspelt field fails here instead of being ignored there.
 */

/** sensor.md "Available device classes": units HA accepts per class (the classes we may use, and a few neighbours). */
export const DEVICE_CLASS_UNITS: Readonly<Record<string, readonly (string | null)[]>> = {
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
const template = z.string().regex(/^\{\{.*\}\}$/s, 'a Jinja template {{ … }}');

/** An MQTT topic HA may subscribe to; a leading slash (the FLM's topics) is legal MQTT. */
const topic = z.string().min(1).max(65535).refine((t) => !t.includes('\u0000'), 'no NUL in a topic');

export const haDeviceSchema = z
  .object({
    identifiers: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    connections: z.array(z.tuple([z.string(), z.string()])).optional(),
    name: z.string().optional(),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    model_id: z.string().optional(),
    sw_version: z.string().optional(),
    hw_version: z.string().optional(),
    serial_number: z.string().optional(),
    suggested_area: z.string().optional(),
    configuration_url: z.string().url().optional(),
    via_device: z.string().optional(),
  })
  .strict()
  .refine((d) => d.identifiers !== undefined || d.connections !== undefined, 'a device needs identifiers or connections');

export const haOriginSchema = z
  .object({ name: z.string().min(1), sw_version: z.string().optional(), support_url: z.string().url().optional() })
  .strict();

export const haSensorConfigSchema = z
  .object({
    state_topic: topic,
    name: z.string().nullable().optional(),
    unique_id: z.string().min(1).optional(),
    object_id: z.string().optional(),
    default_entity_id: z.string().optional(),
    value_template: template.optional(),
    device_class: z.enum(Object.keys(DEVICE_CLASS_UNITS) as [string, ...string[]]).optional(),
    state_class: z.enum(['measurement', 'measurement_angle', 'total', 'total_increasing']).optional(),
    unit_of_measurement: z.string().optional(),
    suggested_display_precision: z.number().int().min(0).optional(),
    entity_category: z.enum(['diagnostic']).optional(),
    enabled_by_default: z.boolean().optional(),
    expire_after: z.number().int().min(0).optional(),
    force_update: z.boolean().optional(),
    icon: z.string().regex(/^[a-z]+:[a-z0-9-]+$/).optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    encoding: z.string().optional(),
    json_attributes_topic: topic.optional(),
    json_attributes_template: template.optional(),
    last_reset_value_template: template.optional(),
    availability_topic: topic.optional(),
    availability_template: template.optional(),
    availability_mode: z.enum(['all', 'any', 'latest']).optional(),
    availability: z.array(z.object({ topic, payload_available: z.string().optional(), payload_not_available: z.string().optional(), value_template: template.optional() }).strict()).optional(),
    payload_available: z.string().optional(),
    payload_not_available: z.string().optional(),
    device: haDeviceSchema.optional(),
    origin: haOriginSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // mqtt.markdown: "availability" and "availability_topic" are mutually exclusive.
    if (c.availability && c.availability_topic) ctx.addIssue({ code: 'custom', message: 'availability and availability_topic are exclusive' });
    // discovery docs: a device block is only accepted with a unique_id.
    if (c.device && !c.unique_id) ctx.addIssue({ code: 'custom', path: ['device'], message: 'a device block needs a unique_id' });
    if (c.device_class) {
      const units = DEVICE_CLASS_UNITS[c.device_class]!;
      const u = c.unit_of_measurement ?? null;
      if (!units.includes(u)) ctx.addIssue({ code: 'custom', path: ['unit_of_measurement'], message: `unit ${u} is not one HA accepts for ${c.device_class}: ${units.join(', ')}` });
      if (c.state_class === 'measurement' && ACCUMULATING.includes(c.device_class)) {
        ctx.addIssue({ code: 'custom', path: ['state_class'], message: `${c.device_class} cannot have state_class measurement` });
      }
    }
    if (c.last_reset_value_template && c.state_class !== 'total') ctx.addIssue({ code: 'custom', message: 'last_reset_value_template needs state_class total' });
  });

/** Device classes the Energy dashboard offers for grid, gas and water, with the state classes it takes. */
export function energyDashboardReady(c: z.infer<typeof haSensorConfigSchema>): boolean {
  return ['energy', 'gas', 'water'].includes(c.device_class ?? '') && (c.state_class === 'total' || c.state_class === 'total_increasing');
}
