import { TmpoRecorder } from '../tmpo/recorder';
import { syncEntriesSchema, planResend } from '../tmpo/sync-plan';
import { sensorCfg } from '../tmpo/sensor-cfg';
import {
  tmpoBlockTopic,
  tmpoSyncTopic,
  tmpoSyncReplyTopic,
  parseSensorTopic,
  isDeviceConfigTopic,
  TMPO_FLUSH_COMMAND,
  TMPO_SYNC_COMMAND,
} from '../mqtt/topics';
import { describeZodError, type Device } from '../config/schema';
import type { DeviceSensors } from '../config/sensor-set';
import { DropTally } from '../util/drop-tally';
import { errorText, shorten, type StatusView } from '../util/status-view';
import { tmpoStatusView, tmpoErrorView } from './tmpo-status';
import { createApiServer, type ApiServer } from './server';
import { RecentGauges } from './recent-gauges';
import { derivedApiToken } from './auth';

/** A block or a sync trigger for the flow. */
export interface TmpoOut {
  topic: string;
  payload: unknown;
  retain: false;
  qos: 0;
}

export interface TmpoServiceOptions {
  device: Device;
  dataDir: string;
  sensors: DeviceSensors;
  horizonHours: number;
  /** disk budget; 0: none */
  maxMB: number;
  /** the HTTP APIs; undefined: off. The token blank: one derived from the device key */
  api?: { host: string; port: number; token: string };
  send(out: TmpoOut): void;
  log(level: 'log' | 'warn' | 'error', text: string): void;
  status(view: StatusView): void;
  /** messages refused so far, for the status */
  rejects: () => number;
}

/**
 * flm-tmpo's engine: readings into the TMPO store, finished blocks out, sync requests answered
 * from the store, and the HTTP APIs served from it. A busy API port stops the API only: the
 * store keeps working and the status says why in red.
 */
export class TmpoService {
  private readonly gauges = new RecentGauges();
  /** readings that could not be stored (too old, a duplicate), told once a minute with counts */
  private readonly dropped = new DropTally();
  private api?: ApiServer;
  private apiPort: number | undefined;
  /** why the HTTP API is not serving */
  private apiFailure = '';
  private readonly following = () => this.gauges.setSensors(this.enabled());

  private constructor(
    private readonly o: TmpoServiceOptions,
    private readonly recorder: TmpoRecorder,
  ) {
    this.gauges.setSensors(this.enabled());
    o.sensors.on('change', this.following);
  }

  static async open(o: TmpoServiceOptions): Promise<TmpoService> {
    const recorder = await TmpoRecorder.open({
      dataDir: o.dataDir,
      deviceId: o.device.id,
      cfgFor: (sid) => {
        const sensor = o.sensors.get(sid);
        if (!sensor) throw new Error(`sensor ${sid} is not enabled`);
        return sensorCfg(sensor);
      },
      horizonSeconds: Math.round(o.horizonHours * 3600),
      ...(o.maxMB > 0 ? { maxBytes: o.maxMB * 1024 * 1024 } : {}),
      onBlock: (key, bytes) => o.send(blockOut(key, bytes)),
      onWarning: (text) => o.log('warn', text),
    });
    return new TmpoService(o, recorder);
  }

  /** The token the API serves: its own, else one derived from the device key, never the key itself. */
  get apiToken(): string | undefined {
    return this.o.api ? this.o.api.token || derivedApiToken(this.o.device.key) : undefined;
  }

  /** Starts the HTTP APIs, when they are on. A failure is said in the status and log, not thrown. */
  async serveApi(): Promise<void> {
    const token = this.apiToken;
    if (!this.o.api || token === undefined) return this.render();
    this.api = createApiServer({
      host: this.o.api.host,
      port: this.o.api.port,
      store: () => this.recorder.store,
      gauges: this.gauges,
      tokens: () => new Map(this.enabled().map((sid) => [sid, token])),
      sensors: () => this.o.sensors.all(),
      onError: (err) => this.o.log('warn', `HTTP API: ${errorText(err)}`),
      onServerError: (err) => this.apiFailed(new Error(`HTTP API: ${err.message}`)),
    });
    try {
      const where = await this.api.listen();
      this.apiPort = where.port;
      this.o.log('log', `HTTP API on http://${where.host}:${where.port}/sensor/<sid>`);
    } catch (err) {
      // A redeploy tries again.
      this.apiFailed(err);
    }
    this.render();
  }

  /** tmpod's sync trigger: the server answers with what it has. */
  syncMessage(): TmpoOut {
    return { topic: tmpoSyncTopic(this.o.device.id), payload: '', retain: false, qos: 0 };
  }

