import { isOwnDeviceConfigTopic, parseTmpoBlockTopic, tmpoSyncTopic } from '../mqtt/topics';
import { isBlockId, isLevel } from '../tmpo/ids';

/**
 * What the FLM's mosquitto bridge carries to the server (docs/protocols/upload.md#bridge-routes),
 * all outwards: the device's config topics, its TMPO sync trigger and the TMPO blocks. Live
 * readings are not bridged; they reach the server by HTTP.
 */
export type BridgeRoute = 'config' | 'tmpo-sync' | 'tmpo-block';

export function bridgeRoute(topic: string, deviceId: string): BridgeRoute | null {
  if (topic === tmpoSyncTopic(deviceId)) return 'tmpo-sync';
  if (isOwnDeviceConfigTopic(topic, deviceId)) return 'config';
  const b = parseTmpoBlockTopic(topic);
  // The server drops anything else (flmqtt_tmpo check, docs/protocols/tmpo.md#topics), so it is not sent.
  if (b && b.ext === 'gz' && isLevel(b.lvl) && isBlockId(b.lvl, b.bid)) return 'tmpo-block';
  return null;
}

/**
 * TMPO messages that miss the connection need no buffer: the blocks are on disk, and the sync
 * after the next connect re-publishes whatever the server lacks (docs/protocols/tmpo.md#sync).
 */
export const coveredBySync = (route: BridgeRoute): boolean => route !== 'config';
