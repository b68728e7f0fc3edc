import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { UploadQueue, UploadClient, Uploader, startHeartbeat, type UploadEvent, type HeartbeatResult } from '../core/upload';
import type { HeartbeatLoop } from '../core/upload/heartbeat';
import { parseSensorTopic } from '../core/mqtt/topics';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { numberSetting, textSetting } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';

interface UploadDef extends NodeDef {
  device: string;
  serverUrl: string;
  interval: string | number;
  filters: string | boolean;
  heartbeat: string | boolean;
}

export const DEFAULT_UPLOAD_INTERVAL_S = 300;
/** Status refreshes are gathered: a busy queue changes depth on every reading. */
const STATUS_EVERY_MS = 250;

/** "on"/"off" from the editor's selects; booleans from hand-written flows. */
export function onOff(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  const s = textSetting(v).toLowerCase();
  if (s === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(s)) return true;
  if (['off', 'false', '0', 'no'].includes(s)) return false;
  throw new Error(`"${s}" is not on or off`);
}

const hhmm = (ms: number): string => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

export default function (RED: NodeAPI): void {
  function FlmUpload(this: Node, def: UploadDef) {
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
    let enabled = new Set<string>();
    let fractional = 0;
    let offer = '';
    let statusTimer: NodeJS.Timeout | undefined;

    const showStatus = () => {
      if (!uploader) return;
      const st = uploader.state();
      const extra = `${fractional ? ` · ${fractional} fractional` : ''}${offer}`;
      const queued = `${st.depth} queued`;
      if (st.authFailed) return status.error(`${queued} · authentication failed${extra}`);
      const retrying = st.sensors.some((s) => s.state === 'backoff');
      if (retrying) return status.warn(`${queued} · retrying: ${statusText(st.lastError?.message ?? 'failed', 40)}${extra}`);
      status.ok(`${queued}${st.lastSuccess !== undefined ? ` · ok ${hhmm(st.lastSuccess)}` : ''}${extra}`);
    };
    const requestStatus = () => {
      if (statusTimer || res.isDisposed) return;
      statusTimer = res.timeout(STATUS_EVERY_MS, () => {
        statusTimer = undefined;
        showStatus();
      }, (err) => node.warn(errorText(err)));
    };
    const reportError = (err: unknown) => status.failed(err);

    const onEvent = (e: UploadEvent) => {
      switch (e.kind) {
        case 'posted':
          node.debug(`POST ${e.url}: ${e.status} (${e.readings} readings${e.dropped ? `, ${e.dropped} filtered` : ''})`);
          break;
        case 'failed':
          node.log(`POST ${e.url}: ${e.status ?? e.error}${e.excerpt ? ` ${e.excerpt}` : ''}; retry ${e.attempt} in ${Math.round(e.retryInMs / 1000)} s`);
          break;
        case 'auth-failed':
          node.warn(`POST ${e.url}: ${e.status} authentication failed${e.excerpt ? ` (${e.excerpt})` : ''}; readings of ${e.sid} kept until the device key is fixed`);
          showStatus();
          break;
        case 'queue-error':
          node.warn(`upload queue of ${e.sid}: ${e.error}; retry in ${Math.round(e.retryInMs / 1000)} s`);
          break;
      }
    };

    const onHeartbeat = (r: HeartbeatResult) => {
      if (r.kind === 'ok') {
        if (r.offer) {
          // Shown and logged, never acted on: nothing is downloaded, run or rebooted.
          offer = r.offer.kind === 'upgrade' ? ` · upgrade ${r.offer.version} offered` : ' · reboot asked';
          node.warn(`heartbeat: the server ${r.offer.kind === 'upgrade' ? `offers firmware upgrade ${r.offer.version}` : 'asks for a reboot'}; ignored (nothing is downloaded or run)`);
        } else offer = '';
        requestStatus();
      } else if (r.kind === 'bad-digest') node.warn(`heartbeat ${r.url}: ${r.message}`);
      else if (r.kind === 'http-error') node.log(`heartbeat ${r.url}: HTTP ${r.status} ${r.excerpt}`);
      else if (r.kind === 'network-error') node.log(`heartbeat ${r.url}: ${r.error}`);
      else node.warn(`heartbeat ${r.url}: ${r.error}`);
    };

    const handle = async (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const t = parseSensorTopic(String(msg.topic ?? ''));
        // Gauges, the sensor table and anything else share the wire from flm-sensor: passed over.
        if (!t || t.kind !== 'counter' || !enabled.has(t.sid)) return done();
        const p = msg.payload;
        if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
          throw new Error('payload must be [ts,value,"unit"]');
        }
        if (!queue) return done(); // no server configured: nothing is kept
        // The FLM uploads whole counters only (quirk 3): a fractional one is passed over, counted.
        if (!Number.isInteger(p[1])) {
          fractional++;
          requestStatus();
          return done();
        }
        const r = await queue.append(t.sid, [p[0], p[1]]);
        if (r !== 'queued') node.debug(`reading ${p[0]} of ${t.sid} not queued: ${r}`);
        if (r === 'fractional') fractional++;
        requestStatus();
        done();
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const serverUrl = textSetting(def.serverUrl);
      const intervalS = numberSetting(def.interval, DEFAULT_UPLOAD_INTERVAL_S, 'upload interval', (n) => n > 0);
      const filters = onOff(def.filters, true);
      const withHeartbeat = onOff(def.heartbeat, true);
      if (serverUrl === '') {
        status.idle('no server configured');
        gate.ready((m, s, d) => void handle(m, s, d));
        return;
      }
      status.idle('opening queue');
      const { device, dataDir } = await deviceNode.ready;
      enabled = new Set(device.sensors.filter((s) => s.enable).map((s) => s.id));
      const c = new UploadClient({ baseUrl: serverUrl, deviceKey: device.key });
      const q = await UploadQueue.open({ dir: join(dataDir, 'upload'), onWarning: (text) => node.warn(text) });
      if (res.isDisposed) {
        c.close();
        return q.close();
      }
      client = c;
      queue = q;
      uploader = new Uploader({ queue: q, client: c, intervalMs: intervalS * 1000, filters, onEvent, onState: requestStatus });
      uploader.start();
      if (withHeartbeat) heartbeat = startHeartbeat({ client: c, deviceId: device.id, onResult: onHeartbeat });
      node.log(`uploading to ${c.url('')} every ${intervalS} s${filters ? '' : ' (filters off)'}`);
      showStatus();
      gate.ready((m, s, d) => void handle(m, s, d));
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      reportError(err);
    });

    onCloseBounded(node, async () => {
      res.dispose();
      await starting;
      heartbeat?.stop();
      await uploader?.stop();
      await queue?.close();
      client?.close();
    }, 10_000);
  }

  RED.nodes.registerType('flm-upload', FlmUpload as never);
}
