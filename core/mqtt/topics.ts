/** FLM topic names (docs/protocols/flm-mqtt.md#topics). One place builds and parses them. */

export type ReadingKind = 'gauge' | 'counter';

export const sensorTopic = (sid: string, kind: ReadingKind): string => `/sensor/${sid}/${kind}`;
export const deviceConfigTopic = (deviceId: string): string => `/device/${deviceId}/config/sensor`;

const SENSOR_TOPIC = /^\/sensor\/([0-9a-f]{32})\/(gauge|counter)$/;

/** What a reader of an FLM broker subscribes to: sensor tables and readings. */
export const DEVICE_CONFIG_FILTER = '/device/+/config/sensor';
export const READING_FILTERS = ['/sensor/+/gauge', '/sensor/+/counter'] as const;

const SENSOR_CONFIG_TOPIC = /^\/device\/([0-9a-f]{32})\/config\/sensor$/;
/** The device id of a sensor-table topic, or null. */
export function parseDeviceConfigTopic(topic: string): string | null {
  return SENSOR_CONFIG_TOPIC.exec(topic)?.[1] ?? null;
}

/** `{sid, kind}` for a reading topic, or null for anything else. */
export function parseSensorTopic(topic: string): { sid: string; kind: ReadingKind } | null {
  const m = SENSOR_TOPIC.exec(topic);
  return m ? { sid: m[1]!, kind: m[2] as ReadingKind } : null;
}

/** TMPO topics (docs/protocols/tmpo.md#topics). */
export const tmpoBlockTopic = (k: { sid: string; rid: number; lvl: number; bid: number }): string =>
  `/sensor/${k.sid}/tmpo/${k.rid}/${k.lvl}/${k.bid}/gz`;
export const tmpoSyncTopic = (deviceId: string): string => `/device/${deviceId}/tmpo/sync`;
export const tmpoSyncReplyTopic = (deviceId: string): string => `/d/device/${deviceId}/tmpo/sync`;

const TMPO_BLOCK_TOPIC = /^\/sensor\/([0-9a-f]{1,64})\/tmpo\/(\d{1,9})\/(\d{1,2})\/(\d{1,12})\/([a-z0-9]{1,8})$/;

/**
 * `{sid, rid, lvl, bid, ext}` of a TMPO block topic, or null. Only the shape is checked here:
 * whether the level and block id make sense is the store's (and the server's) call.
 */
export function parseTmpoBlockTopic(
  topic: string,
): { sid: string; rid: number; lvl: number; bid: number; ext: string } | null {
  const m = TMPO_BLOCK_TOPIC.exec(topic);
  return m ? { sid: m[1]!, rid: Number(m[2]), lvl: Number(m[3]), bid: Number(m[4]), ext: m[5]! } : null;
}

/** Commands flm-tmpo takes on its input, as tmpod takes them over ubus. */
export const TMPO_FLUSH_COMMAND = 'tmpo/flush';
export const TMPO_SYNC_COMMAND = 'tmpo/sync';

/** What flm-p1 sends: parsed telegrams, its source's availability, and the context of its errors. */
export const P1_TELEGRAM_TOPIC = 'p1/telegram';
export const P1_AVAILABILITY_TOPIC = 'p1/availability';
export const P1_ERROR_TOPIC = 'p1/error';

/** What flm-board sends besides its board/batch readings: availability, clock news, Kube radio packets. */
export const BOARD_AVAILABILITY_TOPIC = 'board/availability';
export const BOARD_TIME_TOPIC = 'board/time';
export const BOARD_KUBE_TOPIC = 'board/kube';

const DEVICE_CONFIG = /^\/device\/[0-9a-f]{32}\/config\//;
/** The sensor table (and kube config) of a device, which rides the same wire as its readings. */
export const isDeviceConfigTopic = (topic: string): boolean => DEVICE_CONFIG.test(topic);
/** `/device/<did>/config/<what>` (sensor, kube, flx): the device's own config topics. */
export const isOwnDeviceConfigTopic = (topic: string, deviceId: string): boolean =>
  topic.startsWith(`/device/${deviceId}/config/`) &&
  topic.length > `/device/${deviceId}/config/`.length &&
  !topic.includes('#') &&
  !topic.includes('+');
