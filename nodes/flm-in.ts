import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { ReadingImporter, type ImportedReading } from '../core/mqtt/importer';
import { DEVICE_CONFIG_FILTER, READING_FILTERS, parseDeviceConfigTopic } from '../core/mqtt/topics';
import { systemClock } from '../core/util/clock';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { textSetting } from './lib/settings';
import { Rejects } from './lib/rejects';

interface InDef extends NodeDef {
  url: string;
  caFile: string;
  clientId: string;
  retained: 'skip' | 'pass';
}

/** Seconds between reconnect attempts: the broker is another box, often rebooting, never worth hammering. */
const RECONNECT_MS = 5000;
/** How long readings of sensors no config names wait for one after the first connection. */
export const GRACE_MS = 5000;

export function checkBrokerUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`broker URL "${text}" is not a URL (expected mqtt://host:1883 or mqtts://host:8883)`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new Error(`broker URL must start with mqtt:// or mqtts://, got ${u.protocol}//`);
  return u;
}

export default function (RED: NodeAPI): void {
  function FlmIn(this: Node<{ username?: string; password?: string }>, def: InDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const importer = new ReadingImporter({ clock: systemClock, graceMs: GRACE_MS, retained: def.retained === 'pass' ? 'pass' : 'skip' });
    const stats = { readings: 0 };
    const rejects = new Rejects(node);
    let client: MqttClient | undefined;
    let connected = false;
    let refused = '';
    let lastTrouble = '';
    let subscribed = false;
    let closed = false;

    const showStatus = () => {
      const text = `${importer.sensorCount} sensors · ${stats.readings} readings${rejects.total ? ` · ${rejects.total} rejects` : ''}`;
      if (refused) status.error(`broker refused: ${refused}`);
      else if (connected) status.ok(`connected · ${text}`);
      else status.warn(`disconnected${lastTrouble ? ` (${lastTrouble})` : ''} · ${text}`);
    };
    const reject = (err: unknown, topic: string, payload: Buffer) => {
      rejects.error(err, { topic, payload: payload.toString('utf8').slice(0, 200) } as NodeMessage);
      status.error(`${rejects.total} rejects: ${statusText(err, 40)}`);
    };
    const sendReadings = (list: ImportedReading[]) => {
      if (!list.length) return;
      stats.readings += list.length;
      node.send([list as unknown as NodeMessage[]]);
    };

    const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
      try {
        if (parseDeviceConfigTopic(topic)) {
          const c = importer.config(topic, payload);
          for (const why of c.skipped) node.warn(`device ${c.deviceId}: ${why}`);
          if (c.message) node.send(c.message as unknown as NodeMessage);
          node.log(`device ${c.deviceId}: ${c.sensors} sensors learnt from its config`);
          sendReadings(c.released);
        } else {
          const r = importer.reading(topic, payload, packet.retain === true);
          if (r.kind === 'out') sendReadings([r.message]);
        }
        showStatus();
      } catch (err) {
        reject(err, topic, payload);
      }
    };

    const onConnect = () => {
      connected = true;
      refused = '';
      lastTrouble = '';
      const graceEnds = importer.connected();
      if (!subscribed) {
        subscribed = true;
        // mqtt.js subscribes again by itself after a reconnect.
        client!.subscribe([DEVICE_CONFIG_FILTER, ...READING_FILTERS], { qos: 0 }, (err) => {
          if (err && !closed) status.failed(new Error(`subscribe failed: ${errorText(err)}`));
        });
        res.timeout(Math.max(0, graceEnds - Date.now()), () => {
          const { out, errors } = importer.releaseHeld();
          sendReadings(out);
          for (const e of errors) rejects.error(e);
          showStatus();
        }, (err) => status.failed(err));
      }
      node.log(`connected to ${def.url}`);
      showStatus();
    };

    const onError = (err: Error & { code?: unknown }) => {
      if (closed) return;
      // A refused CONNACK (bad login, not authorised) has a numeric reason code; mqtt.js then stops retrying.
      if (typeof err.code === 'number') {
        refused = err.message.replace(/^Connection refused: /, '');
        node.error(`broker ${def.url} refused the connection: ${refused}; check the username and password`);
      } else if (err.message !== lastTrouble) {
        node.warn(`broker ${def.url}: ${err.message}`);
      }
      lastTrouble = typeof err.code === 'string' ? err.code : err.message;
      showStatus();
    };

    const starting = (async () => {
      const url = checkBrokerUrl(textSetting(def.url));
      const caFile = textSetting(def.caFile);
      const opts: IClientOptions = {
        clientId: textSetting(def.clientId) || `flm-in-${randomBytes(4).toString('hex')}`,
        reconnectPeriod: RECONNECT_MS,
        connectTimeout: 10_000,
        clean: true,
        protocolVersion: 4,
      };
      const username = textSetting(node.credentials?.username);
      if (username) {
        opts.username = username;
        opts.password = node.credentials?.password ?? '';
      }
      if (caFile) opts.ca = await readFile(caFile);
      if (closed) return;
      status.idle(`connecting to ${url.host}`);
      client = mqtt.connect(url.toString(), opts);
      client.on('connect', onConnect);
      client.on('message', onMessage);
      client.on('error', onError);
      client.on('close', () => {
        if (!connected) return;
        connected = false;
        if (!closed) node.log(`disconnected from ${def.url}; reconnecting every ${RECONNECT_MS / 1000} s`);
        showStatus();
      });
    })().catch((err: unknown) => status.failed(err));

    onCloseBounded(node, async () => {
      closed = true;
      res.dispose();
      await starting;
      const c = client;
      if (!c) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => c.end(true, {}, () => resolve()), 2000);
        c.end(false, {}, () => {
          clearTimeout(force);
          resolve();
        });
      });
    });
  }

  RED.nodes.registerType('flm-in', FlmIn as never, { credentials: { username: { type: 'text' }, password: { type: 'password' } } });
}
