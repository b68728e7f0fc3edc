import { createServer } from 'node:net';
import type { StartEnv } from './start-env';

/**
 * Every port `npm start` listens on and the variable that sets it. What a blank means is what
 * its listener makes of one: the editor takes any free port, the broker its 1883, and the
 * websocket and API listeners are off (so they are with "off").
 */
const PORTS = [
  { name: 'FLM_UI_PORT', what: 'editor port', blank: null, off: false, bind: 'FLM_UI_BIND' },
  { name: 'FLM_MQTT_PORT', what: 'MQTT port', blank: 1883, off: false, bind: 'FLM_BIND' },
  { name: 'FLM_WS_PORT', what: 'MQTT websocket port', blank: null, off: true, bind: 'FLM_BIND' },
  { name: 'FLM_API_PORT', what: 'local API port', blank: null, off: true, bind: 'FLM_BIND' },
] as const;

/** FLM_MODE=server listens on the editor, API and bridge ports only. */
const SERVER_PORTS = [
  PORTS[0],
  { name: 'FLM_API_PORT', what: 'Flukso API port', blank: 8080, off: false, bind: 'FLM_BIND' },
  { name: 'FLM_BRIDGE_PORT', what: 'MQTT bridge port', blank: null, off: true, bind: 'FLM_BIND' },
] as const;

/** The ports `npm start` will listen on, with the variable of each and the address it binds. */
export function startPorts(
  env: StartEnv,
): Array<{ name: string; what: string; port: number; bind: 'FLM_UI_BIND' | 'FLM_BIND' }> {
  const out: Array<{ name: string; what: string; port: number; bind: 'FLM_UI_BIND' | 'FLM_BIND' }> = [];
  for (const p of env.FLM_MODE === 'server' ? SERVER_PORTS : PORTS) {
    const text = env[p.name].trim();
    if (text === '' || (p.off && text === 'off')) {
      if (text === '' && p.blank !== null) out.push({ name: p.name, what: p.what, port: p.blank, bind: p.bind });
      continue;
    }
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`${p.name}="${text}" is not a port (1-65535)`);
    out.push({ name: p.name, what: p.what, port, bind: p.bind });
  }
  return out;
}

/**
 * Fail before Node-RED starts when a port is taken (a Mosquitto already on 1883, a second
 * `npm start`) or named twice, with the variable to set: once running, a busy port is a red
 * dot and a log line every few seconds that nobody connects to its cause.
 */
export async function checkStartPorts(env: StartEnv): Promise<void> {
  const seen = new Map<number, string>();
  for (const p of startPorts(env)) {
    const other = seen.get(p.port);
    if (other) throw new Error(`${p.name} and ${other} are both ${p.port}: set one of them to another port`);
    seen.set(p.port, p.name);
    const host = env[p.bind];
    await ensureFree(p.port, host, `${p.what} ${p.port} on ${host}`, p.name, p.bind);
  }
}

function ensureFree(port: number, host: string, label: string, variable: string, bindVariable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`${label} is already in use (set ${variable})`));
      else if (err.code === 'EACCES')
        reject(new Error(`${label} needs privileges this process lacks (set ${variable} to 1024 or above)`));
      else reject(new Error(`${label}: ${err.message} (check ${bindVariable} and ${variable})`));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
