import type { NodeAPI } from 'node-red';
import { listSerialPorts } from '../../core/link/serial-port';

/** The editor's "look up" button of every node that opens a serial port asks here. */
const SERIAL_PORTS_PATH = '/flm/serialports';

const served = new WeakSet<object>();

/** One route for all serial nodes: the first to load registers it, the others find it there. */
export function serveSerialPorts(RED: NodeAPI): void {
  if (served.has(RED.httpAdmin)) return;
  served.add(RED.httpAdmin);
  RED.httpAdmin.get(SERIAL_PORTS_PATH, RED.auth.needsPermission('flm.read'), (_req, res) => {
    listSerialPorts().then(
      (paths) => res.json(paths),
      () => res.json([]),
    );
  });
}
