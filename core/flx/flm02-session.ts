import type { BoardBatch } from '../mqtt/board-batch';
import { emptyOutput, type BoardLink, type BoardLinkOptions, type LinkOutput, type LinkStats } from './board-link';
import {
  decodeFlm02Reply,
  encodeFlm02Request,
  formatFlm02,
  parseFlm02Read,
  type Flm02Command,
  type Flm02Message,
} from './flm02';
import { Flm02DeltaDecoder } from './flm02-delta';
import { flm02SyncPlan, type Flm02Step } from './flm02-sync';
import { parseKubePacket } from './kube';
import { Flm02ReadFramer } from './flm02-reads';
import { flm02Summary } from './board-status';
import type { Phrase } from '../util/status-view';

/**
 * The host's side of an FLM02 sensor board (docs/protocols/sensor-board.md#flm02-frames and
 * #flm02-sync) on a serial line, as spid and fsync play it on SPI, without any I/O or timers: the
 * caller passes bytes and the host clock in, and writes what comes out.
 *
 * One request at a time, each answered by one read ending in 0x00: `l<reply>.u<hex>`.
 * - On connect the sensor table goes to the board (fsync's sequence, see flm02-sync.ts), each
 *   set checked by its echo and retried up to `retries` times; `gh` first, which must say
 *   hardware 2.x. A step that still fails ends the sync, and one event says which and why;
 *   polling goes on either way, since the board keeps its last committed config. A sync that
 *   got no answer at all runs again when the board first answers a poll (a board powered later).
 * - Then `gd` once a `pollMs`. Its records become a board batch of the board's running totals
 *   (Flm02DeltaDecoder, totals mode); the `u` bytes are Kube radio packets (FLM02B).
 * - A reply with a bad CRC, a reply that is not the one asked for, the board's `zz`/`zy`, or
 *   no 0x00 within `replyTimeoutMs` is dropped and counted; the next request goes out as
 *   planned, so one bad read never puts the two sides out of step.
 * - A counter that went back (an AVR reset without a brown-out save falls back to the EEPROM
 *   copy) is written back to the last total seen with `sc` and committed (`ct`). That is the
 *   only time counters are written: the board's total is what the host counts from. What the
 *   board counted between its reset and the write-back (about one poll) and the fraction it
 *   held in RAM are lost; the published counter never goes back and never jumps. Totals below
 *   the last one seen are held back meanwhile. A reset while flm-board is not running cannot be
 *   told from a board whose counter was set lower: flm-sensor then takes it as a restart.
 *   Keeping an offset on the host instead would not survive a host restart.
 */

export interface Flm02SessionOptions extends BoardLinkOptions {
  /** logical sensors below this are clamps; default 3 (FLM02A; an FLM02B may have 1) */
  analogSensors?: number;
  /** ms between gd polls; default 1000, as spid */
  pollMs?: number;
  /** ms to wait for the 0x00 that ends a reply; default 500 (`ct` gets 3 times as long: EEPROM writes) */
  replyTimeoutMs?: number;
  /** attempts per set command; default 5, as fsync */
  retries?: number;
}

export interface Flm02SessionStats extends LinkStats {
  /** replies whose CRC did not match */
  badCrc: number;
  /** reads that were not `l….u…`, or a reply to another request */
  malformed: number;
  /** requests that got no reply in time */
  timeouts: number;
  /** requests the board refused (`zz`: our CRC did not reach it intact; `zy`: too short) */
  refused: number;
  /** set commands whose echo was not what was set */
  mismatched: number;
  polls: number;
  kubePackets: number;
  /** `u` bytes from an FLM02A, whose UART carries RS-485 data nothing here decodes */
  uartBytes: number;
  syncs: number;
  restores: number;
}

interface Pending {
  step: Flm02Step;
  /** 'poll' for gd; 'sync' for fsync's steps; 'restore' for writing a counter back */
  purpose: 'poll' | 'sync' | 'restore';
  attempt: number;
  sentAt: number;
  deadline: number;
}

const MAX_READ = 4096;
const U32 = 2 ** 32;

