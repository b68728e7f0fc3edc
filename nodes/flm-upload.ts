import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { UploadService, uploadRoute } from '../core/upload';
import { deviceNodeParts } from './lib/device-node-parts';
import { onCloseBounded, errorText } from './lib/close';
import type { Send, Done } from './lib/startup-queue';
import { uploadSettings, type UploadDef } from './lib/upload-settings';
import { logUploadEvent, logHeartbeat, bridgeEventHandler } from './lib/upload-events';
import { gatheredStatus } from './lib/gathered-status';

export { onOff, DEFAULT_UPLOAD_INTERVAL_S } from './lib/upload-settings';

const hhmm = (ms: number): string => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

export default function (RED: NodeAPI): void {
  function FlmUpload(this: Node, def: NodeDef & UploadDef & { device: string }) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(RED, node, def.device, 'the upload queue');
    let service: UploadService | undefined;

    const showStatus = () => {
      const line = service?.status((r) => rejects.count(r), hhmm);
      if (line) status[line.level](status.line(line.phrases));
    };
    const requestStatus = gatheredStatus(res, showStatus, (err) => node.warn(errorText(err)));

    const handle = async (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const m = msg as NodeMessageInFlow & { qos?: number; retain?: boolean; flm?: unknown };
        const topic = String(msg.topic ?? '');
        // Without a server nothing is kept, but a counter of no known form is still an error.
        if (service) await service.input({ topic, payload: msg.payload, qos: m.qos, retain: m.retain, flm: m.flm });
        else uploadRoute(topic, msg.payload, '');
        done();
      } catch (err) {
        rejects.fail(done, err);
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const settings = uploadSettings(def);
      if (!settings.http && !settings.bridge) {
        status.idle(status.say('noServer', 'no server configured'));
        return gate.ready((m, s, d) => void handle(m, s, d));
      }
      status.idle(status.say('starting', 'starting'));
      const { device, dataDir, sensors } = await deviceNode.ready;
      service = await UploadService.open(
        {
          settings,
          device,
          dataDir,
          sensors,
          onWarning: (text) => node.warn(text),
          onUploadEvent: (e) => logUploadEvent(node, e),
          onHeartbeat: (r) => logHeartbeat(node, r),
          onBridgeEvent: bridgeEventHandler(node, device.id, (m) => node.send(m)),
          onDrop: (reason, text) => rejects.drop(reason, text),
          onStatus: (now) => (now ? showStatus() : requestStatus()),
        },
        () => res.isDisposed,
      );
      if (!service) return;
      const h = settings.http;
      if (h) node.log(`uploading to ${service.url} every ${h.intervalS} s${h.filters ? '' : ' (filters off)'}`);
      showStatus();
      gate.ready((m, s, d) => void handle(m, s, d));
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(
      node,
      async () => {
        res.dispose();
        await starting;
        await service?.close();
      },
      10_000,
    );
  }

  RED.nodes.registerType('flm-upload', FlmUpload as never);
}
