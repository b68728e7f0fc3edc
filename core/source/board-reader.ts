import { createBoardLink, type BoardLink, type BoardProtocol, type LinkOutput } from '../flx/board-link';
import type { Device } from '../config/schema';
import { BOARD_BATCH_TOPIC } from '../mqtt/board-batch';
import { BOARD_AVAILABILITY_TOPIC, BOARD_KUBE_TOPIC, BOARD_TIME_TOPIC } from '../mqtt/topics';
import type { Connector } from '../link/reconnecting';
import { systemClock, type Clock } from '../util/clock';
import { errorText, phrasedView, type Phrase, type StatusView } from '../util/status-view';
import { boardClockPhrase } from '../flx/board-status';
import { SupervisedSource, type LogLevel } from './supervised-source';

export interface BoardReaderOptions {
  protocol: BoardProtocol;
  device: Pick<Device, 'sensors' | 'phase' | 'validAfter'>;
  kubeGroup?: number;
  connect: Connector;
  /** the port path, for log lines */
  label: string;
  watchdogMs: number;
  send(topic: string, payload: unknown): void;
  log(level: LogLevel, text: string): void;
  status(view: StatusView): void;
  /** a decoding surprise on bytes from the port: it must not escape into the port's callback */
  unexpected(err: unknown): void;
  clock?: Clock;
}

/** Records of a board second wait this long for the rest of that second before going out anyway. */
const FLUSH_MS = 150;
/** Data comes many times a second (faster still from an emulator): the counts are shown at most twice a second. */
const RENDER_MS = 500;

/**
 * flm-board's engine: an FLM03 or FLM02 sensor board on a supervised serial port. Frames become
 * board batches, Kube packets and clock reports on the output; the board's clock is set and
 * an FLM02 board polled; the status counts frames.
 */
export class BoardReader {
  private readonly session: BoardLink;
  private readonly link: SupervisedSource;
  private readonly clock: Clock;
  private flushTimer: unknown;
  private renderTimer: unknown;
  private tickTimer: unknown;
  private clockNote: Phrase | undefined;
  private closed = false;

  constructor(private readonly o: BoardReaderOptions) {
    this.clock = o.clock ?? systemClock;
    const { sensors, phase, validAfter } = o.device;
    this.session = createBoardLink(o.protocol, {
      sensors,
      phase,
      validAfter,
      ...(o.kubeGroup === undefined ? {} : { kubeGroup: o.kubeGroup }),
    });
    for (const p of this.session.configProblems) o.log('warn', `port config: ${p}`);
    this.link = new SupervisedSource({
      connect: o.connect,
      label: o.label,
      unit: 'frame',
      watchdogMs: o.watchdogMs,
      clock: this.clock,
      onData: (chunk) => this.bytes(chunk),
      onConnected: (label) => {
        o.log('log', `reading the FLM board on ${label}${o.protocol === 'flm02' ? ' (FLM02)' : ''}`);
        this.handle(this.session.connected(this.clock.now()));
      },
      onAvailability: (a) => this.send(BOARD_AVAILABILITY_TOPIC, a),
      onLog: o.log,
      onChange: () => this.render(),
    });
  }

  start(): void {
    // An FLM02 board answers when asked: tick() polls it and gives up on lost replies.
    if (this.session.tickMs > 0) this.scheduleTick();
    this.link.start();
    this.render();
  }

  async stop(): Promise<void> {
    // A board second still waiting is dropped, not sent into a closing flow: the board's totals
    // are running ones, so the next batch after the restart carries everything it counted.
    this.closed = true;
    for (const t of [this.flushTimer, this.renderTimer, this.tickTimer]) this.clock.clearTimeout(t);
    await this.link.stop();
  }

  private send(topic: string, payload: unknown): void {
    if (!this.closed) this.o.send(topic, payload);
  }

  private scheduleTick(): void {
    this.tickTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.scheduleTick();
      try {
        if (this.link.connected) this.handle(this.session.tick(this.clock.now()));
      } catch (err) {
        this.o.unexpected(new Error(`unexpected error while polling the board: ${errorText(err)}`));
      }
    }, this.session.tickMs);
  }

  private bytes(chunk: Buffer): void {
    try {
      const before = this.session.stats.frames;
      this.handle(this.session.push(chunk, this.clock.now()));
      if (this.session.stats.frames > before) {
        this.link.framed();
        this.link.delivered();
      }
      this.clock.clearTimeout(this.flushTimer);
      this.flushTimer = this.clock.setTimeout(() => {
        if (!this.closed) this.sendBatches(this.session.flush());
      }, FLUSH_MS);
      this.renderTimer ??= this.clock.setTimeout(() => {
        this.renderTimer = undefined;
        this.render();
      }, RENDER_MS);
    } catch (err) {
      this.o.unexpected(new Error(`unexpected error while reading the board: ${errorText(err)}`));
    }
  }

  private sendBatches(batches: LinkOutput['batches']): void {
    for (const b of batches) this.send(BOARD_BATCH_TOPIC, b);
  }

  private handle(out: LinkOutput): void {
    for (const f of out.writes) {
      this.link.write(f).catch((err: unknown) => {
        const text = errorText(err);
        this.link.warnOnce(`write:${text}`, `cannot write to the board: ${text}`);
      });
    }
    this.sendBatches(out.batches);
    for (const e of out.events) {
      if (e.type === 'time') {
        const d = e.decision;
        if (d.action === 'step-board')
          this.o.log(
            'log',
            `board clock ${d.driftSeconds > 0 ? '+' : ''}${d.driftSeconds} s off: set to ${new Date(d.hostTime * 1000).toISOString()}`,
          );
        if (d.action === 'adopt-board-clock')
          this.link.warnOnce('adopt', "the host clock is not set: readings carry the board's clock until it is");
        this.clockNote = boardClockPhrase(d.action);
        this.send(BOARD_TIME_TOPIC, { ...d.report, action: d.action });
      } else if (e.type === 'kube') {
        const p = e.packet;
        this.send(BOARD_KUBE_TOPIC, {
          group: p.group,
          nid: p.header.nid,
          kind: p.kind,
          ack: p.header.ack,
          payload: Buffer.from(p.payload).toString('hex'),
        });
      } else if (e.type === 'kube-error') {
        this.link.warnOnce('kube', `Kube packet dropped: ${e.reason}`);
      } else if (e.type === 'warning') {
        this.link.warnOnce(e.key, e.text);
      } else if (e.type === 'note') {
        // rate-limited: a board that keeps pinging (it does not take the config) would say so every second
        this.link.warnOnce(`note:${e.key}`, e.text, 'log');
      }
    }
  }

  private render(): void {
    if (this.closed) return;
    const view = this.link.view(this.session.stats.frames > 0);
    this.o.status(view ?? phrasedView('ok', [...this.session.summary(), ...(this.clockNote ? [this.clockNote] : [])]));
  }
}