export class Flm02Session implements BoardLink {
  readonly protocol = 'flm02';
  readonly tickMs = 50;
  readonly configProblems: readonly string[];
  private readonly syncSteps: readonly Flm02Step[];
  private readonly decoder: Flm02DeltaDecoder;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private queue: Array<{ step: Flm02Step; purpose: 'sync' | 'restore' }> = [];
  private pending: Pending | undefined;
  private nextPoll = 0;
  private readonly reads = new Flm02ReadFramer(MAX_READ);
  private readonly restoring = new Set<number>();
  /** the last sync got no answer at all: try again once the board answers a poll */
  private resync = false;
  /** from gh: an FLM02A (2.1) has RS-485 on `u`, an FLM02B (2.2) its Kube radio */
  private rs485 = false;
  private counts: Flm02SessionStats = {
    frames: 0,
    bad: 0,
    batches: 0,
    badCrc: 0,
    malformed: 0,
    timeouts: 0,
    refused: 0,
    mismatched: 0,
    polls: 0,
    kubePackets: 0,
    uartBytes: 0,
    syncs: 0,
    restores: 0,
  };

  constructor(options: Flm02SessionOptions) {
    const plan = flm02SyncPlan(options.sensors, {
      ...(options.analogSensors !== undefined ? { analogSensors: options.analogSensors } : {}),
      ...(options.kubeGroup !== undefined ? { kubeGroup: options.kubeGroup } : {}),
    });
    this.configProblems = plan.problems;
    this.syncSteps = [{ cmd: 'gh', args: [] }, ...plan.steps];
    this.decoder = new Flm02DeltaDecoder({
      sensors: options.sensors,
      output: 'totals',
      ...(options.analogSensors !== undefined ? { analogSensors: options.analogSensors } : {}),
    });
    this.pollMs = options.pollMs ?? 1000;
    this.timeoutMs = options.replyTimeoutMs ?? 500;
    this.retries = options.retries ?? 5;
  }

  get stats(): Flm02SessionStats {
    const c = this.counts;
    return { ...c, bad: c.badCrc + c.malformed + c.timeouts + c.refused };
  }

  /** true while the sensor table is being pushed */
  get syncing(): boolean {
    return this.queue.some((q) => q.purpose === 'sync') || this.pending?.purpose === 'sync';
  }

  summary(): Phrase[] {
    return flm02Summary(this.stats);
  }

  connected(hostMs: number): LinkOutput {
    this.reads.reset();
    this.pending = undefined;
    this.restoring.clear();
    this.resync = false;
    this.queue = [];
    this.startSync();
    this.nextPoll = hostMs;
    const out = emptyOutput();
    out.events.push({ type: 'configured', reason: 'connect' });
    this.next(hostMs, out);
    return out;
  }

  push(chunk: Uint8Array, hostMs: number): LinkOutput {
    const out = emptyOutput();
    for (const r of this.reads.push(chunk)) this.reply(r.text, r.overflowed, hostMs, out);
    this.next(hostMs, out);
    return out;
  }

  tick(hostMs: number): LinkOutput {
    const out = emptyOutput();
    const p = this.pending;
    if (p && hostMs >= p.deadline) {
      this.counts.timeouts++;
      this.reads.reset();
      this.pending = undefined;
      this.failed(p, `no reply within ${p.deadline - p.sentAt} ms`, hostMs, out, true);
    }
    this.next(hostMs, out);
    return out;
  }

  flush(): BoardBatch[] {
    return [];
  }

  private deadlineFor(cmd: Flm02Command, hostMs: number): number {
    return hostMs + (cmd === 'ct' ? 3 * this.timeoutMs : this.timeoutMs);
  }

  /** Send the next request if the line is free: control steps first, else a due poll. */
  private next(hostMs: number, out: LinkOutput): void {
    if (this.pending) return;
    const control = this.queue.shift();
    if (control) return this.send({ ...control, attempt: 1, sentAt: 0, deadline: 0 }, hostMs, out);
    if (hostMs < this.nextPoll) return;
    // A late poll does not make up for the ones missed: the totals are absolute.
    this.nextPoll = Math.max(this.nextPoll + this.pollMs, hostMs + this.pollMs / 2);
    this.counts.polls++;
    this.send({ step: { cmd: 'gd', args: [] }, purpose: 'poll', attempt: 1, sentAt: 0, deadline: 0 }, hostMs, out);
  }

