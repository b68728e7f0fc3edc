import { join } from 'node:path';
import { ReadingComputer, type Reading } from './computer';
import { CounterStateFile, type CounterState } from './counter-state';
import { boardBatchSchema, BOARD_BATCH_TOPIC } from '../mqtt/board-batch';
import { P1ReadingMapper, isP1Telegram } from './p1-mapper';
import type { P1Limits } from './p1-totals-guard';
import { KubeReadingMapper, kubeMessageSchema, describeControl, describeFields } from './kube-mapper';
import { SourceTotalGuard } from './source-total-guard';
import { RateLimiter } from '../link/rate-limit';
import { describeZodError, type Device } from '../config/schema';
import type { DeviceSensors } from '../config/sensor-set';
import { sensorTopic, deviceConfigTopic, P1_TELEGRAM_TOPIC, BOARD_KUBE_TOPIC } from '../mqtt/topics';
import { buildDeviceConfig } from '../mqtt/device-config';
import { errorText, formatPower, phrasedView, type Phrase, type StatusView } from '../util/status-view';

/** A reading, or the sensor table, as a message for the flow. */
export interface SensorOut {
  topic: string;
  payload: unknown;
  retain: boolean;
  qos: 0 | 1;
  flm?: Record<string, unknown>;
}

export type SensorLog = (level: 'log' | 'warn', text: string) => void;

export interface SensorEngineOptions {
  device: Device;
  /** the table plus the sensors live sources derived */
  sensors: DeviceSensors;
  dataDir: string;
  p1Limits: P1Limits;
  log: SensorLog;
  /** messages refused so far, for the status */
  rejects: () => number;
  /** seconds since the epoch, for P1 and Kube readings; default the system clock */
  nowS?: () => number;
  /** ms, for the rate limits of what is logged */
  nowMs?: () => number;
}

/** P1 totals held for plausibility are said in the log at most this often. */
const P1_HELD_WARN_MS = 60_000;
/** A Kube reports every minute or so, for years: what it lacks is said once an hour, not each time. */
const KUBE_NOTE_MS = 3_600_000;

const isSourceNews = (topic: unknown): boolean =>
  typeof topic === 'string' &&
  ((topic.startsWith('p1/') && topic !== P1_TELEGRAM_TOPIC) ||
    (topic.startsWith('board/') && topic !== BOARD_BATCH_TOPIC && topic !== BOARD_KUBE_TOPIC));

export function readingMessage(r: Reading, deviceId: string, qos: 0 | 1 = 0): SensorOut {
  const flm: Record<string, unknown> = {
    sid: r.sid,
    kind: r.kind,
    name: r.sensor.name,
    type: r.sensor.type,
    class: r.sensor.class,
    unit: r.unit,
    deviceId,
  };
  if (r.sensor.subtype) flm.subtype = r.sensor.subtype;
  return { topic: sensorTopic(r.sid, r.kind), payload: [r.ts, r.value, r.unit], retain: true, qos, flm };
}

/**
 * flm-sensor's engine: board batches, P1 telegrams and Kube packets in, FLM readings out, one
 * message at a time. Counters and the P1 registers' last published values are kept in one file;
 * a counter goes out only once its reservation is saved, so a crash cannot bring it back lower.
 */
