import { join } from 'node:path';
import type { DeviceSensors } from '../config/sensor-set';
import { wirePayload } from '../mqtt/payload';
import { parseSensorTopic } from '../mqtt/topics';
import { MqttBridge, type BridgeEvent, type MqttVersion } from './bridge';
import { loadCa } from './bridge-ca';
import { bridgeRoute } from './bridge-routes';
import { UploadClient } from './client';
import { startHeartbeat, type HeartbeatLoop, type HeartbeatResult, type UpgradeOffer } from './heartbeat';
import { UploadQueue, type AppendResult } from './queue';
import { httpStatus, bridgeStatus, joinStatus, type NotUploaded, type StatusLine } from './status';
import { Uploader, type UploadEvent } from './uploader';

/** Why a counter is not queued, as the status counts it: not a sensor of the device, or what the queue refused. */
const NOT_QUEUED: Record<Exclude<AppendResult, 'queued' | 'fractional'>, NotUploaded> = {
  'not-after-last': 'notNewer',
  'invalid-time': 'badTime',
  'invalid-counter': 'badCounter',
  'invalid-sid': 'badSid',
};
const NOT_UPLOADED: NotUploaded[] = ['unknownSensor', ...Object.values(NOT_QUEUED)];

export interface UploadServiceSettings {
  /** HTTP upload; undefined when off */
  http?: { serverUrl: string; intervalS: number; filters: boolean; heartbeat: boolean };
  /** the MQTT bridge; undefined when off */
  bridge?: { host: string; port: number; ca: string; mqttVersion: MqttVersion };
}

export interface UploadServiceOptions {
  settings: UploadServiceSettings;
  device: { id: string; key: string };
  /** the queue lives in `<dataDir>/upload` */
  dataDir: string;
  sensors: DeviceSensors;
  onWarning: (text: string) => void;
  onUploadEvent: (e: UploadEvent) => void;
  /** a heartbeat's answer, for the log (the status shows an offer by itself) */
  onHeartbeat: (r: HeartbeatResult) => void;
  onBridgeEvent: (e: BridgeEvent) => void;
  /** a counter passed over for a reason the status counts */
  onDrop: (reason: NotUploaded, text: string) => void;
  /** what the status shows changed; `now` when it is news to show at once (a refused key, a connection change) */
  onStatus: (now: boolean) => void;
}

interface Parts {
  client?: UploadClient;
  queue?: UploadQueue;
  uploader?: Uploader;
  heartbeat?: HeartbeatLoop;
  bridge?: MqttBridge;
}

/** One message into the service: a counter to upload, or a topic for the bridge. */
export interface UploadInput {
  topic: string;
  payload: unknown;
  qos?: number;
  retain?: boolean;
  flm?: unknown;
}

/**
 * Where a message goes: the bridge (config topics, TMPO blocks, the sync request), the upload
 * queue (a counter), or nowhere (gauges and anything else from flm-sensor). Throws for a counter
 * with a payload of no known form.
 */
export function uploadRoute(
  topic: string,
  payload: unknown,
  deviceId: string,
): 'bridge' | 'pass' | { sid: string; ts: number; value: number } {
  if (bridgeRoute(topic, deviceId)) return 'bridge';
  const t = parseSensorTopic(topic);
  if (!t || t.kind !== 'counter') return 'pass';
  const p = payload;
  if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number')
    throw new Error('payload must be [ts,value,"unit"]');
  return { sid: t.sid, ts: p[0], value: p[1] };
}

/**
 * The Flukso server's side of the device: whole counters queued on disk and POSTed (with the
 * heartbeat), and the MQTT bridge for the sensor table, the TMPO blocks and the sync trigger.
 */
export class UploadService {
  private fractional = 0;
  private offer: UpgradeOffer | undefined;

  private constructor(
    private readonly o: UploadServiceOptions,
    private readonly parts: Parts,
  ) {}

