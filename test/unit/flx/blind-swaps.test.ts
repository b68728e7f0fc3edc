/**
 * The byte flips the FLM03 checksum cannot see, made harmless above the frame layer.
 *
 * Fletcher-16 adds modulo 255, where 0x00 and 0xFF are the same number, so a payload byte that
 * flips between the two leaves a frame valid. This takes five minutes of a real-looking board
 * stream (the emulator: three clamps, one of them idling near 0 W, and two pulse meters), and
 * for every byte position of every clamp and pulse report where such a flip keeps the checksum
 * valid, runs the stream with that one flip through the host session and the reading
 * computation, against the same run without it. The clock starts 150 s before a 65,536-second
 * boundary, so the time fields' two low bytes pass through 0xFF and 0x00 too.
 *
 * After the five minutes the board reports 30 s more, untouched in every run: a corrupted last
 * report can only be judged by the one after it, and real boards always send one.
 *
 * Each run starts from a copy of the clean run's state just before its second, and ends as soon
 * as its state is the clean run's again (same pending records, references, emit rules): from
 * there it can only publish what the clean run did. Runs that never rejoin go to the end.
 *
 * Asserted for every run: the final counters equal the clean run's; no counter goes down or runs
 * ahead of the clean one by more than one second's worth of the sensor's limit (+1 Wh rounding);
 * no reading is stamped outside the clean run's span; a clamp gauge is dropped or within
 * 0xFF00/2048 = 31.875 units of the clean one (a flip of its second byte cannot be told from a
 * real change). The numbers (how many flips, which guard took them, the worst effects) are
 * printed as TAP comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardEmulator } from '../../../core/flx/emulator';
import { BoardSession } from '../../../core/flx/board-session';
import { fletcher16 } from '../../../core/flx/fletcher';
import { ReadingComputer, type Reading } from '../../../core/readings/computer';
import type { GuardStats } from '../../../core/readings/counter-guard';
import { totalLimit } from '../../../core/config/limits';
import type { SensorInput } from '../../../core/config/schema';
import { device, sid } from '../../support/device';
import { concat } from './support';

const SENSORS: SensorInput[] = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  {
    n: 2,
    id: sid(2),
    name: 'main export',
    type: 'electricity',
    class: 'analog',
    port: [1],
    current: 100,
    subtype: 'pminus',
  },
  {
    n: 3,
    id: sid(3),
    name: 'main voltage',
    type: 'electricity',
    class: 'analog',
    port: [1],
    current: 100,
    subtype: 'vrms',
  },
  {
    n: 4,
    id: sid(4),
    name: 'main current',
    type: 'electricity',
    class: 'analog',
    port: [1],
    current: 100,
    subtype: 'irms',
  },
  { n: 5, id: sid(5), name: 'heat pump', type: 'electricity', class: 'analog', port: [2], current: 50 },
  {
    n: 6,
    id: sid(6),
    name: 'heat pump q1',
    type: 'electricity',
    class: 'analog',
    port: [2],
    current: 50,
    subtype: 'q1',
  },
  {
    n: 7,
    id: sid(7),
    name: 'heat pump pf',
    type: 'electricity',
    class: 'analog',
    port: [2],
    current: 50,
    subtype: 'pf',
  },
  {
    n: 8,
    id: sid(8),
    name: 'solar export',
    type: 'electricity',
    class: 'analog',
    port: [3],
    current: 50,
    subtype: 'pminus',
  },
  { n: 9, id: sid(9), name: 'solar import', type: 'electricity', class: 'analog', port: [3], current: 50 },
  { n: 10, id: sid(10), name: 'solar meter', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 11, id: sid(11), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 2.5 },
];
const DEV = device(SENSORS);
const SECONDS = 120;
const TAIL = 30;
/** 60 s before a multiple of 65,536 s in mid-2026: the time fields' two low bytes pass 0xFF and 0x00 */
const START = (Math.ceil(Date.UTC(2026, 5, 21) / 1000 / 65536) * 65536 - 60) * 1000;
/** the host reads a second's reports this long after the board sent them */
const LATENCY_MS = 40;

interface Second {
  hostMs: number;
  frames: Uint8Array[];
}

/** The board's stream, per second; the port config and time_stamp exchange first. */
interface Stream {
  seconds: Second[];
  connect: Uint8Array[];
}

