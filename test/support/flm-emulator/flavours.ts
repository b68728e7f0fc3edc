/**
 * The two FLM generations the emulator can be: version number (in the User-Agent and the
 * heartbeat), and the sensor table published as `/device/<did>/config/sensor`
 * (docs/protocols/upload.md, docs/protocols/flm-mqtt.md#sensor-table).
 *
 * - FLM02: package 2.5.0 -> version 250; sections 1..6 (1-3 analog clamps, 4-5 pulse, 6 uart).
 * - FLM03: its main-board firmware is not public; we assume the same version scheme with a 3.x
 *   package (300) and a table of 39 sections (3 clamp ports x 12 parameters, then pulse ports 4-6
 *   as sections 37-39) whose entries carry `subtype`, as the public notes on the FLM03 describe.
 */

export type Flavour = 'FLM02' | 'FLM03';
export type SensorKind = 'electricity' | 'solar' | 'gas' | 'water';

/** The household every emulated FLM measures: mains, solar, gas and water. */
const KINDS: readonly SensorKind[] = ['electricity', 'solar', 'gas', 'water'];

export interface EmulatedSensor {
  sid: string;
  kind: SensorKind;
  /** the uci section name ("1", "13", ...) */
  section: string;
  /** litres or Wh per pulse; analog clamps count 1 Wh */
  constant: number;
}

export const VERSIONS: Record<Flavour, number> = { FLM02: 250, FLM03: 300 };

/** uci section per kind and flavour. */
const SECTIONS: Record<Flavour, Record<SensorKind, string>> = {
  FLM02: { electricity: '1', solar: '2', gas: '4', water: '5' },
  FLM03: { electricity: '1', solar: '13', gas: '37', water: '38' },
};
const CONSTANTS: Record<SensorKind, number> = { electricity: 1, solar: 1, gas: 10, water: 1 };

export function sensorTable(flavour: Flavour, sids: readonly string[]): EmulatedSensor[] {
  return KINDS.map((kind, i) => ({
    sid: sids[i]!,
    kind,
    section: SECTIONS[flavour][kind],
    constant: CONSTANTS[kind],
  }));
}

type Uci = Record<string, Record<string, string | string[]>>;

function flm02Uci(sensors: readonly EmulatedSensor[], bridge: string): Uci {
  const uci: Uci = {
    main: { hw_major: '2', hw_minor: '2', sw_major: '1', sw_minor: '0', max_sensors: '6', max_analog_sensors: '3' },
    daemon: {
      logmask: 'info',
      enable_wan_branch: '1',
      enable_lan_branch: '1',
      wan_base_url: 'https://api.flukso.net/',
    },
    mqtt: { bridge_address: bridge, bridge_port: '8883', bridge_keepalive: '60', bridge_restart_timeout: '30' },
    fsync: { exit_status: '0', exit_string: 'successful', time: '1449999985' },
  };
  for (let n = 1; n <= 6; n++) {
    const cls = n <= 3 ? 'analog' : n <= 5 ? 'pulse' : 'uart';
    uci[String(n)] = {
      // placeholder ids of the default file for sections without a provisioned sensor
      id: `0123456789abcdef0123456789abcde${n}`,
      class: cls,
      type: 'electricity',
      function: `sensor${n}`,
      port: [String(n)],
      enable: '0',
      ...(cls === 'analog' ? { voltage: '230', current: '50' } : cls === 'pulse' ? { constant: '1' } : {}),
    };
  }
  for (const s of sensors) {
    const sec = uci[s.section]!;
    sec.id = s.sid;
    sec.type = s.kind === 'solar' ? 'electricity' : s.kind;
    sec.function = s.kind === 'electricity' ? 'main' : s.kind;
    sec.enable = '1';
    if (sec.class === 'pulse') sec.constant = String(s.constant);
  }
  return uci;
}

function flm03Uci(sensors: readonly EmulatedSensor[], bridge: string): Uci {
  const subtypes = ['pplus', 'pminus', 'q1', 'q2', 'q3', 'q4', 'vrms', 'irms', 'pf', 'vthd', 'ithd', 'alpha'];
  const uci: Uci = {
    main: { max_sensors: '39', phase: '1' },
    daemon: {
      logmask: 'info',
      enable_wan_branch: '1',
      enable_lan_branch: '1',
      wan_base_url: 'https://api.flukso.net/',
    },
    mqtt: { bridge_address: bridge, bridge_port: '8883', bridge_keepalive: '60', bridge_restart_timeout: '30' },
  };
  for (let n = 1; n <= 39; n++) {
    const clamp = n <= 36;
    uci[String(n)] = {
      id: `0123456789abcdef0123456789ab${n.toString(16).padStart(4, 'f')}`,
      class: clamp ? 'analog' : 'pulse',
      type: 'electricity',
      ...(clamp ? { subtype: subtypes[(n - 1) % 12]! } : { constant: '1' }),
      port: [String(clamp ? Math.floor((n - 1) / 12) + 1 : n - 33)],
      enable: '0',
    };
  }
  for (const s of sensors) {
    const sec = uci[s.section]!;
    sec.id = s.sid;
    sec.type = s.kind === 'solar' ? 'electricity' : s.kind;
    sec.function = s.kind === 'electricity' ? 'main' : s.kind;
    sec.enable = '1';
    if (sec.class === 'pulse') sec.constant = String(s.constant);
  }
  return uci;
}

/** A value as tmpod publishes it: what parses as a number becomes one (also an all-digit id). */
function luaValue(v: string): string | number {
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : v;
}

/**
 * The `/device/<did>/config/sensor` document (docs/protocols/flm-mqtt.md#sensor-table): the whole uci keyed by
 * section name, numbers as numbers, enabled sensor sections completed with data_type and rid.
 */
export function configSensorDocument(
  flavour: Flavour,
  sensors: readonly EmulatedSensor[],
  bridgeAddress: string,
): string {
  const uci = flavour === 'FLM02' ? flm02Uci(sensors, bridgeAddress) : flm03Uci(sensors, bridgeAddress);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, sec] of Object.entries(uci)) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(sec)) o[k] = Array.isArray(v) ? v.map(luaValue) : luaValue(v);
    if (/^\d+$/.test(name) && o.enable === 1) {
      o.data_type ??= 'counter';
      o.rid ??= 0;
    }
    out[name] = o;
  }
  return JSON.stringify(out);
}

/** The `cfg` tmpod puts in a block header: the section without enable and counter, with defaults. */
export function blockCfg(flavour: Flavour, sensor: EmulatedSensor, bridgeAddress: string): Record<string, unknown> {
  const doc = JSON.parse(configSensorDocument(flavour, [sensor], bridgeAddress)) as Record<
    string,
    Record<string, unknown>
  >;
  const { enable: _e, counter: _c, ...cfg } = doc[sensor.section]!;
  return { ...cfg, data_type: cfg.data_type ?? 'counter', rid: cfg.rid ?? 0 };
}
