import { Flm03Decoder } from './flm03-decoder';
import {
  CT_COUNTERS,
  CT_GAUGES,
  FLM03_PORTS,
  encodeFlm03Message,
  type CtCounter,
  type Flm03Message,
  type Flm03PortConfig,
} from './flm03-messages';
import { numberToQ2011 } from './fixed-point';
import { decodeKubeAuto, encodeKubePacket, type KubeField, type KubeModel } from './kube';
import { prng } from '../util/prng';

/**
 * A deterministic FLM03 sensor board (docs/protocols/sensor-board.md#flm03-message-types) for
 * tests, demos and `flm board emulate`: clamp loads and pulse trains on a virtual clock, the
 * board's side of the protocol (ping until configured, port_config, time_stamp, time_step,
 * kube_ctrl, ping → pong), and a record of the truth to check a host against.
 *
 * Time: `advance(ms)` moves a monotonic virtual clock; the board's wall clock is that plus an
 * offset a time_step moves by whole seconds. Loads and trains run on the monotonic clock from
 * the moment the board is configured, so "10,000 pulses" means 10,000 counted pulses however
 * long the host took to answer. At the end of every wall second the board reports each enabled
 * clamp (ct_data, stamped with the next second as the FLM03 does) and each pulse port that saw
 * pulses (pulse_data, stamped with its last pulse).
 *
 * Counting is exact by construction: clamp energy is kept in 1/65536 Wh (the ct_data counter
 * resolution), pulse totals in thousandths (constant + fraction/1000 per pulse), and the truth
 * is those same integers.
 */

export type ClampLoad =
  | { port: number; watts: number; pf?: number }
  /** min + (max − min)·(1 − cos(2πt/period))/2: starts at min, peaks at max half a period later */
  | { port: number; min: number; max: number; periodS: number; pf?: number };

export interface PulseTrain {
  port: number;
  /** pulses per second */
  rate: number;
  /** stop after this many pulses; default: never */
  count?: number;
  /** each pulse moves by up to ± this many ms, from a seeded generator; default 0 */
  jitterMs?: number;
}

/**
 * A FluksoKube the board hears on its radio (docs/protocols/sensor-board.md#kube-packets): its
 * readings go out as a kube_packet frame every `everyS` seconds, encoded with the inverse of the
 * registry's scaling.
 */
export interface KubeNode {
  nid: number;
  model: KubeModel;
  /** seconds between packets; default 60. The first goes out at the end of the first configured second. */
  everyS?: number;
  temperature?: number;
  humidity?: number;
  battery?: number;
  /** FLK01B only */
  pressure?: number;
  light?: number;
  /** PIR events between packets: each round then also sends a movement count (default 0: none) */
  motion?: number;
  /** the Kube asks for an ACK */
  ack?: boolean;
}

export interface EmulatorOptions {
  /** the board's wall clock at virtual time 0, Unix ms (default: now) */
  start?: number;
  clamps?: readonly ClampLoad[];
  pulses?: readonly PulseTrain[];
  /** line voltage, V (default 230) */
  voltage?: number;
  /** loads stop (0 W) and trains end this many virtual seconds after configuration; default: never */
  durationS?: number;
  /** send a time_stamp every this many virtual seconds after the first one (0: only at configuration) */
  stampEveryS?: number;
  seed?: number;
  /** keep each second's true average power per clamp, for a host's gauges to be checked against */
  history?: boolean;
  kubes?: readonly KubeNode[];
}

/** What a Kube sent: its packets, and the fields of the last ones as a host decodes them. */
export interface KubeTruth {
  nid: number;
  packets: number;
  fields: KubeField[];
}

export interface PortTruth {
  port: number;
  /** clamps: energy taken (pplus) and given (pminus), Wh; exactly what the board's counters say */
  pplusWh?: number;
  pminusWh?: number;
  /** pulse ports: pulses counted and the running total (constant units) */
  pulses?: number;
  total?: number;
  /** [board second, true average W] per reported second, with `history` */
  history?: Array<[number, number]>;
}

