import {
  decodeFlm02Request,
  encodeFlm02Read,
  encodeFlm02Reply,
  type Flm02Command,
  type Flm02DeltaRecord,
} from './flm02';
import { FLM02_SENSORS } from './flm02-delta';
import { kubeRound, type ClampLoad, type KubeNode, type KubeState, type KubeTruth, type PulseTrain } from './emulator';
import { prng } from '../util/prng';

/**
 * A deterministic FLM02 sensor board (docs/protocols/sensor-board.md#flm02-commands) for tests,
 * demos and `flm board emulate --protocol flm02`: it answers `l<cmd><args><crc>.` requests with
 * `l<reply><crc>.u<radio hex>` and a 0x00, as the AVR does over SPI, on a virtual clock.
 *
 * - State like the AVR's: what the set commands change lives in RAM; `ct` copies it to an
 *   "EEPROM" that `reset()` falls back to (counters too, and the ms clock restarts at 0).
 * - Clamps on ports 1–3, pulse inputs on ports 4–5, routed by the `sp` map to logical sensors;
 *   only enabled sensors count. Analog energy is kept in 1/65536 Wh, so the whole-Wh counter is
 *   exactly the floor of the true energy; each pulse adds `sm` whole units and `sf` thousandths.
 * - `gd` returns one record per sensor that changed since the last `gd` (power each second for
 *   clamps, the last pulse's AVR ms time for pulse inputs), read and clear.
 * - Kubes (FLM02B) queue their packets; each reply carries at most one on `u`.
 * - A request with a bad CRC or unknown command gets `zz`; one shorter than two characters `zy`.
 *
 * Loads and pulse trains start when the board is first committed (`ct`), so "10,000 pulses"
 * means 10,000 counted pulses however long the host took to configure it.
 */

export interface Flm02EmulatorOptions {
  clamps?: readonly ClampLoad[];
  pulses?: readonly PulseTrain[];
  kubes?: readonly KubeNode[];
  /** loads stop (0 W) and trains end this many virtual seconds after configuration */
  durationS?: number;
  seed?: number;
  /** the AVR's ms clock at power-up (to see its 49.7-day wrap without waiting for it); default 0 */
  avrMsStart?: number;
  /** hardware version `gh` reports; default 2.2 (FLM02B, whose `u` channel carries Kube packets) */
  hardware?: readonly [number, number];
  /** logical sensors below this are clamps; default 3 */
  analogSensors?: number;
}

export interface Flm02SensorTruth {
  sensor: number;
  enabled: boolean;
  counter: number;
  milli: number;
  meterconst: number;
  fraction: number;
}

export interface Flm02PortTruth {
  port: number;
  /** clamps: energy measured, Wh (what the board counted while the port was mapped and enabled) */
  pplusWh?: number;
  /** pulse inputs: pulses counted, and their total in meter-constant units */
  pulses?: number;
  total?: number;
}

export interface Flm02EmulatorTruth {
  protocol: 'flm02';
  configured: boolean;
  /** virtual seconds since configuration */
  seconds: number;
  ports: Flm02PortTruth[];
  sensors: Flm02SensorTruth[];
  requests: number;
  /** requests answered with zz or zy */
  refused: number;
  commits: number;
  resets: number;
  kubes: KubeTruth[];
}

interface Board {
  hw: [number, number];
  sw: [number, number];
  enabled: boolean[];
  /** physical port (0-based) → logical sensor, 0xff unused */
  map: number[];
  counter: number[];
  meterconst: number[];
  fraction: number[];
  wdt: number;
  brownout: number;
  lines: [number, number, number];
  led: number;
  group: number;
}

const U32 = 2 ** 32;
const UNIT = 65536;
const CLAMP_PORTS = [1, 2, 3];
const PULSE_PORTS = [4, 5];
const MAX_REQUEST = 64;

const clone = (b: Board): Board => structuredClone(b);

interface TrainState {
  train: PulseTrain;
  emitted: number;
  counted: number;
  /** thousandths of a constant unit */
  total: number;
  next: number;
  last?: number;
}

export class Flm02Emulator {
  private mono = 0;
  private bootMono = 0;
  /** the ms clock at bootMono: avrMsStart at power-up, 0 after a reset */
  private msAtBoot: number;
  private configMono: number | undefined;
  private secondEnd = Infinity;
  private eeprom: Board;
  private ram: Board;
  private milli = new Array<number>(FLM02_SENSORS).fill(0);
  private residue = new Array<number>(FLM02_SENSORS).fill(0);
  private power = new Array<number>(FLM02_SENSORS).fill(0);
  private stamp = new Array<number>(FLM02_SENSORS).fill(0);
  private flags = new Array<boolean>(FLM02_SENSORS).fill(false);
  private readonly analog: number;
  private readonly clampUnits = new Map<number, number>();
  private readonly trains = new Map<number, TrainState>();
  private readonly kubes: KubeState[] = [];
  private readonly radioQueue: Uint8Array[] = [];
  private readonly random: () => number;
  private rx = '';
  /** virtual ms of the last gd answered, to know the host has seen the end */
  private lastGd = -Infinity;
  private counts = { requests: 0, refused: 0, commits: 0, resets: 0 };

