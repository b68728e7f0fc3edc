import type { Clock } from '../util/clock';
import type { StatusView } from '../util/status-view';
import { importStatusView } from './import-status';
import { MqttConnection, type ConnectionEvent, type MqttConnectionOptions } from './connection';
import { ReadingImporter, type ConfigOutcome, type ImportedReading } from './importer';
import { DEVICE_CONFIG_FILTER, READING_FILTERS, parseDeviceConfigTopic } from './topics';

export interface ImportClientOptions extends Omit<MqttConnectionOptions, 'subscriptions' | 'onMessage' | 'onEvent'> {
  clock: Clock;
  /** how long readings of sensors no config names wait for one after the first connection, ms */
  graceMs: number;
  retained: 'skip' | 'pass';
  onEvent(e: ImportEvent): void;
  /** what the status shows may have changed (after each message taken, each connection change) */
  onStatus(): void;
}

export type ImportEvent =
  | ConnectionEvent
  /** a device's sensor table arrived (the readings it releases follow as `readings`) */
  | { kind: 'config'; config: ConfigOutcome }
  | { kind: 'readings'; list: ImportedReading[] }
  /** a message that is not a table or reading of a known form */
  | { kind: 'rejected'; error: unknown; topic: string; payload: Buffer }
  /** a reading held through the grace period that still cannot be described */
  | { kind: 'unreleased'; error: Error };

/**
 * flm-in's client: the sensor tables and readings of another FLM's broker, in the package's
 * message contract. Readings of sensors no table names yet wait the grace period after the
 * first connection, so a table that arrives just after them still names them.
 */
export class ImportClient {
  readonly importer: ReadingImporter;
  readonly connection: MqttConnection;
  /** readings sent on */
  readings = 0;
  private graceTimer: unknown;
  private closed = false;

  constructor(private readonly o: ImportClientOptions) {
    this.importer = new ReadingImporter({ clock: o.clock, graceMs: o.graceMs, retained: o.retained });
    this.connection = new MqttConnection({
      ...o,
      subscriptions: [DEVICE_CONFIG_FILTER, ...READING_FILTERS],
      onMessage: (topic, payload, retained) => this.onMessage(topic, payload, retained),
      onEvent: (e) => {
        if (e.kind === 'connected') {
          const graceEnds = this.importer.connected();
          if (e.first)
            this.graceTimer = o.clock.setTimeout(() => this.releaseHeld(), Math.max(0, graceEnds - o.clock.now()));
        }
        o.onEvent(e);
        if (e.kind !== 'subscribe-failed') o.onStatus();
      },
    });
  }

  /** What the node's status says. */
  status(rejects: number): { level: 'ok' | 'warn' | 'error'; text: string } {
    const { level, text } = this.statusView(rejects);
    return { level: level === 'idle' ? 'warn' : level, text };
  }

  /** The same line as phrases, to be said in the runtime's language. */
  statusView(rejects: number): StatusView {
    return importStatusView(this.connection, this.importer.sensorCount, this.readings, rejects);
  }

  close(forceAfterMs?: number): Promise<void> {
    this.closed = true;
    this.o.clock.clearTimeout(this.graceTimer);
    return this.connection.close(forceAfterMs);
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    try {
      if (parseDeviceConfigTopic(topic)) {
        const config = this.importer.config(topic, payload);
        this.o.onEvent({ kind: 'config', config });
        this.send(config.released);
      } else {
        const r = this.importer.reading(topic, payload, retained);
        if (r.kind === 'out') this.send([r.message]);
      }
      this.o.onStatus();
    } catch (error) {
      this.o.onEvent({ kind: 'rejected', error, topic, payload });
    }
  }

  private releaseHeld(): void {
    if (this.closed) return;
    const { out, errors } = this.importer.releaseHeld();
    this.send(out);
    for (const error of errors) this.o.onEvent({ kind: 'unreleased', error });
    this.o.onStatus();
  }

  private send(list: ImportedReading[]): void {
    if (!list.length) return;
    this.readings += list.length;
    this.o.onEvent({ kind: 'readings', list });
  }
}
