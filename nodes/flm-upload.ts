import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { UploadQueue, UploadClient, Uploader, startHeartbeat, MqttBridge, loadCa, bridgeRoute, httpStatus, bridgeStatus, joinStatus, type StatusLine } from '../core/upload';
import type { HeartbeatLoop } from '../core/upload/heartbeat';
import { parseSensorTopic } from '../core/mqtt/topics';
import { wirePayload } from '../core/mqtt/payload';
import type { FlmDeviceNode } from './flm-device';
import type { DeviceSensors } from '../core/config/sensor-set';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { Rejects } from './lib/rejects';
import { onCloseBounded, errorText } from './lib/close';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { uploadSettings, type UploadDef } from './lib/upload-settings';
import { logUploadEvent, logHeartbeat, bridgeEventHandler } from './lib/upload-events';

export { onOff, DEFAULT_UPLOAD_INTERVAL_S } from './lib/upload-settings';

/** Why a counter is not queued, as the status counts it: not a sensor of the device, or what the queue refused. */
const NOT_QUEUED: Record<string, string> = {
  'not-after-last': 'not newer', 'invalid-time': 'bad time', 'invalid-counter': 'bad counter', 'invalid-sid': 'bad sid',
};
const NOT_UPLOADED = ['unknown sensor', ...Object.values(NOT_QUEUED)];

/** Status refreshes are gathered: a busy queue changes depth on every reading. */
const STATUS_EVERY_MS = 250;

const hhmm = (ms: number): string => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

export default function (RED: NodeAPI): void {
  function FlmUpload(this: Node, def: NodeDef & UploadDef & { device: string }) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    const gate = new StartupQueue('the upload queue');
    let queue: UploadQueue | undefined;
    let client: UploadClient | undefined;
    let uploader: Uploader | undefined;
    let heartbeat: HeartbeatLoop | undefined;
    let bridge: MqttBridge | undefined;
    let deviceId = '';
    let sensors: DeviceSensors | undefined;
    let fractional = 0;
    const rejects = new Rejects(node);
    let offer = '';
    let statusTimer: NodeJS.Timeout | undefined;

    const showStatus = () => {
      const parts: StatusLine[] = [];
      if (uploader) {
        const st = uploader.state();
        parts.push(httpStatus({
          depth: st.depth, ...(st.lastSuccess !== undefined ? { lastSuccess: st.lastSuccess } : {}), ...(st.lastError ? { lastError: st.lastError.message } : {}),
          authFailed: st.authFailed, retrying: st.sensors.some((s) => s.state === 'backoff'),
          extra: `${fractional ? ` · ${fractional} fractional` : ''}${notUploaded()}${offer}`,
        }, hhmm));
      }
      if (bridge) parts.push(bridgeStatus(bridge.state(), hhmm, !uploader));
      if (parts.length === 0) return;
      const line = joinStatus(parts);
      status[line.level](line.text);
    };
    /** Counters passed over for a reason of their own, each counted in the status. */
    const notUploaded = () => NOT_UPLOADED.map((r) => (rejects.count(r) ? ` · ${rejects.count(r)} ${r}` : '')).join('');
    const requestStatus = () => {
      if (statusTimer || res.isDisposed) return;
      statusTimer = res.timeout(STATUS_EVERY_MS, () => {
        statusTimer = undefined;
        showStatus();
      }, (err) => node.warn(errorText(err)));
    };

    const handle = async (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const topic = String(msg.topic ?? '');
        // Config topics, TMPO blocks and the sync request: the bridge's (left alone without one).
        if (bridgeRoute(topic, deviceId)) {
          if (bridge) {
            const m = msg as NodeMessageInFlow & { qos?: number; retain?: boolean };
            bridge.publish(topic, wirePayload(topic, msg.payload), { ...(m.qos !== undefined ? { qos: Number(m.qos) } : {}), retain: m.retain === true });
            requestStatus();
          }
          return done();
        }
        const t = parseSensorTopic(topic);
        // Gauges and anything else share the wire from flm-sensor: passed over.
        if (!t || t.kind !== 'counter') return done();
        const p = msg.payload;
        if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
          throw new Error('payload must be [ts,value,"unit"]');
        }
        if (!queue) return done(); // no HTTP upload: nothing is kept
        // The server takes the device's own sensors only: a counter of any other is lost, so said.
        // A sensor a source derived is the device's own; one a reading describes (flm-in) becomes one.
        if (!sensors?.sensorOf(t.sid, (msg as { flm?: unknown }).flm)) {
          rejects.drop('unknown sensor', `counter of sensor ${t.sid} not uploaded: not an enabled sensor of device ${deviceId}`);
          requestStatus();
          return done();
        }
        // The FLM uploads whole counters only (quirk 3): a fractional one is passed over, counted.
        if (!Number.isInteger(p[1])) {
          fractional++;
          requestStatus();
          return done();
        }
        const r = await queue.append(t.sid, [p[0], p[1]]);
        if (r === 'fractional') fractional++;
        else if (r !== 'queued') rejects.drop(NOT_QUEUED[r] ?? r, `counter ${p[0]} of ${t.sid} not uploaded: ${r}`);
        requestStatus();
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
        status.idle('no server configured');
        gate.ready((m, s, d) => void handle(m, s, d));
        return;
      }
      status.idle('starting');
      const { device, dataDir, sensors: set } = await deviceNode.ready;
      deviceId = device.id;
      sensors = set;
      const ca = settings.bridge ? await loadCa(settings.bridge.ca) : undefined;
      if (settings.http) {
        const h = settings.http;
        const c = new UploadClient({ baseUrl: h.serverUrl, deviceKey: device.key });
        const q = await UploadQueue.open({ dir: join(dataDir, 'upload'), onWarning: (text) => node.warn(text) });
        if (res.isDisposed) {
          c.close();
          return q.close();
        }
        client = c;
        queue = q;
        uploader = new Uploader({
          queue: q, client: c, intervalMs: h.intervalS * 1000, filters: h.filters,
          onEvent: (e) => {
            logUploadEvent(node, e);
            if (e.kind === 'auth-failed') showStatus();
          },
          onState: requestStatus,
        });
        uploader.start();
        if (h.heartbeat) {
          heartbeat = startHeartbeat({
            client: c, deviceId: device.id,
            onResult: (r) => {
              const shown = logHeartbeat(node, r);
              if (shown !== undefined) offer = shown;
              requestStatus();
            },
          });
        }
        node.log(`uploading to ${c.url('')} every ${h.intervalS} s${h.filters ? '' : ' (filters off)'}`);
      }
      if (settings.bridge) {
        const onEvent = bridgeEventHandler(node, device.id, (m) => node.send(m));
        const { host, port, mqttVersion } = settings.bridge;
        bridge = new MqttBridge({
          host, port, mqttVersion, ...(ca ? { ca } : {}), deviceId: device.id, deviceKey: device.key,
          onEvent: (e) => {
            onEvent(e);
            // Connection changes are rare and are what the status is for: shown at once.
            if (e.kind === 'connected' || e.kind === 'failed' || e.kind === 'disconnected') showStatus();
            else requestStatus();
          },
        });
        bridge.start();
      }
      showStatus();
      gate.ready((m, s, d) => void handle(m, s, d));
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(node, async () => {
      res.dispose();
      await starting;
      heartbeat?.stop();
      await bridge?.close(2000);
      await uploader?.stop();
      await queue?.close();
      client?.close();
    }, 10_000);
  }

  RED.nodes.registerType('flm-upload', FlmUpload as never);
}