  constructor(readonly options: Flm02EmulatorOptions = {}) {
    this.analog = options.analogSensors ?? 3;
    this.msAtBoot = options.avrMsStart ?? 0;
    this.random = prng(options.seed ?? 1);
    for (const load of options.clamps ?? []) {
      if (!CLAMP_PORTS.includes(load.port)) throw new RangeError(`clamp port ${load.port} is not 1, 2 or 3`);
      if (('watts' in load ? load.watts : Math.min(load.min, load.max)) < 0) {
        throw new RangeError(
          `clamp ${load.port}: an FLM02 clamp cannot see the direction of power, so it takes no negative load`,
        );
      }
      this.clampUnits.set(load.port, 0);
    }
    for (const train of options.pulses ?? []) {
      if (!PULSE_PORTS.includes(train.port))
        throw new RangeError(`pulse port ${train.port} is not 4 or 5 (the FLM02 board's pulse inputs)`);
      if (!(train.rate > 0 && train.rate <= 1000))
        throw new RangeError(`pulse rate ${train.rate} is not in (0, 1000] per second`);
      this.trains.set(train.port, { train, emitted: 0, counted: 0, total: 0, next: Infinity });
    }
    for (const node of options.kubes ?? []) {
      if (!Number.isInteger(node.nid) || node.nid < 1 || node.nid > 30)
        throw new RangeError(`Kube node id ${node.nid} is not 1..30`);
      this.kubes.push({ node, next: Infinity, movement: 0, truth: { nid: node.nid, packets: 0, fields: [] } });
    }
    const hw = options.hardware ?? [2, 2];
    this.eeprom = {
      hw: [hw[0], hw[1]],
      sw: [1, 0],
      enabled: new Array<boolean>(FLM02_SENSORS).fill(false),
      map: new Array<number>(6).fill(0xff),
      counter: new Array<number>(FLM02_SENSORS).fill(0),
      meterconst: new Array<number>(FLM02_SENSORS).fill(0),
      fraction: new Array<number>(FLM02_SENSORS).fill(0),
      wdt: 0,
      brownout: 0,
      lines: [1, 0, 0],
      led: 0xff,
      group: 212,
    };
    this.ram = clone(this.eeprom);
  }

  get configured(): boolean {
    return this.configMono !== undefined;
  }

  /** The loads have ended and a gd after that was answered (so a host has seen all of it), with every Kube packet out. */
  get finished(): boolean {
    if (this.configMono === undefined || this.radioQueue.length > 0) return false;
    let end: number;
    if (this.options.durationS !== undefined) end = this.endOfLoad();
    else {
      if (this.clampUnits.size > 0) return false;
      end = -Infinity;
      for (const t of this.trains.values()) {
        if (t.train.count === undefined || t.emitted < t.train.count) return false;
        end = Math.max(end, t.last ?? -Infinity);
      }
    }
    return this.mono >= end && this.lastGd > end;
  }

  /** The AVR's ms clock. */
  get avrMs(): number {
    return (this.msAtBoot + this.mono - this.bootMono) % U32;
  }

  /** Configure without a host: each port with a load or a train is its own sensor, 1 unit per pulse. */
  configureSelf(): Uint8Array[] {
    for (const port of [...this.clampUnits.keys(), ...this.trains.keys()]) {
      this.ram.map[port - 1] = port - 1;
      this.ram.enabled[port - 1] = true;
      if (this.trains.has(port)) this.ram.meterconst[port - 1] = 1;
    }
    this.commit();
    return [];
  }

  /** A watchdog reset without a brown-out save: RAM falls back to the EEPROM copy, the ms clock to 0. */
  reset(): void {
    this.ram = clone(this.eeprom);
    this.ram.wdt++;
    this.milli.fill(0);
    this.residue.fill(0);
    this.flags.fill(false);
    this.bootMono = this.mono;
    this.msAtBoot = 0;
    this.counts.resets++;
  }