  private send(p: Pending, hostMs: number, out: LinkOutput): void {
    p.sentAt = hostMs;
    p.deadline = this.deadlineFor(p.step.cmd, hostMs);
    this.pending = p;
    out.writes.push(Buffer.from(encodeFlm02Request(p.step.cmd, p.step.args), 'latin1'));
  }

  private reply(text: string, overflowed: boolean, hostMs: number, out: LinkOutput): void {
    const p = this.pending;
    this.pending = undefined;
    const read = overflowed ? null : parseFlm02Read(text);
    if (!read) {
      this.counts.malformed++;
      const what = overflowed ? `a read of more than ${MAX_READ} bytes` : `"${clip(text)}" is not a board read (l….u…)`;
      out.events.push({ type: 'warning', key: 'read', text: `board reply dropped: ${what}` });
      if (p) this.failed(p, what, hostMs, out);
      return;
    }
    if (read.uart.length > 0) this.radio(read.uart, out);
    if (!p) {
      // Nothing was asked (a reply after its timeout): its radio bytes count, its control part not.
      if (read.control) this.counts.malformed++;
      return;
    }
    if (!read.control) {
      this.counts.malformed++;
      return this.failed(p, 'an empty reply', hostMs, out);
    }
    const decoded = decodeFlm02Reply(read.control);
    if (!decoded.ok) {
      if (decoded.reason === 'crc') this.counts.badCrc++;
      else this.counts.malformed++;
      out.events.push({
        type: 'warning',
        key: `reply:${decoded.reason}`,
        text: `board reply dropped: ${decoded.detail}`,
      });
      return this.failed(p, decoded.detail, hostMs, out);
    }
    const m = decoded.message;
    if (m.cmd === 'zz' || m.cmd === 'zy') {
      this.counts.refused++;
      this.counts.frames++;
      return this.failed(
        p,
        m.cmd === 'zz'
          ? 'the board refused the request (zz: bad CRC on arrival)'
          : 'the board refused the request (zy: too short)',
        hostMs,
        out,
      );
    }
    if (m.cmd !== p.step.cmd) {
      this.counts.malformed++;
      return this.failed(p, `asked ${p.step.cmd}, the reply is ${m.cmd}`, hostMs, out);
    }
    this.counts.frames++;
    if (p.purpose === 'poll') return this.delta(m, hostMs, out);
    const problem = this.checkEcho(p.step, m);
    if (problem === undefined) return this.stepDone(p, out);
    if (problem.fatal) return this.abortSync(p, problem.text, out);
    this.counts.mismatched++;
    this.failed(p, problem.text, hostMs, out);
  }

  /** undefined: the reply is what the step wanted */
  private checkEcho(step: Flm02Step, m: Flm02Message): { text: string; fatal?: boolean } | undefined {
    if (step.cmd === 'gh') {
      const [major, minor] = m.values;
      this.rs485 = major === 2 && minor === 1;
      return major === 2
        ? undefined
        : { text: `hardware version ${major}.${minor} is not an FLM02 board (2.x)`, fatal: true };
    }
    const want = formatFlm02({ cmd: step.cmd, values: step.args });
    const got = formatFlm02(m);
    return got === want ? undefined : { text: `the board echoed "${got}" to "${want}"` };
  }

  private startSync(): void {
    this.queue = [
      ...this.syncSteps.map((step) => ({ step, purpose: 'sync' as const })),
      ...this.queue.filter((q) => q.purpose !== 'sync'),
    ];
    this.counts.syncs++;
  }

