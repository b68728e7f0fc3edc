import { FlmBridge } from './bridge';
import { blockCfg, configSensorDocument, sensorTable, VERSIONS, type EmulatedSensor, type Flavour } from './flavours';
import { heartbeatFields, sendHeartbeat, type HeartbeatOutcome } from './heartbeat';
import type { Endpoint } from './http-connection';
import { HttpUploader } from './http-uploader';
import { inWindow, SensorModel, type Window } from './model';
import { TmpoDisk } from './tmpo-disk';

/**
 * One emulated FLM on an emulated clock: its household's counters, fluksod's HTTP upload, the
 * hourly heartbeat, tmpod's blocks over the mosquitto bridge, with network outages (the server is
 * unreachable, data queues up) and power cuts (RAM buffers lost, a reset heartbeat at boot).
 * `advanceTo` runs emulated time as fast as the server answers.
 */

export interface FlmEmulatorOptions {
  flavour: Flavour;
  did: string;
  /** the key the device signs and logs in with (a wrong one for a device the server must refuse) */
  keyHex: string;
  /** four sensor ids: electricity, solar, gas, water */
  sids: readonly string[];
  seed: number;
  /** emulated Unix seconds the device boots at */
  start: number;
  /** seconds between counter samples (the sensor board reports each second; tests sample coarser) */
  stepSec?: number;
  http?: { endpoint: Endpoint; host: string };
  bridge?: { url: string; ca: string; restartMs?: number };
  networkDown?: readonly Window[];
  powerOff?: readonly Window[];
  /** uci flukso.mqtt.bridge_address, as it appears in the published config */
  bridgeAddress?: string;
}

export class FlmEmulator {
  readonly sensors: EmulatedSensor[];
  readonly version: number;
  readonly uploader: HttpUploader | undefined;
  readonly bridge: FlmBridge | undefined;
  readonly disk: TmpoDisk;
  readonly heartbeats: HeartbeatOutcome[] = [];
  private models: SensorModel[];
  private now: number;
  private bootedAt: number;
  private off = false;
  /** heartbeat.lua runs with "reset" 1 once after each boot */
  private resetPending = true;
  private nextHeartbeat: number;
  /** per sid: the last counter fluksod accepted, undefined = the next reading is the guard */
  private readonly guard = new Map<string, { ts: number; counter: number } | undefined>();
  private readonly step: number;

  constructor(readonly opts: FlmEmulatorOptions) {
    this.sensors = sensorTable(opts.flavour, opts.sids);
    this.version = VERSIONS[opts.flavour];
    this.now = opts.start;
    this.bootedAt = opts.start;
    this.nextHeartbeat = opts.start;
    this.step = opts.stepSec ?? 10;
    this.models = this.sensors.map((s, i) => new SensorModel(s.sid, s.kind, s.constant, opts.seed * 16 + i));
    const address = opts.bridgeAddress ?? 'api.flukso.net';
    const cfgs = new Map(this.sensors.map((s) => [s.sid, blockCfg(opts.flavour, s, address)]));
    const grace = 4 + (opts.seed % 17);
    this.disk = new TmpoDisk(
      (sid) => cfgs.get(sid)!,
      grace,
      (b) => this.bridge?.publishBlock(b.sid, b.rid, b.lvl, b.bid, b.bytes),
    );
    if (opts.http) {
      this.uploader = new HttpUploader({
        endpoint: opts.http.endpoint,
        host: opts.http.host,
        version: this.version,
        keyHex: opts.keyHex,
        sids: this.sensors.map((s) => s.sid),
        startedAt: opts.start,
        offline: () => inWindow(opts.networkDown ?? [], this.now),
      });
    }
    if (opts.bridge) {
      this.bridge = new FlmBridge({
        url: opts.bridge.url,
        ca: opts.bridge.ca,
        did: opts.did,
        keyHex: opts.keyHex,
        ...(opts.bridge.restartMs !== undefined ? { restartMs: opts.bridge.restartMs } : {}),
        config: configSensorDocument(opts.flavour, this.sensors, address),
        onSync: (entries) => this.disk.resync(entries),
      });
    }
  }

  get clock(): number {
    return this.now;
  }

  start(): void {
    this.bridge?.start();
  }

  /** Run emulated time up to `t`, sample by sample. */
  async advanceTo(t: number): Promise<void> {
    while (this.now + this.step <= t) {
      const ts = this.now + this.step;
      this.now = ts;
      const down = inWindow(this.opts.networkDown ?? [], ts);
      await this.bridge?.setOnline(!down && !this.off);
      if (inWindow(this.opts.powerOff ?? [], ts)) {
        if (!this.off) this.powerCut(ts);
        continue;
      }
      if (this.off) this.boot(ts);
      for (const m of this.models) {
        const r = m.sample(ts, this.step);
        if (r) await this.reading(r.sid, r.ts, r.counter);
      }
      this.disk.tick(ts);
      if (ts >= this.nextHeartbeat) await this.heartbeat(ts);
    }
  }

  /** fluksod's counter branch: guard, then publish to tmpod and buffer for upload. */
  private async reading(sid: string, ts: number, counter: number): Promise<void> {
    const prev = this.guard.get(sid);
    this.guard.set(sid, { ts, counter });
    if (prev === undefined || ts <= prev.ts || counter === prev.counter) return;
    this.disk.push(sid, ts, counter);
    await this.uploader?.push(sid, ts, counter, ts);
  }

  private powerCut(ts: number): void {
    this.off = true;
    this.uploader?.dropBuffers(ts);
    this.disk.powerOff();
  }

  private boot(ts: number): void {
    this.off = false;
    this.bootedAt = ts;
    this.guard.clear();
    this.nextHeartbeat = ts;
    this.resetPending = true;
  }

  private async heartbeat(ts: number): Promise<void> {
    this.nextHeartbeat = ts + 3600;
    const http = this.opts.http;
    if (!http || inWindow(this.opts.networkDown ?? [], ts)) return;
    const reset = this.resetPending ? 1 : 0;
    this.resetPending = false;
    this.heartbeats.push(
      await sendHeartbeat(
        http.endpoint,
        http.host,
        this.opts.did,
        this.opts.keyHex,
        heartbeatFields(this.version, ts, ts - this.bootedAt, reset),
      ),
    );
  }

  /** The end of a run: tmpod's forced flush, and one more upload round for what is buffered. */
  async flush(): Promise<void> {
    this.disk.tick(this.now, true);
    if (this.uploader && this.uploader.buffered() > 0) await this.uploader.round(this.now);
    await this.bridge?.drain();
  }

  async stop(): Promise<void> {
    this.uploader?.close();
    await this.bridge?.stop();
  }
}
