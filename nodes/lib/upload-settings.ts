import { z } from 'zod';
import { MQTT_VERSIONS, type MqttVersion } from '../../core/upload/bridge';
import { numberSetting, textSetting, isPort } from './settings';

export const DEFAULT_UPLOAD_INTERVAL_S = 300;
const DEFAULT_BRIDGE_PORT = 8883;
const WAYS = ['http', 'bridge', 'both'] as const;
export type Ways = (typeof WAYS)[number];

/** The flm-upload node's properties as the editor (or a hand-written flow) gives them. */
export interface UploadDef {
  serverUrl?: unknown;
  interval?: unknown;
  filters?: unknown;
  heartbeat?: unknown;
  ways?: unknown;
  bridgeHost?: unknown;
  bridgePort?: unknown;
  ca?: unknown;
  mqttVersion?: unknown;
}

export interface UploadSettings {
  /** HTTP upload; undefined when off (no server, or the bridge only) */
  http?: { serverUrl: string; intervalS: number; filters: boolean; heartbeat: boolean };
  /** the MQTT bridge; undefined when off */
  bridge?: { host: string; port: number; ca: string; mqttVersion: MqttVersion };
}

/** "on"/"off" from the editor's selects; booleans from hand-written flows. */
export function onOff(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  const s = textSetting(v).toLowerCase();
  if (s === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(s)) return true;
  if (['off', 'false', '0', 'no'].includes(s)) return false;
  throw new Error(`"${s}" is not on or off`);
}

const waysSchema = z.enum(WAYS);
const versionSchema = z.enum(MQTT_VERSIONS as [MqttVersion, ...MqttVersion[]]);

/**
 * Read and check the settings once, at the edge. HTTP needs a server URL; the bridge needs a
 * host, which defaults to the server URL's.
 */
export function uploadSettings(def: UploadDef): UploadSettings {
  const serverUrl = textSetting(def.serverUrl);
  const waysText = textSetting(def.ways, 'http').toLowerCase();
  const ways = waysSchema.safeParse(waysText);
  if (!ways.success) throw new Error(`ways: "${waysText}" is not http, bridge or both`);
  const out: UploadSettings = {};
  if (ways.data !== 'bridge' && serverUrl !== '') {
    out.http = {
      serverUrl,
      intervalS: numberSetting(def.interval, DEFAULT_UPLOAD_INTERVAL_S, 'upload interval', (n) => n > 0),
      filters: onOff(def.filters, true),
      heartbeat: onOff(def.heartbeat, true),
    };
  }
  if (ways.data !== 'http') {
    const host = textSetting(def.bridgeHost) || (serverUrl ? hostOf(serverUrl) : '');
    if (host !== '') {
      const versionText = textSetting(def.mqttVersion, '3.1');
      const version = versionSchema.safeParse(versionText);
      if (!version.success) throw new Error(`MQTT version: "${versionText}" is not 3.1 or 3.1.1`);
      out.bridge = {
        host,
        port: numberSetting(def.bridgePort, DEFAULT_BRIDGE_PORT, 'bridge port', (n) => isPort(n) && n > 0),
        ca: textSetting(def.ca),
        mqttVersion: version.data,
      };
    }
  }
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    throw new Error(`server URL: "${url}" is not a URL`);
  }
}
