import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { AedesPublishPacket, Client } from 'aedes';
import { EmbeddedBroker, BrokerClosedError, DEFAULT_LIMITS, type BrokerLimits, type Refusal } from '../core/broker/embedded-broker';
import { ACCESS_MODES, DEFAULT_DISCOVERY_PREFIX, type AccessMode } from '../core/broker/access';
import { topicMatches, parseTopicFilters } from '../core/broker/topic-filter';
import { checkPrefix } from '../core/sinks/homeassistant/discovery';
import { wirePayload } from '../core/mqtt/payload';
import { Status } from './lib/status';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { numberSetting, textSetting, isPort } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface BrokerDef extends NodeDef {
  host: string;
  port: string | number;
  wsPort: string | number;
  access: string;
  /** Home Assistant's discovery prefix, whose configs only the pipeline writes */
  haPrefix?: string;
  /** 'off': logged-in clients may not publish on the pipeline's topics (default 'on') */
  loginPublish?: string;
  /** 'on': anonymous clients may subscribe to $SYS (default 'off') */
  anonSys?: string;
  maxPacketKB?: string | number;
  maxConnections?: string | number;
  maxRetained?: string | number;
  maxRetainedMB?: string | number;
  /** comma-separated Origins or host names allowed to open a websocket; blank: this host */
  wsOrigins?: string;
  /** comma-separated topic filters: what clients publish on them leaves on the output */
  outTopics?: string;
}

/** HA publishes `online` here when it (re)starts; integrations then announce again. */
export const DEFAULT_OUT_TOPICS = 'homeassistant/status';
/** A refusal of one kind is logged at most this often; the status counts them all. */
const WARN_EVERY_MS = 60_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function limitSettings(def: BrokerDef): BrokerLimits {
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  return {
    maxPacketBytes: numberSetting(def.maxPacketKB, DEFAULT_LIMITS.maxPacketBytes / 1024, 'maximum packet size', positive) * 1024,
    maxConnections: numberSetting(def.maxConnections, DEFAULT_LIMITS.maxConnections, 'maximum connections', positive),
    maxRetainedMessages: numberSetting(def.maxRetained, DEFAULT_LIMITS.maxRetainedMessages, 'maximum retained messages', positive),
    maxRetainedBytes: numberSetting(def.maxRetainedMB, DEFAULT_LIMITS.maxRetainedBytes / 1024 / 1024, 'maximum retained MB', (n) => n > 0) * 1024 * 1024,
    wsOrigins: textSetting(def.wsOrigins).split(',').map((o) => o.trim()).filter(Boolean),
  };
}

/** What a client published, as a message: text when it is UTF-8, else the bytes. */
function clientMessage(packet: AedesPublishPacket, client: Client): NodeMessage {
  const bytes = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
  let payload: string | Buffer = bytes;
  try {
    payload = utf8.decode(bytes);
  } catch {
    // binary: the Buffer as it came
  }
  return { topic: packet.topic, payload, retain: packet.retain, qos: packet.qos, clientId: client.id } as NodeMessage;
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
      const access = textSetting(def.access, 'read-only-anonymous') as AccessMode;
      if (!ACCESS_MODES.includes(access)) throw new Error(`access: unknown mode "${access}"`);
      const outFilters = parseTopicFilters(textSetting(def.outTopics, DEFAULT_OUT_TOPICS));
      const limits = limitSettings(def);
      status.idle('starting');
      const b = await EmbeddedBroker.start({
        host, port, wsPort, limits,
        access: {
          mode: access,
          username: textSetting(node.credentials?.username) || undefined,
          password: node.credentials?.password || undefined,
          discoveryPrefix: checkPrefix(textSetting(def.haPrefix, DEFAULT_DISCOVERY_PREFIX)),
          loginMayPublishPipeline: textSetting(def.loginPublish, 'on') !== 'off',
          anonymousSys: textSetting(def.anonSys, 'off') === 'on',
        },
      });
      if (closed) return void (await b.close(2000));
      broker = b;
      label = `${host}:${b.tcpPort}${b.wsPort !== null ? ` ws:${b.wsPort}` : ''}`;
      let listenerFailed = false;
      const show = () => {
        if (listenerFailed) return;
        const n = b.clients;
        const refused = b.refused;
        status.ok(`${n} client${n === 1 ? '' : 's'} · :${b.tcpPort}${refused ? ` · ${refused} refused` : ''}`);
      };
      show();
      b.on('clients', show);
      const lastWarned = new Map<string, number>();
      b.on('refused', (r: Refusal) => {
        show();
        const now = Date.now();
        if (now - (lastWarned.get(r.reason) ?? -Infinity) < WARN_EVERY_MS) return;
        lastWarned.set(r.reason, now);
        node.warn(`${r.detail} (${b.refusals.get(r.reason)} refused for ${r.reason} so far, all counted in the status)`);
      });
      b.on('listenerError', (err: Error) => {
        if (listenerFailed) return;
        listenerFailed = true;
        status.failed(err);
      });
      b.aedes.on('publish', (packet, client) => {
        if (client && outFilters.some((f) => topicMatches(f, packet.topic))) node.send(clientMessage(packet, client));
      });
      node.log(`MQTT broker listening on ${label}`);
      gate.ready(publish);
    })().catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      status.failed(e);
      // Readings keep coming for a broker that did not start: the first reaches Catch, the rest are counted.
      let notPublished = 0;
      gate.ready((_msg, _send, done) => {
        notPublished++;
        status.error(`${statusText(e, 40)} · ${notPublished} not published`);
        done(notPublished === 1 ? e : undefined);
      });
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