function boardStream(): Stream {
  const emulator = new BoardEmulator({
    start: START,
    clamps: [
      { port: 1, min: 200, max: 5200, periodS: 120 },
      { port: 2, min: 0, max: 1500, periodS: 60, pf: 0.8 },
      { port: 3, watts: -1500 },
    ],
    pulses: [
      { port: 4, rate: 2 },
      { port: 5, rate: 0.37, jitterMs: 40 },
    ],
    seed: 7,
  });
  const session = new BoardSession({ sensors: DEV.sensors, phase: DEV.phase, validAfter: DEV.validAfter });
  const connect = emulator.input(concat(...session.connected().writes));
  const seconds: Second[] = [];
  for (let i = 0; i < SECONDS + TAIL; i++) {
    const frames = emulator.advance(1000);
    seconds.push({ hostMs: emulator.boardTime + LATENCY_MS, frames });
  }
  return { seconds, connect };
}

/** The host clock both runs read; set before each second is fed. */
let hostNow = START;

interface Pair {
  session: BoardSession;
  computer: ReadingComputer;
}

function newPair(stream: Stream): { pair: Pair; readings: Reading[] } {
  hostNow = START;
  const pair = {
    session: new BoardSession({ sensors: DEV.sensors, phase: DEV.phase, validAfter: DEV.validAfter }),
    computer: new ReadingComputer(DEV, { sensors: {} }, { now: () => hostNow }),
  };
  pair.session.connected();
  return { pair, readings: feed(pair, concat(...stream.connect), START) };
}

function process(pair: Pair, batches: ReturnType<BoardSession['flush']>): Reading[] {
  const out: Reading[] = [];
  for (const b of batches) {
    const r = pair.computer.process(b);
    out.push(...r.readings);
  }
  return out;
}

function feed(pair: Pair, bytes: Uint8Array, hostMs: number): Reading[] {
  hostNow = hostMs;
  return process(pair, pair.session.push(bytes, hostMs).batches);
}

/**
 * A copy of a session and computer with everything they hold, so each run starts from the
 * clean run's state just before its corrupted second instead of feeding the same prefix again.
 */
function fork<T>(o: T, seen = new Map<unknown, unknown>()): T {
  if (o === null || typeof o !== 'object') return o;
  if (seen.has(o)) return seen.get(o) as T;
  if (o instanceof Uint8Array) return o.slice() as T;
  if (o instanceof Map) {
    const m = new Map();
    seen.set(o, m);
    for (const [k, v] of o) m.set(fork(k, seen), fork(v, seen));
    return m as T;
  }
  if (Array.isArray(o)) {
    const a: unknown[] = [];
    seen.set(o, a);
    for (const x of o) a.push(fork(x, seen));
    return a as T;
  }
  const c = Object.create(Object.getPrototypeOf(o)) as Record<PropertyKey, unknown>;
  seen.set(o, c);
  for (const k of Reflect.ownKeys(o)) c[k] = fork((o as Record<PropertyKey, unknown>)[k], seen);
  return c as T;
}

/** Counts and the framer's scratch buffer are not state that decides what comes next. */
const NOT_STATE = new Set([
  'counts',
  'byType',
  'dropped',
  'guard',
  'changed',
  'counters',
  'messages',
  'malformed',
  'unknownType',
  'buf',
  'configProblems',
]);

