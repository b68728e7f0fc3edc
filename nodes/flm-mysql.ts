import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  mysqlSinkConfig, describeTarget, openPool, tableNames, MysqlSpool, MysqlWriter, Batcher, readingRow, sensorFromFlm,
  sensorsOfDevice, sensorsOfConfig, type WriterEvent, type ReadingRow,
} from '../core/sinks/mysql';
import { isDeviceConfigTopic } from '../core/mqtt/topics';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText } from './lib/close';
import { numberSetting, textSetting } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface MysqlDef extends NodeDef {
  device: string;
  url: string;
  prefix: string;
  batchSize: string | number;
  batchInterval: string | number;
}

interface Credentials {
  user?: string;
  password?: string;
}

interface Pending {
  row: ReadingRow;
  done: Done;
}

/** Status refreshes are gathered: under load the counters move on every batch. */
const STATUS_EVERY_MS = 250;
const DEVICE_TOPIC = /^\/device\/([0-9a-f]{32})\/config\/sensor$/;

/** One spool folder per node, in the device's data dir: two nodes never share one. */
export const spoolDir = (dataDir: string, nodeId: string): string => join(dataDir, 'mysql', nodeId.replace(/[^A-Za-z0-9._-]/g, '_'));

export default function (RED: NodeAPI): void {
  function FlmMysql(this: Node<Credentials>, def: MysqlDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    const gate = new StartupQueue('the MySQL sink');
    let writer: MysqlWriter | undefined;
    let batcher: Batcher<Pending> | undefined;
    const rejects = new Rejects(node);
    let statusTimer: NodeJS.Timeout | undefined;
    let target = '';
    /** the tables were checked once: green means the database really takes the rows */
    let connected = false;

    const showStatus = () => {
      if (!writer) return;
      const st = writer.state();
      const counts = `${st.written} rows${st.spooled ? ` · ${st.spooled} spooled` : ''}${rejects.total ? ` · ${rejects.total} rejects` : ''}`;
      const e = st.lastError;
      if (!e) return connected ? status.ok(counts) : status.idle(`connecting to ${target}`);
      const text = `${counts} · ${e.message}`.slice(0, 100);
      if (e.kind === 'unreachable') status.warn(text);
      else status.error(text);
    };
    const requestStatus = () => {
      if (statusTimer || res.isDisposed) return;
      statusTimer = res.timeout(STATUS_EVERY_MS, () => {
        statusTimer = undefined;
        showStatus();
      }, (err) => node.warn(errorText(err)));
    };

    const onEvent = (e: WriterEvent) => {
      if (e.kind === 'ready') {
        connected = true;
        node.log(`tables ${e.tables}; writing`);
      } else if (e.kind === 'recovered') {
        if (e.replayed) node.log(`the database is back: ${e.replayed} spooled rows written`);
      } else if (e.kind === 'failed') {
        const text = `${e.error.message}; readings kept in the spool, retry in ${Math.round(e.retryInMs / 100) / 10} s`;
        // Unreachable mends itself; a password, a grant or a table needs a person.
        if (e.error.kind === 'unreachable') node.warn(text);
        else node.error(text);
        showStatus();
        return;
      }
      requestStatus();
    };

    const writeBatch = (items: Pending[]) => {
      writer!.write(items.map((p) => p.row)).then(
        () => {
          for (const p of items) p.done();
          requestStatus();
        },
        (err: unknown) => {
          const e = new Error(`readings could not be spooled: ${errorText(err)}`);
          // A full disk fails every batch: one error a minute, each reading counted.
          for (const p of items) rejects.fail(p.done, e);
          status.error(`${rejects.total} rejects: ${e.message}`.slice(0, 100));
        },
      );
    };

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const topic = typeof msg.topic === 'string' ? msg.topic : '';
        if (isDeviceConfigTopic(topic)) {
          // The sensor table rides the same wire: it names sensors, it is not a reading.
          const m = DEVICE_TOPIC.exec(topic);
          if (m && writer) writer.noteSensors(sensorsOfConfig(m[1]!, msg.payload));
          return done();
        }
        if (topic.startsWith('p1/') || topic.startsWith('board/')) return done();
        if (!writer || !batcher) return done(); // no database configured: nothing is kept
        const row = readingRow(topic, msg.payload);
        if ('error' in row) throw new Error(row.error);
        const flm = (msg as { flm?: unknown }).flm;
        if (flm) writer.noteSensors([sensorFromFlm(row.sid, row.kind, flm, (msg.payload as unknown[])[2])]);
        batcher.add({ row, done });
      } catch (err) {
        rejects.fail(done, err);
        status.error(`${rejects.total} rejects: ${errorText(err)}`.slice(0, 60));
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      const url = textSetting(def.url);
      if (url === '') {
        status.idle('off: no database URL');
        gate.ready(handle);
        return;
      }
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const config = mysqlSinkConfig({
        url,
        user: textSetting(node.credentials?.user),
        password: node.credentials?.password ?? '',
        prefix: def.prefix === undefined ? undefined : textSetting(def.prefix),
        batchSize: numberSetting(def.batchSize, 500, 'batch size', (n) => Number.isInteger(n) && n >= 1),
        batchIntervalS: numberSetting(def.batchInterval, 1, 'batch interval', (n) => n > 0),
      });
      target = describeTarget(config.target);
      status.idle(`connecting to ${target}`);
      const { dataDir, sensors } = await deviceNode.ready;
      const spool = await MysqlSpool.open({ dir: spoolDir(dataDir, node.id), onWarning: (t) => node.warn(t) });
      if (res.isDisposed) return spool.close();
      const db = openPool(config.target);
      const tables = tableNames(config.prefix);
      writer = new MysqlWriter({ db, tables, spool, database: config.target.database, batchSize: config.batchSize, onEvent });
      batcher = new Batcher<Pending>({ maxItems: config.batchSize, maxDelayMs: config.batchIntervalMs, onBatch: writeBatch });
      writer.noteSensors(sensorsOfDevice(sensors.published()));
      writer.start();
      const backlog = writer.state().spooled;
      node.log(`writing to ${target}, tables ${tables.sensors} and ${tables.readings}${backlog ? `; ${backlog} spooled rows to write first` : ''}`);
      showStatus();
      gate.ready(handle);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(node, async () => {
      res.dispose();
      await starting;
      // What waits for its batch goes to the writer, which spools what it cannot write in time.
      batcher?.flush();
      await writer?.close(8000);
    }, 10_000);
  }

  RED.nodes.registerType('flm-mysql', FlmMysql as never, { credentials: { user: { type: 'text' }, password: { type: 'password' } } });
}