export interface EmulatorTruth {
  configured: boolean;
  /** virtual seconds since configuration */
  seconds: number;
  /** the board's wall clock, Unix ms */
  boardTime: number;
  ports: PortTruth[];
  configsReceived: number;
  timeSteps: number;
  pongs: number;
  kubes: KubeTruth[];
}

const FRACTION = 65536;
const WH_UNITS_PER_JOULE = FRACTION / 3600;
const CLAMPS = [1, 2, 3];
const PULSE_PORTS = [4, 5, 6];

interface ClampState {
  load: ClampLoad;
  /** 1/65536 Wh */
  plus: number;
  minus: number;
  history: Array<[number, number]>;
}

interface TrainState {
  train: PulseTrain;
  emitted: number;
  /** pulses on an enabled port, the ones the board counted */
  counted: number;
  /** monotonic ms of the next pulse */
  next: number;
  /** thousandths of a constant unit */
  total: number;
  /** pulses and last pulse (monotonic ms) in the current wall second */
  inSecond: number;
  last?: number;
  previous?: number;
}

export class BoardEmulator {
  private mono = 0;
  private offset: number;
  private readonly decoder = new Flm03Decoder();
  private config?: Flm03PortConfig;
  private configMono = 0;
  private secondStart = 0;
  private nextStamp = Infinity;
  private readonly clamps = new Map<number, ClampState>();
  private readonly trains = new Map<number, TrainState>();
  private readonly random: () => number;
  private counts = { configsReceived: 0, timeSteps: 0, pongs: 0 };
  private readonly kubes: KubeState[] = [];
  /** frames produced while handling input or time, waiting to be taken */
  private out: Uint8Array[] = [];
  kubeGroup: number | undefined;

  constructor(readonly options: EmulatorOptions = {}) {
    this.offset = options.start ?? Date.now();
    this.random = prng(options.seed ?? 1);
    for (const load of options.clamps ?? []) {
      if (!CLAMPS.includes(load.port)) throw new RangeError(`clamp port ${load.port} is not 1, 2 or 3`);
      this.clamps.set(load.port, { load, plus: 0, minus: 0, history: [] });
    }
    for (const train of options.pulses ?? []) {
      if (!PULSE_PORTS.includes(train.port)) throw new RangeError(`pulse port ${train.port} is not 4, 5 or 6`);
      if (!(train.rate > 0 && train.rate <= 1000))
        throw new RangeError(`pulse rate ${train.rate} is not in (0, 1000] per second`);
      this.trains.set(train.port, { train, emitted: 0, counted: 0, next: Infinity, total: 0, inSecond: 0 });
    }
    for (const node of options.kubes ?? []) {
      if (!Number.isInteger(node.nid) || node.nid < 1 || node.nid > 30)
        throw new RangeError(`Kube node id ${node.nid} is not 1..30`);
      if (!((node.everyS ?? 60) > 0)) throw new RangeError(`Kube ${node.nid}: a packet every ${node.everyS} s`);
      this.kubes.push({ node, next: Infinity, movement: 0, truth: { nid: node.nid, packets: 0, fields: [] } });
    }
  }

  get configured(): boolean {
    return this.config !== undefined;
  }

  /** The board's wall clock, Unix ms. */
  get boardTime(): number {
    return this.mono + this.offset;
  }

  /** The port_config the host sent last. */
  get portConfig(): Flm03PortConfig | undefined {
    return this.config;
  }

  /**
   * True once the loads have ended (the duration is over) or, without a duration, every train
   * has sent its count and there are no clamps; and the board has reported the second in which
   * that happened, so the host has seen everything the truth holds.
   */
  get finished(): boolean {
    if (!this.config) return false;
    // Energy and pulses before the end are reported at the boundary that ends their second.
    if (this.options.durationS !== undefined) return this.secondStart >= this.endOfLoad();
    if (this.clamps.size > 0) return false;
    let last = -Infinity;
    for (const t of this.trains.values()) {
      if (t.train.count === undefined || t.emitted < t.train.count) return false;
      last = Math.max(last, t.last ?? -Infinity);
    }
    return this.secondStart > last;
  }

