import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { PipelineBroker } from '../core/broker/pipeline-broker';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded, statusText } from './lib/close';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';
import { parseSettings } from './lib/settings';
import { brokerSettings } from './lib/broker-settings';

export { DEFAULT_OUT_TOPICS } from './lib/broker-settings';

export default function (RED: NodeAPI): void {
  function FlmBroker(this: Node<{ username?: string; password?: string }>, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-broker'));
    const gate = new StartupQueue('the broker');
    const rejects = new Rejects(node);
    let broker: PipelineBroker | undefined;
    let closed = false;

    const publish = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const m = msg as NodeMessageInFlow & { retain?: boolean; qos?: number };
      broker!.publish(typeof msg.topic === 'string' ? msg.topic : '', msg.payload, m).then(
        () => done(),
        (err: unknown) => rejects.fail(done, err),
      );
    };
    const showStatus = () => {
      const view = broker?.statusView();
      if (view !== undefined) status.show(view);
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      const s = parseSettings(brokerSettings, { ...def, credentials: node.credentials ?? {} });
      status.idle(status.say('starting', 'starting'));
      broker = await PipelineBroker.start(
        {
          host: s.host,
          port: s.port,
          wsPort: s.wsPort,
          outFilters: s.outTopics,
          redisUrl: s.redis || undefined,
          limits: {
            maxPacketBytes: s.maxPacketKB * 1024,
            maxConnections: s.maxConnections,
            maxRetainedMessages: s.maxRetained,
            maxRetainedBytes: s.maxRetainedMB * 1024 * 1024,
            wsOrigins: s.wsOrigins,
          },
          access: {
            mode: s.access,
            username: s.credentials.username || undefined,
            password: s.credentials.password || undefined,
            discoveryPrefix: s.haPrefix,
            loginMayPublishPipeline: s.loginPublish,
            anonymousSys: s.anonSys,
          },
          onStatus: showStatus,
          onRefusal: (r, count) =>
            node.warn(`${r.detail} (${count} refused for ${r.reason} so far, all counted in the status)`),
          onListenerError: (err) => status.failed(err),
          onOut: (m) => node.send(m as unknown as NodeMessage),
        },
        () => closed,
      );
      if (!broker) return;
      showStatus();
      node.log(`MQTT broker listening on ${broker.label}`);
      gate.ready(publish);
    })().catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      status.failed(e);
      // Readings keep coming for a broker that did not start: the first reaches Catch, the rest are counted.
      let notPublished = 0;
      gate.ready((_msg, _send, done) => {
        notPublished++;
        status.error(
          `${statusText(e, 40)} · ${status.say('notPublished', `${notPublished} not published`, { count: notPublished })}`,
        );
        done(notPublished === 1 ? e : undefined);
      });
    });

    onCloseBounded(node, async () => {
      closed = true;
      await starting;
      const dropped = (await broker?.close(4000)) ?? 0;
      if (dropped) node.warn(`${dropped} messages were not published: the broker was stopping`);
      status.idle(status.say('stopped', 'stopped'));
    });
  }

  RED.nodes.registerType('flm-broker', FlmBroker as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}