  /** Opens the queue and starts what the settings ask for; undefined when `cancelled()` once the queue is open. */
  static async open(o: UploadServiceOptions, cancelled: () => boolean): Promise<UploadService | undefined> {
    const { http, bridge: b } = o.settings;
    const ca = b ? await loadCa(b.ca) : undefined;
    const parts: Parts = {};
    const service = new UploadService(o, parts);
    if (http) {
      const client = new UploadClient({ baseUrl: http.serverUrl, deviceKey: o.device.key });
      const queue = await UploadQueue.open({ dir: join(o.dataDir, 'upload'), onWarning: o.onWarning });
      if (cancelled()) {
        client.close();
        await queue.close();
        return undefined;
      }
      parts.client = client;
      parts.queue = queue;
      parts.uploader = new Uploader({
        queue,
        client,
        intervalMs: http.intervalS * 1000,
        filters: http.filters,
        onEvent: (e) => {
          o.onUploadEvent(e);
          if (e.kind === 'auth-failed') o.onStatus(true);
        },
        onState: () => o.onStatus(false),
      });
      parts.uploader.start();
      if (http.heartbeat) {
        parts.heartbeat = startHeartbeat({
          client,
          deviceId: o.device.id,
          onResult: (r) => {
            o.onHeartbeat(r);
            // a good answer says whether there is an offer; a failed one leaves the last one shown
            if (r.kind === 'ok') service.offer = r.offer;
            o.onStatus(false);
          },
        });
      }
    }
    if (b) {
      parts.bridge = new MqttBridge({
        host: b.host,
        port: b.port,
        mqttVersion: b.mqttVersion,
        ...(ca ? { ca } : {}),
        deviceId: o.device.id,
        deviceKey: o.device.key,
        onEvent: (e) => {
          o.onBridgeEvent(e);
          // Connection changes are rare and are what the status is for: shown at once.
          o.onStatus(e.kind === 'connected' || e.kind === 'failed' || e.kind === 'disconnected');
        },
      });
      parts.bridge.start();
    }
    return service;
  }

  /** The HTTP endpoint, for the log; undefined without HTTP upload. */
  get url(): string | undefined {
    return this.parts.client?.url('');
  }

  /** A message for the service; throws for a counter with a payload of no known form. */
  async input(m: UploadInput): Promise<void> {
    const { bridge, queue } = this.parts;
    const route = uploadRoute(m.topic, m.payload, this.o.device.id);
    if (route === 'bridge') {
      if (bridge) {
        bridge.publish(m.topic, wirePayload(m.topic, m.payload), {
          ...(m.qos !== undefined ? { qos: Number(m.qos) } : {}),
          retain: m.retain === true,
        });
        this.o.onStatus(false);
      }
      return;
    }
    if (route === 'pass' || !queue) return; // no HTTP upload: nothing is kept
    const { sid, ts, value } = route;
    // The server takes the device's own sensors only: a counter of any other is lost, so said.
    // A sensor a source derived is the device's own; one a reading describes (flm-in) becomes one.
    if (!this.o.sensors.sensorOf(sid, m.flm)) {
      this.o.onDrop(
        'unknownSensor',
        `counter of sensor ${sid} not uploaded: not an enabled sensor of device ${this.o.device.id}`,
      );
      return this.o.onStatus(false);
    }
    // The FLM uploads whole counters only: a fractional one is passed over, counted.
    if (!Number.isInteger(value)) {
      this.fractional++;
      return this.o.onStatus(false);
    }
    const r = await queue.append(sid, [ts, value]);
    if (r === 'fractional') this.fractional++;
    else if (r !== 'queued') this.o.onDrop(NOT_QUEUED[r], `counter ${ts} of ${sid} not uploaded: ${r}`);
    this.o.onStatus(false);
  }

  /** The status line; `dropped(reason)` is how many counters were passed over for that reason. */
  status(dropped: (reason: NotUploaded) => number, hhmm: (ms: number) => string): StatusLine | undefined {
    const { uploader, bridge } = this.parts;
    const parts: StatusLine[] = [];
    if (uploader) {
      const st = uploader.state();
      parts.push(
        httpStatus(
          {
            depth: st.depth,
            ...(st.lastSuccess !== undefined ? { lastSuccess: st.lastSuccess } : {}),
            ...(st.lastError ? { lastError: st.lastError.message } : {}),
            authFailed: st.authFailed,
            retrying: st.sensors.some((s) => s.state === 'backoff'),
            fractional: this.fractional,
            notUploaded: Object.fromEntries(NOT_UPLOADED.map((r) => [r, dropped(r)])),
            offer: this.offer,
          },
          hhmm,
        ),
      );
    }
    if (bridge) parts.push(bridgeStatus(bridge.state(), hhmm, !uploader));
    return parts.length ? joinStatus(parts) : undefined;
  }

  async close(): Promise<void> {
    const { heartbeat, bridge, uploader, queue, client } = this.parts;
    heartbeat?.stop();
    await bridge?.close(2000);
    await uploader?.stop();
    await queue?.close();
    client?.close();
  }
}
