import type { Node, NodeAPI } from 'node-red';
import type { FlmDeviceNode } from '../flm-device';
import { Status, statusTranslator } from './status';
import { Resources } from './resources';
import { Rejects } from './rejects';
import { StartupQueue } from './startup-queue';

/**
 * What every node that works for a device starts with: its status line, the resources its close
 * frees, its reject counter, the device config node (null when none is picked) and the queue that
 * holds input until the node has started (`what` names it in the refusals).
 */
export function deviceNodeParts(RED: NodeAPI, node: Node, deviceId: unknown, what: string) {
  return {
    status: new Status(node, statusTranslator(RED, node.type)),
    res: new Resources(),
    rejects: new Rejects(node),
    deviceNode: typeof deviceId === 'string' && deviceId ? (RED.nodes.getNode(deviceId) as FlmDeviceNode | null) : null,
    gate: new StartupQueue(what),
  };
}
