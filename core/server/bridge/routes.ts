import { parseTmpoBlockTopic } from '../../mqtt/topics';
import { isBlockId, isLevel } from '../../tmpo/ids';

/** What a device may publish to the endpoint (docs/protocols/server-bridge.md#topics). */
export type BridgeRoute =
  | { kind: 'config'; what: 'sensor' | 'kube' | 'flx' }
  | { kind: 'sync' }
  | { kind: 'tap' }
  | { kind: 'block'; sid: string; rid: number; lvl: number; bid: number; ext: string }
  /** a topic of another device: never taken from this one */
  | { kind: 'foreign' }
  | { kind: 'unrecognised' };

const DEVICE_TOPIC = /^\/device\/([0-9a-f]{32})\/(config\/sensor|config\/kube|config\/flx|tmpo\/sync|test\/tap)$/;

/** Route a topic published by the device `did`. */
export function bridgeRoute(topic: string, did: string): BridgeRoute {
  const d = DEVICE_TOPIC.exec(topic);
  if (d) {
    if (d[1] !== did) return { kind: 'foreign' };
    const rest = d[2]!;
    if (rest === 'tmpo/sync') return { kind: 'sync' };
    if (rest === 'test/tap') return { kind: 'tap' };
    return { kind: 'config', what: rest.slice('config/'.length) as 'sensor' | 'kube' | 'flx' };
  }
  // Any other topic of another device counts as that device's, not as noise from this one.
  if (topic.startsWith('/device/') && !topic.startsWith(`/device/${did}/`)) return { kind: 'foreign' };
  const b = parseTmpoBlockTopic(topic);
  return b ? { kind: 'block', ...b } : { kind: 'unrecognised' };
}

/** The largest block the Flukso server took (flmqtt_tmpo's check, docs/protocols/tmpo.md#topics). */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/** Why a block cannot be a TMPO block at all, or undefined; which sensor it is for is checked elsewhere. */
export function blockProblem(b: { lvl: number; bid: number; ext: string }, payload: Buffer): string | undefined {
  if (payload.length > MAX_BLOCK_BYTES) return 'block larger than 16 MiB';
  if (!isLevel(b.lvl) || !isBlockId(b.lvl, b.bid)) return 'bid is not a multiple of 2^lvl';
  if (b.ext !== 'gz') return 'ext is not gz';
  if (payload[0] !== 0x1f || payload[1] !== 0x8b) return 'not gzip';
  return undefined;
}
