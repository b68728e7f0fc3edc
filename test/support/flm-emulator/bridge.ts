import { isIP } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';

/**
 * The FLM's mosquitto bridge to the Flukso server (docs/protocols/upload.md#mqtt-bridge), as the server sees
 * it: MQTT 3.1 (MQIsdp, version 3: `try_private false`, so no bridge bit), user name = device id,
 * password = device key, clean session, keepalive 60, TLS verified against the CA file, topics
 * out at QoS 0 without a queue while the link is down. The server's unsubscribed
 * `/d/device/<did>/tmpo/sync` comes back in as mosquitto forwards it to tmpod.
 *
 * Client id: mosquitto's remote client id for a bridge defaults to `<hostname>.<connection>`;
 * the FLM's hostname is `flukso-<first 6 hex of the device id>` and the connection `flukso`
 * (the FLM03's flxd watches `$SYS/broker/connection/flukso-xxxxxx.flukso/state`). The bridge
 * address is the *local* client id, so it is not what the server sees.
 *
 * Bridge notifications (mosquitto's default): a will of "0", QoS 1, retained, on
 * `$SYS/broker/connection/<client id>/state`, and "1" published there (QoS 1, retained) right
 * after CONNACK, then an UNSUBSCRIBE per `out` topic. That is what Debian's mosquitto 2.0.11 sent
 * with the FLM's bridge settings, captured byte for byte (test/unit/flm-emulator/
 * bridge-connect.test.ts holds the capture); the FLM's older mosquitto may skip the UNSUBSCRIBEs.
 */

export interface BridgeOptions {
  /** mqtts://host:port */
  url: string;
  ca: string;
  did: string;
  keyHex: string;
  /** restart_timeout: 30 s on the FLM, shorter in tests */
  restartMs?: number;
  onSync: (entries: Array<{ sid: string; rid: number; lvl: number; bid: number }>) => void;
  /** retained /device/<did>/config/sensor document */
  config: string;
  /** the FLM's hostname (default flukso-<6 hex of the device id>) */
  hostname?: string;
  /** the `out` topics it unsubscribes after CONNACK (default: the four of fmosq.sh) */
  outTopics?: string[];
}

/** The FLM's hostname is flukso-<first 3 bytes of the device id in hex>. */
export const bridgeClientId = (did: string, hostname = `flukso-${did.slice(0, 6)}`): string => `${hostname}.flukso`;

/** The bridged topics of fmosq.sh, all `out` at QoS 0. */
const OUT_TOPICS = ['/device/+/config/sensor', '/device/+/config/kube', '/device/+/tmpo/sync', '/sensor/+/tmpo/#'];

export class FlmBridge {
  private client: MqttClient | undefined;
  private online = true;
  private syncRequested = false;
  private lastWrite: Promise<void> = Promise.resolve();
  /** CONNACK return codes seen (0 = accepted) */
  readonly connacks: number[] = [];
  published = 0;
  dropped = 0;

  constructor(private readonly opts: BridgeOptions) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    if (this.client) return;
    const o = this.opts;
    const clientId = bridgeClientId(o.did, o.hostname);
    const state = `$SYS/broker/connection/${clientId}/state`;
    const c = mqtt.connect(o.url, {
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clientId,
      will: { topic: state, payload: Buffer.from('0'), qos: 1, retain: true },
      username: o.did,
      password: o.keyHex,
      clean: true,
      keepalive: 60,
      ca: o.ca,
      rejectUnauthorized: true,
      ...(isIP(new URL(o.url).hostname) ? {} : { servername: new URL(o.url).hostname }),
      reconnectPeriod: o.restartMs ?? 30_000,
      connectTimeout: 5000,
      queueQoSZero: false,
      resubscribe: false,
    });
    c.on('connect', (connack) => {
      this.connacks.push(connack.returnCode ?? 0);
      c.publish(state, '1', { qos: 1, retain: true });
      for (const t of o.outTopics ?? OUT_TOPICS) c.unsubscribe(t);
      // mosquitto hands a fresh bridge the retained messages of its out topics
      c.publish(`/device/${o.did}/config/sensor`, o.config, { qos: 0, retain: true });
      if (!this.syncRequested) {
        this.syncRequested = true;
        c.publish(`/device/${o.did}/tmpo/sync`, '', { qos: 0 });
      }
    });
    c.on('error', (err) => {
      const code = (err as { code?: number }).code;
      if (typeof code === 'number') this.connacks.push(code);
    });
    c.on('message', (topic, payload) => {
      if (topic !== `/d/device/${o.did}/tmpo/sync`) return;
      try {
        const list = JSON.parse(payload.toString('utf8')) as unknown;
        if (Array.isArray(list)) o.onSync(list as Array<{ sid: string; rid: number; lvl: number; bid: number }>);
      } catch {
        // tmpod ignores a reply it cannot decode
      }
    });
    this.client = c;
  }

  /** A block file, on `/sensor/<sid>/tmpo/<rid>/<lvl>/<bid>/gz`; dropped while the link is down. */
  publishBlock(sid: string, rid: number, lvl: number, bid: number, bytes: Buffer): void {
    if (!this.online || !this.client?.connected) {
      this.dropped++;
      return;
    }
    this.published++;
    const c = this.client;
    this.lastWrite = new Promise<void>((resolve) =>
      c.publish(`/sensor/${sid}/tmpo/${rid}/${lvl}/${bid}/gz`, bytes, { qos: 0 }, () => resolve()),
    );
  }

  /** Ask the server for its sync list again (tmpod does so at init). */
  requestSync(): void {
    if (this.client?.connected) this.client.publish(`/device/${this.opts.did}/tmpo/sync`, '', { qos: 0 });
  }

  /** The network went down or came back. */
  async setOnline(online: boolean): Promise<void> {
    if (online === this.online) return;
    this.online = online;
    if (online) this.start();
    else await this.stop();
  }

  /** Resolves once everything published so far has been written to the socket. */
  async drain(): Promise<void> {
    await this.lastWrite;
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }
}