export class SensorEngine {
  private readonly stats = { readings: 0, held: 0, p1Held: 0 };
  private readonly p1Warnings: RateLimiter;
  private readonly kubeNotes: RateLimiter;
  private readonly nowS: () => number;
  private p1Why = '';
  /** the latest power gauge (W) of each sensor that has one, for the status line */
  private readonly watts = new Map<string, { name: string; watts: number }>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly o: SensorEngineOptions,
    private readonly computer: ReadingComputer,
    private readonly p1: P1ReadingMapper,
    private readonly kube: KubeReadingMapper,
    private readonly file: CounterStateFile,
  ) {
    const nowMs = o.nowMs ?? Date.now;
    this.nowS = o.nowS ?? (() => Math.floor(Date.now() / 1000));
    this.p1Warnings = new RateLimiter(P1_HELD_WARN_MS, nowMs);
    this.kubeNotes = new RateLimiter(KUBE_NOTE_MS, nowMs);
  }

  /** Loads the device's counters (a damaged file is moved aside and said). */
  static async open(o: SensorEngineOptions): Promise<SensorEngine> {
    const file = new CounterStateFile(join(o.dataDir, `counters-${o.device.id}.json`));
    const loaded = await file.load();
    if (loaded.warning) o.log('warn', loaded.warning);
    const p1 = new P1ReadingMapper(o.device, { limits: o.p1Limits });
    p1.guard.restore(loaded.state.sensors);
    const totals = Object.fromEntries(Object.entries(loaded.state.sensors).map(([sid, c]) => [sid, c.total]));
    const kube = new KubeReadingMapper(o.device, new SourceTotalGuard(totals, o.nowMs));
    return new SensorEngine(o, new ReadingComputer(o.device, loaded.state), p1, kube, file);
  }

  get startView(): StatusView {
    return phrasedView('ok', [this.sensorsPhrase()]);
  }

  /** The sensor table for the flow: at start, and again whenever a source derives new sensors. */
  configMessage(): SensorOut {
    return {
      topic: deviceConfigTopic(this.o.device.id),
      payload: buildDeviceConfig(this.o.sensors.published()),
      retain: true,
      qos: 0,
    };
  }

  /**
   * One message, after those before it: its readings go to `emit`; the status to show after it,
   * if it changes; rejects with what was wrong (readings already emitted stay emitted).
   */
  process(topic: unknown, payload: unknown, emit: (out: SensorOut[]) => void): Promise<StatusView | undefined> {
    const run = this.queue.then(() => this.handle(topic, payload, emit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The status after a message failed. */
  errorView(err: unknown): StatusView {
    const rejects = this.o.rejects();
    const text = errorText(err);
    const t =
      this.stats.held && /clock/.test(text) ? `clock invalid · ${this.stats.held} held` : `${rejects} rejects: ${text}`;
    return { level: 'error', text: t.slice(0, 60) };
  }

  /** Periodic save: counters, and reservations moved ahead of them. */
  async save(): Promise<void> {
    if (this.computer.dirty) this.computer.reserve();
    if (this.dirty) await this.file.save(this.snapshot());
  }

  /** After the last message: reservations are given back and what changed is saved. */
  async close(): Promise<void> {
    await this.queue;
    this.computer.releaseReservations();
    this.kube.guard.release();
    if (this.dirty) await this.file.save(this.snapshot());
  }

  private get dirty(): boolean {
    return this.computer.dirty || this.p1.guard.dirty || this.kube.guard.dirty;
  }

  /** Counters, the P1 registers' last published values and the Kubes' counts, as one file. */
  private snapshot(): CounterState {
    const state = this.computer.snapshot();
    for (const [sid, p1] of Object.entries(this.p1.guard.snapshot()))
      state.sensors[sid] = { ...state.sensors[sid], p1 };
    for (const [sid, total] of Object.entries(this.kube.guard.snapshot()))
      state.sensors[sid] = { ...state.sensors[sid], total };
    return state;
  }

  private note(key: string, text: string): void {
    const t = this.kubeNotes.take(key, text);
    if (t) this.o.log('warn', t);
  }

  private out(readings: Reading[], emit: (out: SensorOut[]) => void, qos: 0 | 1 = 0): void {
    this.stats.readings += readings.length;
    for (const r of readings)
      if (r.kind === 'gauge' && r.unit === 'W') this.watts.set(r.sid, { name: r.sensor.name, watts: r.value });
    if (readings.length) emit(readings.map((r) => readingMessage(r, this.o.device.id, qos)));
  }

  private async handle(
    topic: unknown,
    payload: unknown,
    emit: (out: SensorOut[]) => void,
  ): Promise<StatusView | undefined> {
    // flm-p1 and flm-board also report availability (and clock, Kube) on the same wire: news, not input.
    if (isSourceNews(topic)) return undefined;
    if (topic === BOARD_KUBE_TOPIC) return this.kubePacket(payload, emit);
    if (topic === P1_TELEGRAM_TOPIC) return this.telegram(payload, emit);
    const parsed = boardBatchSchema.safeParse(payload);
    if (!parsed.success) throw new Error(`not a board batch: ${describeZodError(parsed.error)}`);
    const result = this.computer.process(parsed.data);
    // A counter goes out only once a crash could not bring it back lower.
    if (!this.computer.covers(result.readings) && this.computer.reserve()) await this.file.save(this.snapshot());
    this.out(result.readings, emit);
    if (result.heldBack) {
      this.stats.held++;
      const ts = Math.floor(parsed.data.time / 1000);
      throw new Error(
        `clock not valid: ${ts} is at or before ${this.o.device.validAfter}; readings held back until the clock is set (counters keep counting)`,
      );
    }
    // A board that restarted, or was replaced: worth a line in the log, not an error.
    for (const n of result.notices) this.o.log('log', n);
    if (result.errors.length) throw new Error(result.errors.join('; '));
    return phrasedView('ok', this.countPhrases([this.sensorsPhrase()]));
  }

  /** The power now (the table's first sensor with a power gauge), the readings sent and the rejects. */
  private countPhrases(middle: Phrase[], held?: Phrase): Phrase[] {
    const rejects = this.o.rejects();
    const power = this.powerPhrase();
    return [
      ...(power ? [power] : []),
      ...middle,
      { key: 'out', en: `${this.stats.readings} out`, params: { count: this.stats.readings } },
      ...(held ? [held] : []),
      ...(rejects ? [{ key: 'rejects', en: `${rejects} rejects`, params: { count: rejects } }] : []),
    ];
  }

  private sensorsPhrase(): Phrase {
    const n = this.o.device.sensors.length;
    return { key: 'sensors', en: `${n} sensors`, params: { count: n } };
  }

  private powerPhrase(): Phrase | undefined {
    const first =
      this.o.device.sensors.map((s) => this.watts.get(s.id)).find((w) => w !== undefined) ??
      this.watts.values().next().value;
    if (!first) return undefined;
    const power = formatPower(first.watts);
    return { key: 'power', en: `${first.name} ${power}`, params: { name: first.name, power } };
  }

  private async kubePacket(payload: unknown, emit: (out: SensorOut[]) => void): Promise<undefined> {
    const p = kubeMessageSchema.safeParse(payload);
    if (!p.success) throw new Error(`not a Kube packet: ${describeZodError(p.error)}`);
    const k = p.data;
    if (k.kind === 'control')
      this.note(
        `ctl:${k.nid}`,
        `Kube ${k.nid} asks ${describeControl(k.payload)}; pairing and upgrades are not done here: a Kube paired with an FLM keeps its node id, so add its fields as kube sensors with kid ${k.nid}`,
      );
    const r = this.kube.process(k, this.nowS());
    if (r.problem) throw new Error(`Kube ${k.nid}: ${r.problem}`);
    if (r.heldBack) throw new Error(`clock not valid: Kube ${k.nid} readings dropped, as on the FLM`);
    if (r.unclaimed.length) {
      const add = this.kube.knows(k.nid)
        ? 'add kube sensors for the fields you want'
        : `add kube sensors with kid ${k.nid} to the device's sensor table`;
      this.note(
        `unclaimed:${k.nid}`,
        `Kube ${k.nid} sends ${describeFields(r.unclaimed)}, which no sensor takes: ${add}`,
      );
    }
    for (const t of [...r.reasons, ...r.notices]) this.o.log('warn', t);
    // A counter goes out once a crash could not bring it back lower.
    const reserved = r.readings.map((x) => x.kind === 'counter' && this.kube.guard.reserve(x.sid, x.value));
    if (reserved.includes(true)) await this.file.save(this.snapshot());
    this.out(r.readings, emit, r.qos);
    return undefined;
  }

  private telegram(payload: unknown, emit: (out: SensorOut[]) => void): StatusView {
    if (!isP1Telegram(payload))
      throw new Error('p1/telegram payload is not a parsed P1 telegram (use flm-p1 to parse raw telegrams)');
    const r = this.p1.process(payload, this.nowS());
    // Registered before the readings leave, so every consumer knows their sensors.
    if (r.derived.length) this.o.sensors.register(r.derived, 'p1');
    this.out(r.readings, emit);
    if (r.heldBack && r.readings.length === 0)
      throw new Error(`clock not valid: the telegram's time is at or before ${this.o.device.validAfter}`);
    for (const n of r.notices) this.o.log('log', n);
    const s = this.stats;
    const p1: Phrase = { key: 'p1', en: 'P1' };
    const held = (): Phrase => ({ key: 'held', en: `${s.p1Held} held`, params: { count: s.p1Held } });
    if (!r.held) return phrasedView('ok', this.countPhrases([p1], s.p1Held ? held() : undefined));
    s.p1Held++;
    const warning = r.reasons.length ? this.p1Warnings.take('held', r.reasons.join('; ')) : null;
    if (warning) this.o.log('warn', warning);
    if (r.reasons.length) this.p1Why = r.reasons[0]!;
    // the reason is the guard's English (as in the log); the count around it is translated
    const why = this.p1Why.slice(0, 40);
    const heldWhy: Phrase = { key: 'heldWhy', en: `${s.p1Held} held: ${why}`, params: { count: s.p1Held, why } };
    return phrasedView('warn', this.countPhrases([p1], heldWhy));
  }
}
