import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { EmbeddedBroker, BrokerClosedError } from '../core/broker/embedded-broker';
import { ACCESS_MODES, type AccessMode } from '../core/broker/access';
import { wirePayload } from '../core/mqtt/payload';
import { Status } from './lib/status';
import { onCloseBounded, errorText } from './lib/close';
import { numberSetting, textSetting, isPort } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface BrokerDef extends NodeDef {
  host: string;
  port: string | number;
  wsPort: string | number;
  access: string;
}


export default function (RED: NodeAPI): void {
  function FlmBroker(this: Node<{ username?: string; password?: string }>, def: BrokerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    let broker: EmbeddedBroker | undefined;
    let closed = false;
    let droppedOnClose = 0;
    const gate = new StartupQueue('the broker');
    const rejects = new Rejects(node);

    const publish = (msg: NodeMessageInFlow, _send: Send, finish: Done) => {
      const done: Done = (err) => (err ? rejects.fail(finish, err) : finish());
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      if (!topic) return done(new Error('msg.topic is required: the MQTT topic to publish on'));
      if (/[+#]/.test(topic)) return done(new Error(`cannot publish on a wildcard topic: ${topic}`));
      let payload: string | Buffer;
      try {
        payload = wirePayload(topic, msg.payload);
      } catch (err) {
        return done(new Error(`bad payload for ${topic}: ${errorText(err)}`));
      }
      const m = msg as NodeMessageInFlow & { retain?: boolean; qos?: number };
      broker!.publish(topic, payload, { retain: m.retain !== false, qos: m.qos === 1 ? 1 : 0 })
        .then(() => done(), (err: unknown) => {
          // Messages still queued when Node-RED stops are counted once, not reported one by one.
          if (err instanceof BrokerClosedError) {
            droppedOnClose++;
            return done();
          }
          done(err instanceof Error ? err : new Error(String(err)));
        });
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    let label = '';
    const starting = (async () => {
      const host = textSetting(def.host, '127.0.0.1');
      const port = numberSetting(def.port, 1883, 'MQTT port', isPort);
      const wsText = textSetting(def.wsPort);
      const wsPort = wsText === '' || wsText === 'off' ? null : numberSetting(wsText, 8083, 'websocket port', isPort);
      const access = textSetting(def.access, 'open') as AccessMode;
      if (!ACCESS_MODES.includes(access)) throw new Error(`access: unknown mode "${access}"`);
      status.idle('starting');
      const b = await EmbeddedBroker.start({
        host, port, wsPort,
        access: { mode: access, username: textSetting(node.credentials?.username) || undefined, password: node.credentials?.password },
      });
      if (closed) return void (await b.close(2000));
      broker = b;
      label = `${host}:${b.tcpPort}${b.wsPort !== null ? ` ws:${b.wsPort}` : ''}`;
      const show = (n: number) => status.ok(`${n} client${n === 1 ? '' : 's'} · :${b.tcpPort}`);
      show(0);
      b.on('clients', show);
      b.on('rejected', (e: { clientId: string; topic?: string; reason?: string }) =>
        node.warn(e.topic ? `client ${e.clientId} may not publish on ${e.topic} (login needed); disconnected` : `client ${e.clientId} refused: ${e.reason}`));
      node.log(`MQTT broker listening on ${label}`);
      gate.ready(publish);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(node, async () => {
      closed = true;
      await starting;
      await broker?.close(4000);
      if (droppedOnClose) node.warn(`${droppedOnClose} messages were not published: the broker was stopping`);
      status.idle('stopped');
    });
  }

  RED.nodes.registerType('flm-broker', FlmBroker as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}
