import { P1_TELEGRAM_TOPIC, P1_AVAILABILITY_TOPIC, P1_ERROR_TOPIC } from '../mqtt/topics';
import { p1CountsView, p1WaitingView } from './p1-status';
import { P1Stream, type P1StreamEvent, type P1StreamOptions } from '../p1/source/stream';
import type { Connector } from '../link/reconnecting';
import { tcpConnector, parseHostPort } from '../p1/source/tcp';
import { serialConnector, SERIAL_MODES, type SerialMode } from '../p1/source/serial';
import type { Clock } from '../util/clock';
import { shorten, type StatusView } from '../util/status-view';
import { SupervisedSource, type LogLevel } from './supervised-source';

/** A message for the flow: a telegram, the availability, or the details of a bad telegram. */
export interface P1Out {
  topic: string;
  payload: unknown;
  p1?: unknown;
}

export interface P1ReaderOptions {
  stream: Omit<P1StreamOptions, 'latestOnly'>;
  /** opens the port or socket; none when telegrams come in messages */
  connect?: Connector;
  /** the port path or host:port ("msg.payload" for messages) */
  label: string;
  watchdogMs: number;
  probeMs?: number;
  send(out: P1Out): void;
  /** a telegram that was refused (bad CRC, unreadable, no key): the text and its details */
  reject(text: string, details: P1Out): void;
  log(level: LogLevel, text: string): void;
  status(view: StatusView): void;
  /** a decoding surprise on bytes from the port: it must not escape into the port's callback */
  unexpected(err: unknown): void;
  clock?: Clock;
}

/** DSMR 2.2 and 4 meters send every 10 s: an auto-detect attempt that frames nothing for longer switches settings. */
const AUTO_PROBE_MS = 11_000;

export interface P1TransportSettings {
  source: 'serial' | 'tcp' | 'input';
  /** serial port path */
  port: string;
  /** 115200-8N1 | 9600-7E1 | auto */
  serial: string;
  /** host:port */
  tcp: string;
  watchdogMs: number;
}

/** Where the telegrams come from: a connector for a port or socket, none for messages. */
export function p1Transport(s: P1TransportSettings): { connect?: Connector; label: string; probeMs: number } {
  if (s.source === 'serial') {
    if (!s.port) throw new Error('serial port: no path set (e.g. /dev/ttyUSB0 or /dev/serial/by-id/…)');
    const mode = s.serial as SerialMode;
    if (!SERIAL_MODES.includes(mode)) throw new Error(`serial settings: "${mode}" is not 115200-8N1, 9600-7E1 or auto`);
    const probeMs = mode !== 'auto' ? 0 : s.watchdogMs > 0 ? Math.min(AUTO_PROBE_MS, s.watchdogMs) : AUTO_PROBE_MS;
    return { connect: serialConnector({ path: s.port, mode }), label: s.port, probeMs };
  }
  if (s.source === 'tcp') {
    if (!s.tcp) throw new Error('TCP: no host:port set (e.g. 192.168.1.20:2001 for ser2net)');
    return { connect: tcpConnector(parseHostPort(s.tcp)), label: s.tcp, probeMs: 0 };
  }
  return { label: 'msg.payload', probeMs: 0 };
}

/** A disconnect says so; other errors their code, else their message. */
const errorLabel = (err: Error & { code?: string; disconnected?: boolean }): string =>
  err.disconnected ? 'disconnected' : (err.code ?? shorten(err.message, 24));

/**
 * flm-p1's engine: telegrams from a supervised serial port or TCP socket, or from messages,
 * cut, checked and parsed; each good one leaves as `p1/telegram`, each bad one is counted and
 * reported rate-limited; the status counts both.
 */
export class P1Reader {
  private readonly stream: P1Stream;
  private readonly link: SupervisedSource;
  private lastOk = true;
  private closed = false;

  constructor(private readonly o: P1ReaderOptions) {
    this.stream = new P1Stream({ ...o.stream, latestOnly: true });
    this.link = new SupervisedSource({
      ...(o.connect ? { connect: o.connect } : {}),
      label: o.label,
      unit: 'telegram',
      watchdogMs: o.watchdogMs,
      probeMs: o.probeMs ?? 0,
      errorLabel,
      ...(o.clock ? { clock: o.clock } : {}),
      onData: (chunk) => this.bytes(chunk),
      onConnected: (label) => {
        this.stream.reset();
        o.log('log', `reading P1 from ${label}`);
      },
      onAvailability: (a) => o.send({ topic: P1_AVAILABILITY_TOPIC, payload: a }),
      onLog: o.log,
      onChange: () => this.render(),
    });
  }

  start(): void {
    this.render();
    this.link.start();
  }

  /**
   * A telegram in a message: what it became goes to `emit`; the error to end that message
   * with, if the telegram was refused.
   */
  message(payload: string | Buffer, emit: (out: P1Out) => void): Error | undefined {
    return this.handle(this.stream.pushMessage(payload), emit, true);
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.link.stop();
  }

  private bytes(chunk: Buffer): void {
    try {
      const events = this.stream.push(chunk);
      if (events.length) this.link.framed();
      this.handle(events, this.o.send, false);
    } catch (err) {
      this.o.unexpected(err);
    }
  }

  private handle(events: P1StreamEvent[], emit: (out: P1Out) => void, inMessage: boolean): Error | undefined {
    let failure: Error | undefined;
    for (const e of events) {
      if (e.type === 'telegram') {
        this.lastOk = true;
        this.link.delivered();
        if (e.warning) this.o.log('warn', e.warning);
        emit({ topic: P1_TELEGRAM_TOPIC, payload: e.telegram, p1: { check: e.check, raw: e.raw } });
        continue;
      }
      this.lastOk = false;
      if (!e.report) continue;
      if (inMessage) failure = new Error(e.report);
      else
        this.o.reject(e.report, {
          topic: P1_ERROR_TOPIC,
          payload: e.raw ?? '',
          p1: { kind: e.kind, check: e.check, raw: e.raw },
        });
    }
    this.render();
    return failure;
  }

  private render(): void {
    if (this.closed) return;
    const s = this.stream.stats;
    const hasData = s.good + s.badCrc + s.unparsable + s.decryptFailed > 0;
    const linkView = this.link.view(hasData, this.o.connect ? undefined : 'waiting for telegrams');
    if (linkView?.text === 'waiting for telegrams') return this.o.status(p1WaitingView());
    if (linkView) return this.o.status(linkView);
    this.o.status(p1CountsView(s, this.lastOk));
  }
}