  /** Every second: blocks whose window ended are written, drops are told. */
  async tick(): Promise<void> {
    if ((await this.recorder.tick()) > 0) this.render();
    this.tellDropped();
  }

  checkpoint(): Promise<void> {
    return this.recorder.checkpoint();
  }

  /** One message: a reading, or a command (flush, sync, the server's sync reply). Throws what was wrong. */
  async handle(topic: string, payload: unknown, flm: unknown, send: (out: TmpoOut) => void): Promise<void> {
    if (topic === TMPO_FLUSH_COMMAND) {
      await this.recorder.tick({ force: true });
      return this.render();
    }
    // The upload bridge asks after a (re)connect: what the server lacks is found out afresh.
    if (topic === TMPO_SYNC_COMMAND) return send(this.syncMessage());
    if (topic === tmpoSyncReplyTopic(this.o.device.id)) return this.resend(payload, send);
    // The sensor table shares the wire from flm-sensor; it is not a reading, nor an error.
    if (isDeviceConfigTopic(topic)) return;
    const t = parseSensorTopic(topic);
    if (!t) throw new Error(`not a reading topic: "${topic.slice(0, 80)}" (expected /sensor/<sid>/counter or /gauge)`);
    // A sensor a source derived is the device's own; one a reading describes (flm-in) becomes one.
    const sensor = this.o.sensors.sensorOf(t.sid, flm);
    if (!sensor) throw new Error(`unknown sensor ${t.sid}: not an enabled sensor of device ${this.o.device.id}`);
    const p = payload;
    if (!Array.isArray(p) || p.length !== 3 || !Number.isInteger(p[0]) || typeof p[1] !== 'number') {
      throw new Error('payload must be [ts,value,"unit"]');
    }
    // Live gauges feed the FLM local API, whatever the store keeps.
    if (t.kind === 'gauge') this.gauges.push(t.sid, p[0] as number, p[1] as number, String(p[2]));
    // tmpod keeps one series per sensor: the reading kind its data_type names.
    if (sensor.data_type !== t.kind) return;
    const outcome = this.recorder.push(t.sid, sensor.rid, p[0] as number, p[1] as number);
    if (outcome === 'invalid') throw new Error(`reading ${p[0]} for ${sensor.name} not stored: ${outcome}`);
    if (outcome !== 'accepted') {
      // A reading that is well formed but cannot be stored is counted, not an error per reading.
      this.dropped.note(sensor.name ? `${sensor.name} (${t.sid})` : t.sid, outcome);
      this.tellDropped();
    }
    this.render();
  }

  /** The status after a message failed. */
  errorView(err: unknown): StatusView {
    return tmpoErrorView(this.o.rejects(), err);
  }

  async close(): Promise<void> {
    this.o.sensors.off('change', this.following);
    await this.api?.close(2000);
    await this.recorder.close();
  }

  private enabled(): string[] {
    return this.o.sensors
      .all()
      .filter((s) => s.enable)
      .map((s) => s.id);
  }

  private async resend(payload: unknown, send: (out: TmpoOut) => void): Promise<void> {
    const entries = typeof payload === 'string' || Buffer.isBuffer(payload) ? JSON.parse(String(payload)) : payload;
    const parsed = syncEntriesSchema.safeParse(entries);
    if (!parsed.success)
      throw new Error(`sync request is not a list of {sid,rid,lvl,bid}: ${describeZodError(parsed.error)}`);
    const keys = planResend(parsed.data, await this.recorder.store.list());
    for (const key of keys) {
      const bytes = await this.recorder.store.read(key);
      if (bytes) send(blockOut(key, bytes));
    }
    this.o.log('log', `sync: re-published ${keys.length} blocks`);
  }

  private tellDropped(): void {
    const text = this.dropped.take();
    if (text) this.o.log('warn', `TMPO: readings not stored (horizon ${this.o.horizonHours} h): ${text}`);
  }

  private apiFailed(err: unknown): void {
    if (this.apiFailure) return;
    this.apiFailure = shorten(errorText(err), 50);
    this.o.log('error', errorText(err));
    this.render();
  }

  private render(): void {
    this.o.status(
      tmpoStatusView({
        written: this.recorder.written,
        open: this.recorder.openBlocks,
        apiPort: this.apiPort,
        notStored: this.dropped.total,
        rejects: this.o.rejects(),
        apiFailure: this.apiFailure || undefined,
      }),
    );
  }
}

function blockOut(key: { sid: string; rid: number; lvl: number; bid: number }, bytes: Buffer): TmpoOut {
  return { topic: tmpoBlockTopic(key), payload: bytes, retain: false, qos: 0 };
}