  private failed(p: Pending, why: string, hostMs: number, out: LinkOutput, unanswered = false): void {
    if (p.purpose === 'poll') return;
    if (p.attempt < this.retries) {
      this.send({ ...p, attempt: p.attempt + 1 }, hostMs, out);
      return;
    }
    if (p.purpose === 'sync') {
      // A board that said nothing at all may only have been late (powered up after the port
      // opened): the sync runs again at its first answer. One that answered wrongly is not retried.
      this.resync = unanswered;
      return this.abortSync(
        p,
        `${why} (${p.attempt} attempts)${unanswered ? '; sent again when the board answers' : ''}`,
        out,
      );
    }
    const sensors = p.step.cmd === 'sc' ? [p.step.args[0]!] : [...this.restoring];
    for (const sensor of sensors) this.restoring.delete(sensor);
    const what = p.step.cmd === 'sc' ? 'set' : 'commit';
    out.events.push({
      type: 'warning',
      key: 'restore',
      text: `could not ${what} sensor ${sensors.map((x) => x + 1).join(', ')}'s counter back: ${why} (${p.attempt} attempts)`,
    });
  }

  private abortSync(p: Pending, why: string, out: LinkOutput): void {
    const skipped = this.queue.filter((q) => q.purpose === 'sync').length;
    this.queue = this.queue.filter((q) => q.purpose !== 'sync');
    out.events.push({
      type: 'warning',
      key: 'sync',
      text:
        `sensor table not sent to the FLM02 board: "${formatFlm02({ cmd: p.step.cmd, values: p.step.args })}" failed: ${why}; ` +
        `${skipped} step(s) left out, the board keeps its last committed config`,
    });
  }

  private stepDone(p: Pending, out: LinkOutput): void {
    if (p.purpose === 'sync' && p.step.cmd === 'ct') {
      out.events.push({ type: 'note', key: 'sync', text: 'sensor table sent to the FLM02 board and committed (ct)' });
    }
    if (p.purpose === 'restore' && p.step.cmd === 'ct') {
      for (const sensor of this.restoring) {
        out.events.push({
          type: 'note',
          key: 'restore',
          text: `sensor ${sensor + 1}'s counter set back and committed`,
        });
      }
      this.restoring.clear();
    }
  }

  private delta(m: Flm02Message, hostMs: number, out: LinkOutput): void {
    if (this.resync) {
      this.resync = false;
      this.startSync();
      out.events.push({
        type: 'note',
        key: 'resync',
        text: 'the FLM02 board answers now: sending it the sensor table',
      });
    }
    const r = this.decoder.toBatch(m.records ?? [], hostMs);
    for (const w of r.warnings) out.events.push({ type: 'warning', key: `delta:${w.slice(0, 12)}`, text: w });
    let added = false;
    for (const f of r.fellBack ?? []) {
      if (this.restoring.has(f.sensor) || f.restore >= U32) continue;
      added = true;
      this.restoring.add(f.sensor);
      this.counts.restores++;
      this.queue.push({ step: { cmd: 'sc', args: [f.sensor, f.restore] }, purpose: 'restore' });
    }
    if (added) {
      // One commit after the last counter written back.
      this.queue = this.queue.filter((q) => !(q.purpose === 'restore' && q.step.cmd === 'ct'));
      this.queue.push({ step: { cmd: 'ct', args: [] }, purpose: 'restore' });
    }
    if (r.batch.records.length === 0) return;
    this.counts.batches++;
    out.batches.push(r.batch);
  }

  /** The `u` bytes: Kube packets back to back, each `grp hdr len payload crc16`. */
  private radio(bytes: Uint8Array, out: LinkOutput): void {
    if (this.rs485) {
      this.counts.uartBytes += bytes.length;
      out.events.push({
        type: 'note',
        key: 'rs485',
        text: `the FLM02A passed on ${bytes.length} RS-485 byte(s); nothing decodes those (counted in uartBytes)`,
      });
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      const len = bytes.length - at >= 3 ? bytes[at + 2]! : 0;
      const end = Math.min(bytes.length, at + 5 + len);
      const parsed = parseKubePacket(bytes.subarray(at, end));
      if (parsed.ok) this.counts.kubePackets++;
      out.events.push(
        parsed.ok ? { type: 'kube', packet: parsed.packet } : { type: 'kube-error', reason: parsed.reason },
      );
      at = end;
    }
  }
}

function clip(s: string): string {
  const printable = s.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}
