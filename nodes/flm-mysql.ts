import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeTarget, MysqlSink, sensorsOfDevice, type WriterEvent } from '../core/sinks/mysql';
import { deviceNodeParts } from './lib/device-node-parts';
import { rejectsWhy } from './lib/status';
import { onCloseBounded, errorText } from './lib/close';
import type { Send, Done } from './lib/startup-queue';
import { textSetting, parseSettings } from './lib/settings';
import { mysqlSettings } from './lib/mysql-settings';
import { logWriterEvent } from './lib/mysql-events';
import { gatheredStatus } from './lib/gathered-status';

/** One spool folder per node, in the device's data dir: two nodes never share one. */
export const spoolDir = (dataDir: string, nodeId: string): string =>
  join(dataDir, 'mysql', nodeId.replace(/[^A-Za-z0-9._-]/g, '_'));

export default function (RED: NodeAPI): void {
  function FlmMysql(
    this: Node<{ user?: string; password?: string }>,
    def: NodeDef & { device: string; url?: unknown },
  ) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(RED, node, def.device, 'the MySQL sink');
    let sink: MysqlSink | undefined;

    const showStatus = () => {
      const view = sink?.statusView(rejects.total);
      if (view) status.show(view);
    };
    const requestStatus = gatheredStatus(res, showStatus, (err) => node.warn(errorText(err)));
    const onEvent = (e: WriterEvent) => (logWriterEvent(node, e) ? showStatus() : requestStatus());
    const onSpoolFailed = (dones: Done[], e: Error) => {
      // A full disk fails every batch: one error a minute, each reading counted.
      for (const d of dones) rejects.fail(d, e);
      status.error(rejectsWhy(status, rejects.total, e.message).slice(0, 100));
    };

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const topic = typeof msg.topic === 'string' ? msg.topic : '';
        if (!sink) return done(); // no database configured: nothing is kept
        sink.input(topic, msg.payload, (msg as { flm?: unknown }).flm, done);
      } catch (err) {
        rejects.fail(done, err);
        status.error(rejectsWhy(status, rejects.total, errorText(err)).slice(0, 60));
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (textSetting(def.url) === '') {
        status.idle(status.say('noUrl', 'off: no database URL'));
        return gate.ready(handle);
      }
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const config = parseSettings(mysqlSettings, { ...def, credentials: node.credentials ?? {} });
      status.idle(
        status.say('connecting', `connecting to ${describeTarget(config.target)}`, {
          target: describeTarget(config.target),
        }),
      );
      const { dataDir, sensors } = await deviceNode.ready;
      sink = await MysqlSink.open(
        {
          config,
          spoolDir: spoolDir(dataDir, node.id),
          sensors: sensorsOfDevice(sensors.published()),
          onWarning: (t) => node.warn(t),
          onEvent,
          onSpoolFailed,
          onProgress: requestStatus,
        },
        () => res.isDisposed,
      );
      if (!sink) return;
      const { target, tables, backlog } = sink;
      node.log(
        `writing to ${target}, tables ${tables.sensors} and ${tables.readings}${backlog ? `; ${backlog} spooled rows to write first` : ''}`,
      );
      showStatus();
      gate.ready(handle);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(
      node,
      async () => {
        res.dispose();
        await starting;
        await sink?.close(8000);
      },
      10_000,
    );
  }

  RED.nodes.registerType('flm-mysql', FlmMysql as never, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}
