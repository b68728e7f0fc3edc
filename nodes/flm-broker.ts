import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DEFAULT_LIMITS } from '../core/broker/embedded-broker';
import { PipelineBroker } from '../core/broker/pipeline-broker';
import { ACCESS_MODES, DEFAULT_DISCOVERY_PREFIX, type AccessMode } from '../core/broker/access';
import { parseTopicFilters } from '../core/broker/topic-filter';
import { checkPrefix } from '../core/sinks/homeassistant/discovery';
import { Status } from './lib/status';
import { onCloseBounded, statusText } from './lib/close';
import { textSetting, numberSetting, isPort } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';
import { text, secret, number, checked, parseSettings } from './lib/settings-schema';

/** HA publishes `online` here when it (re)starts; integrations then announce again. */
export const DEFAULT_OUT_TOPICS = 'homeassistant/status';

const positive = (n: number) => Number.isInteger(n) && n > 0;
const D = DEFAULT_LIMITS;
const settingsSchema = z.object({
  host: text('127.0.0.1'),
  port: number(1883, 'MQTT port', isPort),
  /** blank or 'off': no websocket listener */
  wsPort: checked((v) => (['', 'off'].includes(textSetting(v)) ? null : numberSetting(v, 8083, 'websocket port', isPort))),
  access: checked((v) => {
    const mode = textSetting(v, 'read-only-anonymous') as AccessMode;
    if (!ACCESS_MODES.includes(mode)) throw new Error(`access: unknown mode "${mode}"`);
    return mode;
  }),
  /** comma-separated topic filters: what clients publish on them leaves on the output */
  outTopics: checked((v) => parseTopicFilters(textSetting(v, DEFAULT_OUT_TOPICS))),
  maxPacketKB: number(D.maxPacketBytes / 1024, 'maximum packet size', positive),
  maxConnections: number(D.maxConnections, 'maximum connections', positive),
  maxRetained: number(D.maxRetainedMessages, 'maximum retained messages', positive),
  maxRetainedMB: number(D.maxRetainedBytes / 1024 / 1024, 'maximum retained MB', (n) => n > 0),
  /** comma-separated Origins or host names allowed to open a websocket; blank: this host */
  wsOrigins: z.transform((v: unknown) => textSetting(v).split(',').map((o) => o.trim()).filter(Boolean)),
  /** Home Assistant's discovery prefix, whose configs only the pipeline writes */
  haPrefix: checked((v) => checkPrefix(textSetting(v, DEFAULT_DISCOVERY_PREFIX))),
  /** 'off': logged-in clients may not publish on the pipeline's topics */
  loginPublish: z.transform((v: unknown) => textSetting(v, 'on') !== 'off'),
  /** 'on': anonymous clients may subscribe to $SYS */
  anonSys: z.transform((v: unknown) => textSetting(v, 'off') === 'on'),
  credentials: z.object({ username: text(), password: secret() }),
});

export default function (RED: NodeAPI): void {
  function FlmBroker(this: Node<{ username?: string; password?: string }>, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const gate = new StartupQueue('the broker');
    const rejects = new Rejects(node);
    let broker: PipelineBroker | undefined;
    let closed = false;

    const publish = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const m = msg as NodeMessageInFlow & { retain?: boolean; qos?: number };
      broker!.publish(typeof msg.topic === 'string' ? msg.topic : '', msg.payload, m)
        .then(() => done(), (err: unknown) => rejects.fail(done, err));
    };
    const showStatus = () => {
      const line = broker?.status();
      if (line !== undefined) status.ok(line);
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      const s = parseSettings(settingsSchema, { ...def, credentials: node.credentials ?? {} });
      status.idle('starting');
      broker = await PipelineBroker.start({
        host: s.host, port: s.port, wsPort: s.wsPort, outFilters: s.outTopics,
        limits: {
          maxPacketBytes: s.maxPacketKB * 1024, maxConnections: s.maxConnections, maxRetainedMessages: s.maxRetained,
          maxRetainedBytes: s.maxRetainedMB * 1024 * 1024, wsOrigins: s.wsOrigins,
        },
        access: {
          mode: s.access, username: s.credentials.username || undefined, password: s.credentials.password || undefined,
          discoveryPrefix: s.haPrefix, loginMayPublishPipeline: s.loginPublish, anonymousSys: s.anonSys,
        },
        onStatus: showStatus,
        onRefusal: (r, count) => node.warn(`${r.detail} (${count} refused for ${r.reason} so far, all counted in the status)`),
        onListenerError: (err) => status.failed(err),
        onOut: (m) => node.send(m as unknown as NodeMessage),
      }, () => closed);
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
        status.error(`${statusText(e, 40)} · ${notPublished} not published`);
        done(notPublished === 1 ? e : undefined);
      });
    });

    onCloseBounded(node, async () => {
      closed = true;
      await starting;
      const dropped = (await broker?.close(4000)) ?? 0;
      if (dropped) node.warn(`${dropped} messages were not published: the broker was stopping`);
      status.idle('stopped');
    });
  }

  RED.nodes.registerType('flm-broker', FlmBroker as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}
