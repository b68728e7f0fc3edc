import { prng } from '../util/prng';
import { PulseMeter } from './pulse-meter';
import type { BoardBatch, PortRecord } from '../mqtt/board-batch';

export interface HouseholdOptions {
  seed: number;
  /** 1: the mains clamp on port 1; 3: one clamp per phase on ports 1, 2, 3 */
  phase: 1 | 3;
  solarPort: number;
  gasPort: number;
  waterPort: number;
  solarPeakW: number;
  /** meter constants: Wh/pulse for solar, L/pulse for gas and water */
  solarConstant: number;
  gasConstant: number;
  waterConstant: number;
}

export const DEFAULT_HOUSEHOLD: HouseholdOptions = {
  seed: 1,
  phase: 1,
  solarPort: 4,
  gasPort: 5,
  waterPort: 6,
  solarPeakW: 3600,
  solarConstant: 1,
  gasConstant: 10,
  waterConstant: 1,
};

interface Appliance {
  name: string;
  watts: number;
  seconds: number;
  /** starts per hour at the busiest time of day */
  perHour: number;
}

const APPLIANCES: Appliance[] = [
  { name: 'kettle', watts: 2000, seconds: 180, perHour: 0.6 },
  { name: 'microwave', watts: 1100, seconds: 150, perHour: 0.3 },
  { name: 'oven', watts: 2300, seconds: 2400, perHour: 0.08 },
  { name: 'washing machine', watts: 700, seconds: 5400, perHour: 0.04 },
  { name: 'dishwasher', watts: 1200, seconds: 3600, perHour: 0.05 },
  { name: 'vacuum', watts: 900, seconds: 900, perHour: 0.05 },
];

interface Running {
  appliance: Appliance;
  until: number;
  phase: number;
}

interface Draw {
  lPerS: number;
  until: number;
}

/** Hours of the day (UTC) weighted by how busy a household is. */
function activity(hour: number): number {
  if (hour < 6) return 0.05;
  if (hour < 9) return 1;
  if (hour < 16) return 0.4;
  if (hour < 22) return 1;
  return 0.3;
}

/**
 * A believable household, deterministic for a seed and start time: a mains clamp (base load,
 * a cycling fridge, appliances switching on at the busy hours of the day), solar on an S0
 * pulse port following the sun with passing clouds, and gas and water meters giving pulses.
 * `step()` advances one second and returns the batch a sensor board would report.
 */
export class Household {
  private readonly rnd: () => number;
  private readonly running: Running[] = [];
  private now: number;
  private cloud = 1;
  private base: number;
  private gasDraw: Draw = { lPerS: 0, until: 0 };
  private waterDraw: Draw = { lPerS: 0, until: 0 };
  readonly solar: PulseMeter;
  readonly gas: PulseMeter;
  readonly water: PulseMeter;
  /** true energy through the mains clamps so far, Wh */
  mainsWh = 0;

  constructor(
    readonly opts: HouseholdOptions,
    startMs: number,
  ) {
    this.rnd = prng(opts.seed);
    this.now = Math.floor(startMs / 1000) * 1000;
    this.base = 140 + this.rnd() * 60;
    this.solar = new PulseMeter(opts.solarConstant);
    this.gas = new PulseMeter(opts.gasConstant);
    this.water = new PulseMeter(opts.waterConstant);
  }

  /** the mains power of the latest step, W (all phases) */
  mainsW = 0;

  get time(): number {
    return this.now;
  }

  step(): BoardBatch {
    const from = this.now;
    const to = from + 1000;
    this.now = to;
    const hour = new Date(to).getUTCHours() + new Date(to).getUTCMinutes() / 60;
    const records: PortRecord[] = [];

    const phases = this.mainsPower(to, hour);
    phases.forEach((w, i) => records.push({ kind: 'analog', port: i + 1, power: round1(w) }));
    this.mainsW = phases.reduce((a, b) => a + b, 0);
    this.mainsWh += this.mainsW / 3600;

    const solarW = this.solarPower(hour);
    this.pushPulses(records, this.opts.solarPort, this.solar.step(solarW / 3600, from, to));
    this.pushPulses(records, this.opts.gasPort, this.gas.step(this.gasFlow(to, hour), from, to));
    this.pushPulses(records, this.opts.waterPort, this.water.step(this.waterFlow(to, hour), from, to));
    return { time: to, records };
  }

  private pushPulses(records: PortRecord[], port: number, p: { pulses: number; time: number } | null): void {
    if (p) records.push({ kind: 'pulse', port, pulses: p.pulses, time: p.time });
  }

  private mainsPower(now: number, hour: number): number[] {
    const n = this.opts.phase;
    const watts = new Array<number>(n).fill(0);
    this.base += (this.rnd() - 0.5) * 2;
    this.base = Math.min(260, Math.max(110, this.base));
    for (let i = 0; i < n; i++) watts[i]! += this.base / n;
    const fridgeOn = Math.floor(now / 1000 / 60) % 45 < 15;
    if (fridgeOn) watts[0]! += 95;
    for (let i = this.running.length - 1; i >= 0; i--) if (this.running[i]!.until <= now) this.running.splice(i, 1);
    for (const a of APPLIANCES) {
      const pStart = (a.perHour * activity(Math.floor(hour))) / 3600;
      if (this.rnd() < pStart && !this.running.some((r) => r.appliance === a)) {
        this.running.push({ appliance: a, until: now + a.seconds * 1000, phase: Math.floor(this.rnd() * n) });
      }
    }
    for (const r of this.running) watts[r.phase]! += r.appliance.watts * (0.97 + this.rnd() * 0.06);
    return watts.map((w) => w * (0.99 + this.rnd() * 0.02));
  }

  private solarPower(hour: number): number {
    this.cloud += (this.rnd() - 0.5) * 0.04;
    this.cloud = Math.min(1, Math.max(0.25, this.cloud));
    if (hour <= 6 || hour >= 20) return 0;
    return this.opts.solarPeakW * Math.sin((Math.PI * (hour - 6)) / 14) * this.cloud;
  }

  /** litres of gas this second: the boiler burns in bursts when the house is heated */
  private gasFlow(now: number, hour: number): number {
    if (now >= this.gasDraw.until && this.rnd() < (0.5 * activity(Math.floor(hour))) / 600) {
      this.gasDraw = { lPerS: 0.35 + this.rnd() * 0.25, until: now + (300 + this.rnd() * 900) * 1000 };
    }
    return now < this.gasDraw.until ? this.gasDraw.lPerS : 0;
  }

  /** litres of water this second: flushes, taps and showers */
  private waterFlow(now: number, hour: number): number {
    if (now >= this.waterDraw.until && this.rnd() < (3 * activity(Math.floor(hour))) / 3600) {
      const shower = this.rnd() < 0.2;
      this.waterDraw = shower
        ? { lPerS: 0.13, until: now + 480_000 }
        : { lPerS: 0.1, until: now + (30 + this.rnd() * 60) * 1000 };
    }
    return now < this.waterDraw.until ? this.waterDraw.lPerS : 0;
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
