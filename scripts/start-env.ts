import { join, resolve } from 'node:path';

/** The variables `npm start` honours (README "Environment"), with their defaults. */
export const START_DEFAULTS = {
  FLM_SOURCE: 'simulator',
  FLM_SERIAL_PORT: '',
  FLM_P1_TCP: '',
  FLM_UI_PORT: '1880',
  FLM_MQTT_PORT: '1883',
  FLM_WS_PORT: '8083',
  FLM_BIND: '127.0.0.1',
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
};

export type StartEnv = { [K in keyof typeof START_DEFAULTS]: string };

export function startDefaults(env: NodeJS.ProcessEnv, root: string): StartEnv {
  const out = {} as StartEnv;
  for (const [k, v] of Object.entries(START_DEFAULTS) as Array<[keyof StartEnv, string]>) out[k] = env[k] ?? v;
  out.FLM_DATA_DIR = resolve(out.FLM_DATA_DIR || join(root, '.flm', 'data'));
  return out;
}
