import { isDeviceConfigTopic } from '../../mqtt/topics';
import { phrasedView, type Phrase, type StatusView } from '../../util/status-view';
import { Batcher } from './batcher';
import { describeTarget, type MysqlSinkConfig } from './config';
import { openPool } from './db';
import { readingRow, sensorFromFlm, sensorsOfConfig, type ReadingRow, type SensorRow } from './rows';
import { tableNames } from './schema';
import { MysqlSpool } from './spool';
import { MysqlWriter, type WriterEvent } from './writer';

/** How a reading's message ends: once its row is in the database or the spool, or with the error that kept it from both. */
export type RowDone = (err?: Error) => void;

export interface MysqlSinkOptions {
  config: MysqlSinkConfig;
  /** the sink's own spool folder */
  spoolDir: string;
  /** the sensors the device publishes, written to the sensors table at start */
  sensors: SensorRow[];
  onWarning: (text: string) => void;
  onEvent: (e: WriterEvent) => void;
  /** a batch that could not even be spooled (a full disk): every reading's `done` with the error */
  onSpoolFailed: (dones: RowDone[], err: Error) => void;
  /** counters moved */
  onProgress: () => void;
}

interface Pending {
  row: ReadingRow;
  done: RowDone;
}

const DEVICE_TOPIC = /^\/device\/([0-9a-f]{32})\/config\/sensor$/;

/**
 * Readings into MySQL/MariaDB: batched by count and time, each reading acknowledged once its
 * row is safe (written, or fsynced in the spool while the database is away); the device's
 * sensor tables keep the sensors table current.
 */
export class MysqlSink {
  readonly target: string;
  /** the tables were checked once: the database really takes the rows */
  private connected = false;

  private constructor(
    private readonly o: MysqlSinkOptions,
    private readonly writer: MysqlWriter,
    private readonly batcher: Batcher<Pending>,
  ) {
    this.target = describeTarget(o.config.target);
  }

  /** Opens the spool, then the pool, and starts writing (the spool's backlog first); undefined when `cancelled()` by then. */
  static async open(o: MysqlSinkOptions, cancelled: () => boolean): Promise<MysqlSink | undefined> {
    const spool = await MysqlSpool.open({ dir: o.spoolDir, onWarning: o.onWarning });
    if (cancelled()) {
      await spool.close();
      return undefined;
    }
    const c = o.config;
    let sink: MysqlSink | undefined;
    const writer = new MysqlWriter({
      db: openPool(c.target),
      tables: tableNames(c.prefix),
      spool,
      database: c.target.database,
      batchSize: c.batchSize,
      onEvent: (e) => sink?.onEvent(e),
    });
    const batcher = new Batcher<Pending>({
      maxItems: c.batchSize,
      maxDelayMs: c.batchIntervalMs,
      onBatch: (items) => sink?.writeBatch(items),
    });
    sink = new MysqlSink(o, writer, batcher);
    writer.noteSensors(o.sensors);
    writer.start();
    return sink;
  }

  get tables(): { sensors: string; readings: string } {
    return tableNames(this.o.config.prefix);
  }

  /** Rows from the spool still to write. */
  get backlog(): number {
    return this.writer.state().spooled;
  }

  /** A message for the sink; `done` is called once it is taken care of. Throws for one that is not a reading. */
  input(topic: string, payload: unknown, flm: unknown, done: RowDone): void {
    if (isDeviceConfigTopic(topic)) {
      // The sensor table rides the same wire: it names sensors, it is not a reading.
      const m = DEVICE_TOPIC.exec(topic);
      if (m) this.writer.noteSensors(sensorsOfConfig(m[1]!, payload));
      return done();
    }
    if (topic.startsWith('p1/') || topic.startsWith('board/')) return done();
    const row = readingRow(topic, payload);
    if ('error' in row) throw new Error(row.error);
    if (flm) this.writer.noteSensors([sensorFromFlm(row.sid, row.kind, flm, (payload as unknown[])[2])]);
    this.batcher.add({ row, done });
  }

  status(rejects: number): { level: 'ok' | 'idle' | 'warn' | 'error'; text: string } {
    const { level, text } = this.statusView(rejects);
    return { level, text };
  }

  /** The status line as phrases of flm-mysql's catalog, to be said in the runtime's language. */
  statusView(rejects: number): StatusView {
    const st = this.writer.state();
    const counts: Phrase[] = [{ key: 'rows', en: `${st.written} rows`, params: { count: st.written } }];
    if (st.spooled) counts.push({ key: 'spooled', en: `${st.spooled} spooled`, params: { count: st.spooled } });
    if (rejects) counts.push({ key: 'rejects', en: `${rejects} rejects`, params: { count: rejects } });
    const e = st.lastError;
    if (!e) {
      if (this.connected) return phrasedView('ok', counts);
      return phrasedView('idle', [
        { key: 'connecting', en: `connecting to ${this.target}`, params: { target: this.target } },
      ]);
    }
    // the database's own words stay as they are; the line is cut to what a status shows
    const view = phrasedView(e.kind === 'unreachable' ? 'warn' : 'error', [
      ...counts,
      { key: 'why', en: e.message.slice(0, 100) },
    ]);
    return { ...view, text: view.text.slice(0, 100) };
  }

  /** What waits for its batch goes to the writer, which spools what it cannot write within `boundMs`. */
  async close(boundMs: number): Promise<void> {
    this.batcher.flush();
    await this.writer.close(boundMs);
  }

  private onEvent(e: WriterEvent): void {
    if (e.kind === 'ready') this.connected = true;
    this.o.onEvent(e);
  }

  private writeBatch(items: Pending[]): void {
    this.writer.write(items.map((p) => p.row)).then(
      () => {
        for (const p of items) p.done();
        this.o.onProgress();
      },
      (err: unknown) =>
        this.o.onSpoolFailed(
          items.map((p) => p.done),
          new Error(`readings could not be spooled: ${err instanceof Error ? err.message : String(err)}`),
        ),
    );
  }
}
