import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  DiscoveryRegistry,
  HaAnnouncer,
  loadAnnounced,
  saveAnnounced,
  type ReadingInfo,
} from '../core/sinks/homeassistant';
import { systemClock } from '../core/util/clock';
import { deviceNodeParts } from './lib/device-node-parts';
import { onCloseBounded, errorText, statusText } from './lib/close';
import type { Send, Done } from './lib/startup-queue';
import { parseSettings } from './lib/settings';
import { homeAssistantSettings } from './lib/homeassistant-settings';

/** What this node announced, per device, so a sensor gone from the table can be removed after a restart. */
export const ANNOUNCED_FILE = 'homeassistant-announced.json';

export default function (RED: NodeAPI): void {
  function FlmHomeAssistant(this: Node, def: NodeDef & { device: string }) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(
      RED,
      node,
      def.device,
      'Home Assistant discovery',
    );
    let announcer: HaAnnouncer | undefined;
    let flowsStarted = false;
    let closed = false;
    let where = '';

    const reportError = (err: unknown) => status.failed(err);
    const showStatus = () => {
      const view = announcer?.statusView();
      if (view) status.show(view);
    };
    // Announcing waits for the flows to run (the broker is up) and for the device to be read.
    const begin = async () => {
      if (!flowsStarted || !announcer) return;
      const a = announcer;
      if (await a.start()) node.log(`announced ${a.entities} entities under ${where}`);
    };
    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      begin().catch(reportError);
    });

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const flm = (msg as { flm?: Partial<ReadingInfo> }).flm;
        announcer!.input({
          topic: typeof msg.topic === 'string' ? msg.topic : '',
          payload: msg.payload,
          ...(flm ? { flm } : {}),
        });
        done();
      } catch (err) {
        status.error(statusText(err));
        rejects.fail(done, err);
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const s = parseSettings(homeAssistantSettings, def);
      status.idle(status.say('starting', 'starting'));
      const { device, dataDir, sensors } = await deviceNode.ready;
      if (closed) return;
      const file = join(dataDir, ANNOUNCED_FILE);
      where = `${s.discovery.prefix}/sensor/${device.id}/`;
      const registry = new DiscoveryRegistry(
        { ...device, sensors: sensors.all() },
        (await loadAnnounced(file))[device.id],
        (x) => sensors.isLive(x),
      );
      announcer = new HaAnnouncer({
        deviceId: device.id,
        registry,
        ...s,
        clock: systemClock,
        publish: (msgs) => node.send([msgs as unknown as NodeMessage[]]),
        loadPrevious: async () => (await loadAnnounced(file))[device.id]?.topics ?? [],
        save: (entry) => saveAnnounced(file, device.id, entry),
        onSaveError: (err) => node.warn(`could not save ${file}: ${errorText(err)}`),
        onStatus: showStatus,
      });
      // Sensors a source derived (a P1 meter's) are announced as they come.
      res.on(sensors, 'change', () => announcer?.setSensors(sensors.all()));
      gate.ready(handle);
      await begin();
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      reportError(err);
    });

    onCloseBounded(node, async () => {
      closed = true;
      res.dispose();
      await starting;
      await announcer?.close();
    });
  }

  RED.nodes.registerType('flm-homeassistant', FlmHomeAssistant as never);
}
