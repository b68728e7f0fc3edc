import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { DEFAULT_BAUD, parseBoardProtocol } from '../core/flx/board-link';
import { serialPortConnector } from '../core/link/serial-port';
import { BoardReader } from '../core/source/board-reader';
import type { FlmDeviceNode } from './flm-device';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded } from './lib/close';
import { setting, parseSettings, numberSetting, textSetting } from './lib/settings';
import { serveSerialPorts } from './lib/serial-ports';
import { standbyPhrase } from './lib/source-switch';
import { Rejects } from './lib/rejects';
import { logTo } from './lib/controller';

type BoardDef = NodeDef & Record<string, unknown> & { device: string };

const baudOk = (n: number) => Number.isInteger(n) && n >= 300 && n <= 4_000_000;

const protocolOf = (v: unknown) => parseBoardProtocol(textSetting(v, 'flm03'));

// The baud rate's default depends on the protocol: its reader gets both.
const schema = z.preprocess(
  (d) => ({ ...(d as object), baud: d }),
  z.object({
    // 'flm03' also when absent: flows from before FLM02
    protocol: setting.read(protocolOf),
    baud: setting.read((v) => {
      const d = v as { protocol?: unknown; baud?: unknown };
      return numberSetting(d.baud, DEFAULT_BAUD[protocolOf(d.protocol)], 'baud rate', baudOk);
    }),
    /** seconds without a frame before the board counts as offline; 0: no watchdog */
    watchdog: setting.number(15, 'watchdog', (n) => n === 0 || n >= 0.5).transform((s) => Math.round(s * 1000)),
    /** blank: leave the board's */
    kubeGroup: setting.optionalNumber('Kube group', (n) => Number.isInteger(n) && n >= 0 && n <= 255),
    /** `${FLM_SERIAL_PORT}` unset means: idle */
    port: setting.text(),
  }),
);

export default function (RED: NodeAPI): void {
  serveSerialPorts(RED);

  function FlmBoard(this: Node, def: BoardDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-board'));
    const rejects = new Rejects(node);
    let s: z.output<typeof schema>;
    try {
      const standby = standbyPhrase(def.when, 'board');
      if (standby) return status.idle(status.phrase(standby));
      s = parseSettings(schema, def);
    } catch (err) {
      status.failed(err);
      return;
    }
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    if (!deviceNode) return status.failed(new Error('no flm-device configured: pick or add one in the node settings'));
    // e.g. ${FLM_SERIAL_PORT} in a flow that runs without a board: nothing to do, nothing wrong.
    if (!s.port) return status.idle(status.say('noPort', 'no serial port set'));

    let reader: BoardReader | undefined;
    let closed = false;
    status.idle(status.say('starting', 'starting'));
    deviceNode.ready.then(
      (ctx) => {
        if (closed) return;
        reader = new BoardReader({
          protocol: s.protocol,
          device: ctx.device,
          ...(s.kubeGroup === undefined ? {} : { kubeGroup: s.kubeGroup }),
          connect: serialPortConnector({
            path: s.port,
            settings: { baudRate: s.baud, dataBits: 8, parity: 'none', stopBits: 1 },
          }),
          label: s.port,
          watchdogMs: s.watchdog,
          send: (topic, payload) => node.send({ topic, payload } as NodeMessage),
          log: logTo(node),
          status: (view) => status.show(view),
          unexpected: (err) => rejects.error(err),
        });
        reader.start();
      },
      (err: unknown) => status.failed(err),
    );

    onCloseBounded(
      node,
      async () => {
        closed = true;
        await reader?.stop();
        status.idle(status.say('stopped', 'stopped'));
      },
      5000,
    );
  }

  RED.nodes.registerType('flm-board', FlmBoard as never);
}
