import { join, resolve } from 'node:path';

/** The variables `npm start` honours (README "Environment"), with their defaults. */
export const START_DEFAULTS = {
  /** device: the FLM pipeline (flows/flm.json); server: a Flukso server (flows/server.json) */
  FLM_MODE: 'device',
  FLM_SOURCE: 'simulator',
  FLM_SERIAL_PORT: '',
  FLM_P1_TCP: '',
  FLM_P1_ZONE: 'Europe/Brussels',
  FLM_UI_PORT: '1880',
  FLM_MQTT_PORT: '1883',
  FLM_WS_PORT: '8083',
  FLM_BIND: '127.0.0.1',
  FLM_UI_BIND: '127.0.0.1',
  FLM_ALLOWED_HOSTS: '',
  FLM_ADMIN_USER: 'admin',
  FLM_DATA_DIR: '',
  FLM_DEVICE_ID: '',
  FLM_DEVICE_KEY: '',
  FLM_SERVER_URL: '',
  FLM_MYSQL_URL: '',
  FLM_API_PORT: '8080',
  FLM_UPLOAD_INTERVAL: '300',
  FLM_UPLOAD_WAYS: 'http',
  FLM_BRIDGE_HOST: '',
  FLM_BRIDGE_PORT: '8883',
  FLM_BRIDGE_CA: '',
  FLM_HA_PREFIX: 'homeassistant',
  FLM_SIM_SPEED: '1',
  FLM_TMPO_HORIZON: '6',
  FLM_SERVER_TLS_CERT: '',
  FLM_SERVER_TLS_KEY: '',
  FLM_SERVER_NAMES: '',
};

export type StartEnv = { [K in keyof typeof START_DEFAULTS]: string } & {
  /** derived from FLM_P1_TCP: how the default flow's P1 node reads the meter */
  FLM_P1_SOURCE: 'serial' | 'tcp';
};

const SOURCES = ['simulator', 'p1', 'board'];

export function startDefaults(env: NodeJS.ProcessEnv, root: string): StartEnv {
  const out = {} as StartEnv;
  for (const [k, v] of Object.entries(START_DEFAULTS) as Array<[keyof typeof START_DEFAULTS, string]>)
    out[k] = env[k] ?? v;
  out.FLM_DATA_DIR = resolve(out.FLM_DATA_DIR || join(root, '.flm', 'data'));
  out.FLM_P1_SOURCE = out.FLM_P1_TCP ? 'tcp' : 'serial';
  if (out.FLM_MODE !== 'device' && out.FLM_MODE !== 'server')
    throw new Error(`FLM_MODE="${out.FLM_MODE}" is not device or server`);
  if (out.FLM_MODE === 'device') checkSource(out);
  return out;
}

/** A source that cannot start is a mistake to report before Node-RED starts, not a red dot later. */
function checkSource(env: StartEnv): void {
  const source = env.FLM_SOURCE;
  if (!SOURCES.includes(source)) throw new Error(`FLM_SOURCE="${source}" is not one of ${SOURCES.join(', ')}`);
  if (source === 'p1' && !env.FLM_SERIAL_PORT && !env.FLM_P1_TCP) {
    throw new Error(
      'FLM_SOURCE=p1 needs FLM_SERIAL_PORT (e.g. /dev/ttyUSB0) or FLM_P1_TCP (host:port of a P1 dongle or ser2net)',
    );
  }
  if (source === 'p1') {
    try {
      new Intl.DateTimeFormat('en', { timeZone: env.FLM_P1_ZONE });
    } catch {
      throw new Error(
        `FLM_P1_ZONE="${env.FLM_P1_ZONE}" is not a time zone (e.g. Europe/Brussels, Europe/Amsterdam, Europe/Dublin)`,
      );
    }
  }
  if (source === 'board' && !env.FLM_SERIAL_PORT) {
    throw new Error('FLM_SOURCE=board needs FLM_SERIAL_PORT (e.g. /dev/ttyS0 or /dev/serial0)');
  }
}
