import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { OpenHabSink, loadHomieAnnounced, saveHomieAnnounced, type ReadingFlm } from '../core/sinks/openhab';
import { deviceNodeParts } from './lib/device-node-parts';
import { rejectsWhy } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import type { Send, Done } from './lib/startup-queue';
import { parseSettings } from './lib/settings';
import { openHabSettings } from './lib/openhab-settings';

/** What the Homie device announced, per device, so a sensor gone from the table is cleared after a restart. */
export const HOMIE_FILE = 'homie-announced.json';

export default function (RED: NodeAPI): void {
  function FlmOpenHab(this: Node<{ token?: string }>, def: NodeDef & { device: string }) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(RED, node, def.device, 'the openHAB sink');
    let sink: OpenHabSink<NodeMessageInFlow> | undefined;
    let flowsStarted = false;
    let closed = false;

    const showStatus = () => {
      const view = sink?.statusView(rejects.total);
      if (view) status.show(view);
    };
    // The Homie device announces itself once the flows run (the broker is up) and the device is read.
    const announce = () => (flowsStarted && sink ? sink.announce() : Promise.resolve());
    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      announce().catch((err: unknown) => status.failed(err));
    });

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const flm = (msg as { flm?: ReadingFlm }).flm;
        sink!.input({
          msg,
          topic: typeof msg.topic === 'string' ? msg.topic : '',
          payload: msg.payload,
          ...(flm ? { flm } : {}),
        });
        done();
      } catch (err) {
        rejects.fail(done, err);
        status.error(rejectsWhy(status, rejects.total, statusText(err, 40)));
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      const s = parseSettings(openHabSettings, { ...def, credentials: node.credentials ?? {} });
      if (!s.url && !s.homie) throw new Error('nothing to do: set the openHAB URL (REST) or switch Homie on');
      if (s.homie && !deviceNode) throw new Error('Homie needs an flm-device: pick or add one in the node settings');
      if (def.device && !deviceNode) throw new Error('the flm-device of this node is missing');
      status.idle(status.say('starting', 'starting'));
      const ctx = deviceNode ? await deviceNode.ready : undefined;
      if (closed) return;
      const file = ctx ? join(ctx.dataDir, HOMIE_FILE) : '';
      const id = ctx?.device.id ?? '';
      sink = new OpenHabSink<NodeMessageInFlow>({
        ...(ctx
          ? { device: { id: ctx.device.id, sensors: ctx.sensors.all() }, isLive: (x) => ctx.sensors.isLive(x) }
          : {}),
        names: s.items,
        format: s.units,
        ...(s.url ? { rest: { url: s.url, token: s.credentials.token } } : {}),
        ...(s.homie
          ? {
              homie: {
                name: s.homieName,
                loadPrevious: async () => (await loadHomieAnnounced(file))[id] ?? {},
                save: (structure) => saveHomieAnnounced(file, id, structure),
              },
            }
          : {}),
        publish: (msgs) => node.send([msgs as unknown as NodeMessage[]]),
        error: (t, m) => (m ? node.error(t, m) : node.error(t)),
        log: (t) => node.log(t),
        onSaveError: (err) => node.warn(`could not save ${file}: ${errorText(err)}`),
        onStatus: showStatus,
      });
      // Sensors a source derived (a P1 meter's) get items and Homie nodes as they come.
      if (ctx) res.on(ctx.sensors, 'change', () => sink?.setSensors(ctx.sensors.all()));
      showStatus();
      gate.ready(handle);
      await announce();
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(node, async () => {
      closed = true;
      res.dispose();
      await starting;
      await sink?.close();
    });
  }

  RED.nodes.registerType('flm-openhab', FlmOpenHab as never, { credentials: { token: { type: 'password' } } });
}