/** Same state: from here on the run can only do what the clean run did. */
function sameState(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const bk = [...b.keys()];
    let i = 0;
    for (const [k, v] of a) {
      const k2 = bk[i++];
      if (!sameState(k, k2) || !sameState(v, b.get(k2))) return false;
    }
    return true;
  }
  const ka = Reflect.ownKeys(a).filter(
    (k) => !NOT_STATE.has(String(k)) && (a as Record<PropertyKey, unknown>)[k] !== undefined,
  );
  const kb = Reflect.ownKeys(b).filter(
    (k) => !NOT_STATE.has(String(k)) && (b as Record<PropertyKey, unknown>)[k] !== undefined,
  );
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameState((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
}

/** Positions where a 0x00↔0xFF flip leaves a frame's checksum valid: payload bytes only. */
function blindFlips(frame: Uint8Array): number[] {
  const out: number[] = [];
  const end = frame.length - 2;
  for (let i = 4; i < end; i++) {
    if (frame[i] !== 0 && frame[i] !== 0xff) continue;
    const bad = frame.slice();
    bad[i]! ^= 0xff;
    const sum = fletcher16(bad, 2, end);
    if (bad[end] === sum >>> 8 && bad[end + 1] === (sum & 0xff)) out.push(i);
  }
  return out;
}

const series = (rs: Reading[], kind: 'counter' | 'gauge') => {
  const out = new Map<string, Array<[number, number]>>();
  for (const r of rs) {
    if (r.kind !== kind) continue;
    const l = out.get(r.sid) ?? [];
    l.push([r.ts, r.value]);
    out.set(r.sid, l);
  }
  return out;
};

/** Clamp gauge units (W, var, V, A) a flip of a gauge's second byte moves: 0xFF00 / 2048. */
const GAUGE_STEP = 0xff00 / 2048;

test(
  "every 0x00↔0xFF flip the checksum cannot see, one per run: counters end exact and never run ahead, no reading out of the stream's time, gauges dropped or close",
  { timeout: 1_200_000 },
  () => {
    const stream = boardStream();
    const N = stream.seconds.length;
    // The clean run, with its state before each second and what each second published.
    const start = newPair(stream);
    const checkpoints: Pair[] = [];
    const perSecond: Reading[][] = [];
    for (let i = 0; i < N; i++) {
      checkpoints.push(fork(start.pair));
      perSecond.push(feed(start.pair, concat(...stream.seconds[i]!.frames), stream.seconds[i]!.hostMs));
    }
    checkpoints.push(fork(start.pair));
    const flushed = process(start.pair, start.pair.session.flush());
    const clean = {
      readings: [...start.readings, ...perSecond.flat(), ...flushed],
      session: start.pair.session.stats,
      guard: start.pair.computer.guardStats,
    };
    assert.equal(
      clean.session.droppedGauges + clean.session.droppedTimeFrames + clean.session.droppedPulseFrames,
      0,
      'nothing dropped from a clean stream',
    );
    assert.equal(
      clean.guard.jumps + clean.guard.drops + clean.guard.glitches + clean.guard.restarts,
      0,
      'no total rejected in a clean stream',
    );

    /**
     * One run: the clean state before second `si`, the flipped second, then on until the state is
     * the clean run's again (from there on it can only publish what the clean run did). `own` is
     * what it published meanwhile; `back` the second it rejoined (N + 1: never, flushed at the end).
     */
    const run = (si: number, fi: number, byte: number) => {
      const pair = fork(checkpoints[si]!);
      const frames = stream.seconds[si]!.frames.slice();
      const f = frames[fi]!.slice();
      f[byte]! ^= 0xff;
      frames[fi] = f;
      const own = feed(pair, concat(...frames), stream.seconds[si]!.hostMs);
      for (let k = si + 1; k <= N; k++) {
        if (sameState(pair, checkpoints[k])) return { own, pair, base: checkpoints[k]!, back: k };
        if (k < N) own.push(...feed(pair, concat(...stream.seconds[k]!.frames), stream.seconds[k]!.hostMs));
      }
      own.push(...process(pair, pair.session.flush()));
      return { own, pair, base: start.pair, back: N + 1 };
    };

    // The clean run's counters: last value per sensor before each second and from each second on.
    const lastCounters = (rs: Reading[], into = new Map<string, number>()) => {
      for (const r of rs) if (r.kind === 'counter') into.set(r.sid, r.value);
      return into;
    };
    const before: Array<Map<string, number>> = [lastCounters(start.readings)];
    for (let i = 0; i < N; i++) before.push(lastCounters(perSecond[i]!, new Map(before[i]!)));
    const from: Array<Map<string, number>> = new Array(N + 2);
    from[N + 1] = new Map();
    from[N] = lastCounters(flushed);
    for (let i = N - 1; i >= 0; i--) from[i] = new Map([...lastCounters(perSecond[i]!), ...from[i + 1]!]);
    const cleanFinal = lastCounters(clean.readings);
    assert.equal(cleanFinal.size, 8, 'every counting sensor published');
    const cleanSeries = series(clean.readings, 'counter');
    const cleanAt = (s: string, ts: number): number => {
      const l = cleanSeries.get(s)!;
      let lo = -1;
      let hi = l.length;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (l[mid]![0] <= ts) lo = mid;
        else hi = mid;
      }
      return lo < 0 ? 0 : l[lo]![1];
    };
    const cleanGauges = new Map(
      clean.readings.filter((r) => r.kind === 'gauge').map((r) => [`${r.sid}/${r.ts}`, r.value]),
    );
    const tsAll = clean.readings.map((r) => r.ts);
    const span = [Math.min(...tsAll), Math.max(...tsAll)];
    // A counter may run ahead of the clean one by at most what one second can count on that
    // sensor (a false restart, paid back; a flipped fraction, waited out), plus a clamp's whole-Wh rounding.
    const ahead = new Map(DEV.sensors.map((s) => [s.id, totalLimit(s, DEV.phase).perSecond + 1]));

    const tally = {
      flips: 0,
      frames: 0,
      unchanged: 0,
      time: 0,
      gauge: 0,
      pulseMillis: 0,
      deferred: 0,
      jumps: 0,
      drops: 0,
      glitches: 0,
      falseRestarts: 0,
      otherEffect: 0,
    };
    let worstAhead = 0;
    let worstGauge = 0;
    let worstPulseGauge = 0;
    let missingGauges = 0;
    let worstBack = 0;
    for (let si = 0; si < SECONDS; si++) {
      const frames = stream.seconds[si]!.frames;
      for (let fi = 0; fi < frames.length; fi++) {
        const type = frames[fi]![2];
        if (type !== 8 && type !== 9) continue;
        tally.frames++;
        for (const byte of blindFlips(frames[fi]!)) {
          tally.flips++;
          const where: string = `second ${si}, frame ${fi} (type ${type}), byte ${byte} 0x${frames[fi]![byte]!.toString(16)}`;
          const r = run(si, fi, byte);
          worstBack = Math.max(worstBack, r.back - si);
          const last = new Map(before[si]!);
          for (const x of r.own) {
            assert.ok(
              x.ts >= span[0]! && x.ts <= span[1]!,
              `${where}: ${x.kind} of ${x.sid} stamped ${x.ts}, outside ${span}`,
            );
            if (x.kind === 'counter') {
              assert.ok(x.value >= (last.get(x.sid) ?? 0), `${where}: ${x.sid} counter went down to ${x.value}`);
              last.set(x.sid, x.value);
              const over = x.value - cleanAt(x.sid, x.ts);
              worstAhead = Math.max(worstAhead, over);
              assert.ok(
                over <= ahead.get(x.sid)!,
                `${where}: ${x.sid} counter ${x.value} at ${x.ts} runs ${over} ahead`,
              );
              continue;
            }
            const truth = cleanGauges.get(`${x.sid}/${x.ts}`);
            if (truth === undefined) continue;
            const off = Math.abs(x.value - truth);
            if (x.sensor.class === 'pulse') worstPulseGauge = Math.max(worstPulseGauge, off / Math.max(truth, 1));
            else {
              worstGauge = Math.max(worstGauge, off);
              assert.ok(
                off <= GAUGE_STEP + 1e-9,
                `${where}: gauge of ${x.sid} at ${x.ts} is ${x.value}, truth ${truth}`,
              );
            }
          }
          assert.deepEqual(new Map([...last, ...from[r.back]!]), cleanFinal, `${where}: final counters`);
          const cleanOwn = [...perSecond.slice(si, r.back).flat(), ...(r.back > N ? flushed : [])];
          missingGauges +=
            cleanOwn.filter((x) => x.kind === 'gauge').length - r.own.filter((x) => x.kind === 'gauge').length;
          // which guard took it
          const d = (k: keyof GuardStats) => r.pair.computer.guardStats[k] - r.base.computer.guardStats[k];
          const ds = (k: 'droppedTimeFrames' | 'droppedPulseFrames' | 'droppedGauges') =>
            r.pair.session.stats[k] - r.base.session.stats[k];
          if (ds('droppedTimeFrames') > 0) tally.time++;
          else if (ds('droppedPulseFrames') > 0) tally.pulseMillis++;
          else if (ds('droppedGauges') > 0) tally.gauge++;
          else if (d('jumps') > 0) tally.jumps++;
          else if (d('drops') > 0) tally.drops++;
          else if (d('falseRestarts') > 0) tally.falseRestarts++;
          else if (d('glitches') > 0) tally.glitches++;
          else if (d('deferred') > 0) tally.deferred++;
          else if (JSON.stringify(r.own) === JSON.stringify(cleanOwn)) tally.unchanged++;
          else tally.otherEffect++;
        }
      }
    }
    console.log(
      `# blind flips: ${tally.flips} in ${tally.frames} clamp and pulse reports; ` +
        `time held and dropped ${tally.time}, pulse ms dropped ${tally.pulseMillis}, gauge dropped ${tally.gauge}, ` +
        `total jump rejected ${tally.jumps}, drop rejected ${tally.drops}, false restart paid back ${tally.falseRestarts}, ` +
        `glitch waited out ${tally.glitches}, waited for the next total ${tally.deferred}, no effect at all ${tally.unchanged}, small effect ${tally.otherEffect}`,
    );
    console.log(
      `# worst: a counter ${worstAhead.toFixed(3)} ahead of the clean run; a clamp gauge off by ${worstGauge.toFixed(3)}; ` +
        `a pulse gauge off by ${(worstPulseGauge * 100).toFixed(1)} %; ${missingGauges} gauge readings fewer over all runs; ` +
        `every run back in the clean run's state within ${worstBack} s`,
    );
    assert.ok(tally.flips > 1000, `${tally.flips} blind flips`);
    assert.ok(tally.time > 0 && tally.gauge > 0 && tally.jumps > 0, 'each guard had work');
  },
);