  /** What a board with no configuration sends, over and over. */
  pingFrame(): Uint8Array {
    return encodeFlm03Message({ type: 'ping', payload: new Uint8Array(0) });
  }

  /**
   * Configure the board without a host (demos, `flm board sniff` practice): every port with a
   * load or a train enabled, 50 A clamps, 1 unit per pulse. Returns the frames that follow.
   */
  configureSelf(): Uint8Array[] {
    const ports = Array.from({ length: FLM03_PORTS }, (_, i) => ({
      constant: PULSE_PORTS.includes(i + 1) ? 1 : 0,
      fraction: 0,
      current: 0,
      shift: 0,
      trigger: 0,
      enable: this.clamps.has(i + 1) || this.trains.has(i + 1),
    }));
    this.configure({ type: 'port_config', ports, phase: 0, led: 255, batch: 0, math: 0 });
    return this.take();
  }

  /** Bytes from the host. Returns the frames the board answers with. */
  input(chunk: Uint8Array): Uint8Array[] {
    for (const m of this.decoder.push(chunk)) this.handle(m);
    return this.take();
  }

  /** Move the virtual clock on by `ms`; returns the frames the board sent meanwhile. */
  advance(ms: number): Uint8Array[] {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`);
    const target = this.mono + ms;
    for (;;) {
      const boundary = this.secondStart + 1000 - ((((this.secondStart + this.offset) % 1000) + 1000) % 1000);
      if (boundary > target) break;
      this.runPulses(boundary);
      this.mono = boundary;
      this.endSecond();
      this.secondStart = boundary;
    }
    this.runPulses(target);
    this.mono = target;
    return this.take();
  }

  truth(): EmulatorTruth {
    const ports: PortTruth[] = [];
    for (const [port, c] of this.clamps) {
      ports.push({
        port,
        pplusWh: c.plus / FRACTION,
        pminusWh: c.minus / FRACTION,
        ...(this.options.history ? { history: c.history } : {}),
      });
    }
    for (const [port, t] of this.trains) ports.push({ port, pulses: t.counted, total: t.total / 1000 });
    return {
      configured: this.configured,
      seconds: this.config ? (this.mono - this.configMono) / 1000 : 0,
      boardTime: this.boardTime,
      ports: ports.sort((a, b) => a.port - b.port),
      ...this.counts,
      kubes: this.kubes.map((k) => ({ ...k.truth, fields: [...k.truth.fields] })),
    };
  }

  private take(): Uint8Array[] {
    const frames = this.out;
    this.out = [];
    return frames;
  }

  private send(m: Flm03Message): void {
    this.out.push(encodeFlm03Message(m));
  }

  private handle(m: Flm03Message): void {
    switch (m.type) {
      case 'port_config':
        this.configure(m);
        return;
      case 'time_step': {
        const wall = this.boardTime;
        // Whole seconds only, so the board's second boundaries stay where they were.
        this.offset += (m.time - Math.floor(wall / 1000)) * 1000;
        this.counts.timeSteps++;
        return;
      }
      case 'kube_ctrl':
        this.kubeGroup = m.group;
        return;
      case 'ping':
        this.counts.pongs++;
        this.send({ type: 'pong', payload: new Uint8Array(0) });
        return;
      default:
    }
  }

  private configure(config: Flm03PortConfig): void {
    this.counts.configsReceived++;
    const first = !this.config;
    this.config = config;
    if (!first) return;
    this.configMono = this.mono;
    for (const t of this.trains.values()) t.next = this.pulseTime(t, 1);
    for (const k of this.kubes) k.next = this.mono;
    this.sendStamp();
  }

  private sendStamp(): void {
    this.send({ type: 'time_stamp', time: Math.floor(this.boardTime / 1000) });
    const every = this.options.stampEveryS ?? 0;
    this.nextStamp = every > 0 ? this.mono + every * 1000 : Infinity;
  }

  private pulseTime(t: TrainState, k: number): number {
    const jitter = t.train.jitterMs ? Math.round((this.random() * 2 - 1) * t.train.jitterMs) : 0;
    return this.configMono + Math.round((k * 1000) / t.train.rate) + jitter;
  }

  private enabled(port: number): boolean {
    return this.config?.ports[port - 1]?.enable === true;
  }

  private endOfLoad(): number {
    const d = this.options.durationS;
    return d === undefined ? Infinity : this.configMono + d * 1000;
  }

  /** Count the pulses due before `until` (monotonic ms): one on a second's boundary belongs to the next. */
  private runPulses(until: number): void {
    if (!this.config) return;
    for (const [port, t] of this.trains) {
      const cfg = this.config.ports[port - 1]!;
      const milli = cfg.constant * 1000 + cfg.fraction;
      while (
        t.next < until &&
        t.next < this.endOfLoad() &&
        (t.train.count === undefined || t.emitted < t.train.count)
      ) {
        const at = Math.max(t.next, t.last ?? -Infinity, this.configMono);
        t.emitted++;
        if (this.enabled(port)) {
          t.counted++;
          t.total += milli;
          t.inSecond++;
          t.previous = t.last;
          t.last = at;
        }
        t.next = this.pulseTime(t, t.emitted + 1);
      }
    }
  }

  private endSecond(): void {
    if (!this.config) return;
    const wall = this.boardTime;
    const second = Math.floor(wall / 1000) - 1;
    for (const [port, c] of this.clamps) {
      if (!this.enabled(port)) continue;
      const from = Math.max(this.secondStart, this.configMono);
      const to = Math.min(this.mono, this.endOfLoad());
      const joules = to > from ? this.energy(c.load, from - this.configMono, to - this.configMono) : 0;
      const units = Math.round(Math.abs(joules) * WH_UNITS_PER_JOULE);
      if (joules >= 0) c.plus += units;
      else c.minus += units;
      const avgW = joules / ((this.mono - this.secondStart) / 1000);
      if (this.options.history) c.history.push([second, avgW]);
      this.sendCt(port, c, avgW, wall);
    }
    for (const [port, t] of this.trains) {
      if (t.inSecond === 0 || t.last === undefined) continue;
      const cfg = this.config.ports[port - 1]!;
      const perPulse = cfg.constant + cfg.fraction / 1000;
      const interval = t.previous !== undefined ? t.last - t.previous : 0;
      const lastWall = t.last + this.offset;
      this.send({
        type: 'pulse_data',
        time: Math.floor(lastWall / 1000),
        millis: lastWall % 1000,
        port: port - 1,
        gauge: interval > 0 ? numberToQ2011((perPulse * 1000) / interval) : 0,
        counter: Math.floor(t.total / 1000) >>> 0,
        counterMillis: t.total % 1000,
      });
      t.inSecond = 0;
    }
    for (const k of this.kubes) {
      if (this.mono < k.next) continue;
      k.next = this.mono + (k.node.everyS ?? 60) * 1000;
      this.sendKube(k);
    }
    if (this.mono >= this.nextStamp) this.sendStamp();
  }

  private sendKube(k: KubeState): void {
    // A radio the board was told to listen on (kube_ctrl) is the group its Kubes send in.
    for (const payload of kubeRound(k, this.kubeGroup ?? 212)) this.send({ type: 'kube_packet', payload });
  }

  private sendCt(port: number, c: ClampState, watts: number, wall: number): void {
    const voltage = this.options.voltage ?? 230;
    const pf = Math.min(1, Math.max(0.05, c.load.pf ?? 1));
    const angle = Math.acos(pf);
    const reactive = Math.abs(watts) * Math.tan(angle);
    const counters: CtCounter[] = Array.from({ length: CT_COUNTERS }, () => ({ integer: 0, fraction: 0 }));
    counters[0] = split(c.plus);
    counters[1] = split(c.minus);
    const gauges = new Array<number>(CT_GAUGES).fill(0);
    gauges[0] = numberToQ2011(Math.max(0, watts));
    gauges[1] = numberToQ2011(Math.max(0, -watts));
    gauges[2] = numberToQ2011(watts >= 0 ? reactive : 0);
    gauges[6] = numberToQ2011(voltage);
    gauges[7] = numberToQ2011(Math.abs(watts) / voltage / pf);
    gauges[8] = numberToQ2011(pf);
    gauges[11] = numberToQ2011((angle * 180) / Math.PI);
    const boardSecond = Math.floor(wall / 1000);
    this.send({ type: 'ct_data', time: boardSecond, millis: wall % 1000, port: port - 1, counters, gauges });
  }

  /** Joules between a and b ms after configuration. */
  private energy(load: ClampLoad, a: number, b: number): number {
    const ta = a / 1000;
    const tb = b / 1000;
    if ('watts' in load) return load.watts * (tb - ta);
    // ∫ min + (max − min)(1 − cos ωt)/2 dt
    const w = (2 * Math.PI) / load.periodS;
    const mid = (load.min + load.max) / 2;
    const half = (load.max - load.min) / 2;
    return mid * (tb - ta) - (half / w) * (Math.sin(w * tb) - Math.sin(w * ta));
  }
}

/** An emulated Kube between rounds: when it sends next, its PIR count, what it sent. */
export interface KubeState {
  node: KubeNode;
  /** monotonic ms of the next round */
  next: number;
  movement: number;
  truth: KubeTruth;
}

/**
 * One round of a Kube: its measurements, and its movement count when it has PIR events, as
 * packets (CRC included) on `group`; the truth records what a host decodes from them.
 */
export function kubeRound(k: KubeState, group: number): Uint8Array[] {
  const payloads = [kubeMeasurements(k.node)];
  if (k.node.motion) {
    k.movement = (k.movement + k.node.motion) >>> 0;
    const m = new Uint8Array(4);
    new DataView(m.buffer).setUint32(0, k.movement, true);
    payloads.push(m);
  }
  const fields: KubeField[] = [];
  const packets = payloads.map((p) => {
    const d = decodeKubeAuto(p);
    if (d.ok) fields.push(...d.fields);
    return encodeKubePacket(group, { ctl: false, dst: false, ack: k.node.ack ?? false, nid: k.node.nid }, p);
  });
  k.truth.packets += packets.length;
  k.truth.fields = fields;
  return packets;
}

/**
 * The inverse of the registry's scaling (docs/protocols/sensor-board.md#kube-data), clamped to each
 * raw field's width.
 */
function kubeMeasurements(k: KubeNode): Uint8Array {
  const raw = (v: number, max: number) => Math.min(max, Math.max(0, Math.round(v)));
  const t = k.temperature ?? 21;
  const h = k.humidity ?? 50;
  const v = k.battery ?? 3;
  if (k.model === 'flk01a') {
    const out = new Uint8Array(6);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, raw(((t + 46.85) * 65536) / 175.72, 0xffff), true);
    dv.setUint16(2, raw(((h + 6) * 65536) / 125, 0xffff), true);
    out[4] = raw((27.43 / v) ** (1 / 1.04), 0xff) || 1;
    return out;
  }
  const pressure = raw((k.pressure ?? 101_325) / 0.25, 0xfffff);
  const humidity = raw(((h + 6) * 4096) / 125, 0xfff);
  const temperature = raw(((t + 46.85) * 16384) / 175.72, 0x3fff);
  const battery = raw((26.93 / v) ** (1 / 0.985) - 8.5, 7);
  const out = new Uint8Array(9);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, ((humidity << 20) | pressure) >>> 0, true);
  dv.setUint16(4, raw((k.light ?? 0) / 0.25, 0xffff), true);
  const x = temperature | (battery << 14);
  out[6] = x & 0xff;
  out[7] = (x >>> 8) & 0xff;
  out[8] = (x >>> 16) & 0xff;
  return out;
}

function split(units: number): CtCounter {
  return { integer: Math.floor(units / FRACTION) >>> 0, fraction: units % FRACTION };
}