  /** Bytes from the host; returns the replies (each ends in 0x00). */
  input(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const byte of chunk) {
      const ch = String.fromCharCode(byte);
      if (this.rx === '' && ch !== 'l') continue; // noise between requests
      this.rx += ch;
      if (ch !== '.' && this.rx.length < MAX_REQUEST) continue;
      const request = this.rx;
      this.rx = '';
      out.push(Buffer.from(this.answer(request), 'latin1'));
    }
    return out;
  }

  /** Move the virtual clock on by `ms`; an FLM02 board speaks only when asked, so nothing comes back. */
  advance(ms: number): Uint8Array[] {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`);
    const target = this.mono + ms;
    while (this.secondEnd <= target) {
      this.runPulses(this.secondEnd);
      this.mono = this.secondEnd;
      this.endSecond();
      this.secondEnd += 1000;
    }
    this.runPulses(target);
    this.mono = target;
    return [];
  }

  truth(): Flm02EmulatorTruth {
    const ports: Flm02PortTruth[] = [];
    for (const [port, units] of this.clampUnits) ports.push({ port, pplusWh: units / UNIT });
    for (const [port, t] of this.trains) ports.push({ port, pulses: t.counted, total: t.total / 1000 });
    const sensors = Array.from({ length: FLM02_SENSORS }, (_, i) => ({
      sensor: i,
      enabled: this.ram.enabled[i]!,
      counter: this.ram.counter[i]!,
      milli: this.milli[i]!,
      meterconst: this.ram.meterconst[i]!,
      fraction: this.ram.fraction[i]!,
    }));
    return {
      protocol: 'flm02',
      configured: this.configured,
      seconds: this.configMono === undefined ? 0 : (this.mono - this.configMono) / 1000,
      ports: ports.sort((a, b) => a.port - b.port),
      sensors,
      ...this.counts,
      kubes: this.kubes.map((k) => ({ ...k.truth, fields: [...k.truth.fields] })),
    };
  }

  private answer(request: string): string {
    this.counts.requests++;
    const control = this.control(request);
    if (control.startsWith('lz')) this.counts.refused++;
    return encodeFlm02Read(control, this.radioQueue.shift());
  }

  private control(request: string): string {
    const body = request.endsWith('.') ? request.slice(1, -1) : request.slice(1);
    if (body.length < 2) return encodeFlm02Reply('zy');
    const d = decodeFlm02Request(request);
    if (!d.ok) return encodeFlm02Reply('zz');
    const { cmd, values: v } = d.message;
    const b = this.ram;
    const sensorArg = (): number | undefined => (v[0]! < FLM02_SENSORS ? v[0] : undefined);
    const echo = (c: Flm02Command = cmd) => encodeFlm02Reply(c, v);
    switch (cmd) {
      case 'gh':
        return encodeFlm02Reply(cmd, b.hw);
      case 'sh':
        b.hw = [v[0]!, v[1]!];
        return echo();
      case 'gs':
        return encodeFlm02Reply(cmd, b.sw);
      case 'ss':
        b.sw = [v[0]!, v[1]!];
        return echo();
      case 'gp':
        return encodeFlm02Reply(cmd, b.map);
      case 'sp':
        if (v.some((x) => x >= FLM02_SENSORS && x !== 0xff)) return encodeFlm02Reply('zz');
        b.map = [...v];
        return echo();
      case 'gw':
        return encodeFlm02Reply(cmd, [b.wdt]);
      case 'sw':
        b.wdt = v[0]!;
        return echo();
      case 'gb':
        return encodeFlm02Reply(cmd, [b.brownout]);
      case 'sb':
        b.brownout = v[0]!;
        return echo();
      case 'gk':
        return encodeFlm02Reply(cmd, b.lines);
      case 'sk':
        b.lines = [v[0]!, v[1]!, v[2]!];
        return echo();
      case 'gi':
        return encodeFlm02Reply(cmd, [b.led]);
      case 'si':
        b.led = v[0]!;
        return echo();
      case 'sg':
        b.group = v[0]!;
        return echo();
      case 'rt':
        return echo();
      case 'ct':
        this.commit();
        return echo();
      case 'gd':
        return this.delta();
      case 'zz':
      case 'zy':
        return encodeFlm02Reply('zz');
      default:
    }
    const i = sensorArg();
    if (i === undefined) return encodeFlm02Reply('zz');
    switch (cmd) {
      case 'ge':
        return encodeFlm02Reply(cmd, [i, b.enabled[i] ? 1 : 0]);
      case 'se':
        b.enabled[i] = v[1] !== 0;
        return encodeFlm02Reply(cmd, [i, b.enabled[i] ? 1 : 0]);
      case 'gc':
        return encodeFlm02Reply(cmd, [i, b.counter[i]!]);
      case 'sc':
        b.counter[i] = v[1]!;
        return echo();
      case 'gm':
        return encodeFlm02Reply(cmd, [i, b.meterconst[i]!]);
      case 'sm':
        b.meterconst[i] = v[1]!;
        return echo();
      case 'gf':
        return encodeFlm02Reply(cmd, [i, b.fraction[i]!]);
      case 'sf':
        b.fraction[i] = v[1]!;
        this.milli[i] = 0;
        return echo();
      default:
        return encodeFlm02Reply('zz');
    }
  }

  private delta(): string {
    const records: Flm02DeltaRecord[] = [];
    for (let i = 0; i < FLM02_SENSORS; i++) {
      if (!this.flags[i]) continue;
      this.flags[i] = false;
      const analog = i < this.analog;
      records.push({
        sensor: i,
        counter: this.ram.counter[i]!,
        milli: analog ? 0 : this.milli[i]!,
        extra: analog ? this.power[i]! : this.stamp[i]!,
      });
    }
    this.lastGd = this.mono;
    return encodeFlm02Reply('gd', [], records);
  }

  private commit(): void {
    this.counts.commits++;
    this.eeprom = clone(this.ram);
    if (this.configMono !== undefined) return;
    this.configMono = this.mono;
    this.secondEnd = this.mono + 1000;
    for (const t of this.trains.values()) t.next = this.pulseTime(t, 1);
    for (const k of this.kubes) k.next = this.mono + 1000;
  }

  private endOfLoad(): number {
    const d = this.options.durationS;
    return d === undefined || this.configMono === undefined ? Infinity : this.configMono + d * 1000;
  }

  private pulseTime(t: TrainState, k: number): number {
    const jitter = t.train.jitterMs ? Math.round((this.random() * 2 - 1) * t.train.jitterMs) : 0;
    return this.configMono! + Math.round((k * 1000) / t.train.rate) + jitter;
  }

  /** The logical sensor a physical port counts into, if it is mapped, enabled and of the right kind. */
  private sensorOf(port: number, analog: boolean): number | undefined {
    const i = this.ram.map[port - 1]!;
    if (i >= FLM02_SENSORS || !this.ram.enabled[i] || i < this.analog !== analog) return undefined;
    return i;
  }

  private runPulses(until: number): void {
    for (const [port, t] of this.trains) {
      while (
        t.next < until &&
        t.next < this.endOfLoad() &&
        (t.train.count === undefined || t.emitted < t.train.count)
      ) {
        const at = Math.max(t.next, t.last ?? -Infinity);
        t.emitted++;
        t.next = this.pulseTime(t, t.emitted + 1);
        const i = this.sensorOf(port, false);
        if (i === undefined) continue;
        const save = this.mono;
        this.mono = at;
        this.pulse(i);
        this.mono = save;
        t.counted++;
        t.total += this.ram.meterconst[i]! * 1000 + this.ram.fraction[i]!;
        t.last = at;
      }
    }
  }

  private pulse(i: number): void {
    const b = this.ram;
    let counter = b.counter[i]! + b.meterconst[i]!;
    this.milli[i]! += b.fraction[i]!;
    if (this.milli[i]! >= 1000) {
      this.milli[i]! -= 1000;
      counter++;
    }
    b.counter[i] = counter % U32;
    this.stamp[i] = this.avrMs;
    this.flags[i] = true;
  }

  /** A virtual second ended at this.mono: clamp energy into the counters, power for gd, Kube rounds. */
  private endSecond(): void {
    const from = this.mono - 1000;
    const to = Math.min(this.mono, this.endOfLoad());
    const joules = new Array<number>(FLM02_SENSORS).fill(0);
    for (const load of this.options.clamps ?? []) {
      const i = this.sensorOf(load.port, true);
      if (i === undefined) continue;
      const j = to > from ? energy(load, (from - this.configMono!) / 1000, (to - this.configMono!) / 1000) : 0;
      const units = Math.round((j * UNIT) / 3600);
      this.clampUnits.set(load.port, this.clampUnits.get(load.port)! + units);
      this.residue[i]! += units;
      joules[i]! += j;
    }
    for (let i = 0; i < this.analog; i++) {
      // The AVR sets STATE_POWER of every enabled clamp sensor each second, load or not.
      if (!this.ram.enabled[i]) continue;
      this.flags[i] = true;
      const wh = Math.floor(this.residue[i]! / UNIT);
      this.residue[i]! -= wh * UNIT;
      this.ram.counter[i] = (this.ram.counter[i]! + wh) % U32;
      this.power[i] = Math.round(joules[i]!);
    }
    for (const k of this.kubes) {
      if (this.mono < k.next) continue;
      k.next = this.mono + (k.node.everyS ?? 60) * 1000;
      this.sendKube(k);
    }
  }

  private sendKube(k: KubeState): void {
    this.radioQueue.push(...kubeRound(k, this.ram.group));
  }
}

/** Joules between ta and tb seconds after configuration. */
function energy(load: ClampLoad, ta: number, tb: number): number {
  if ('watts' in load) return load.watts * (tb - ta);
  const w = (2 * Math.PI) / load.periodS;
  const mid = (load.min + load.max) / 2;
  const half = (load.max - load.min) / 2;
  return mid * (tb - ta) - (half / w) * (Math.sin(w * tb) - Math.sin(w * ta));
}
