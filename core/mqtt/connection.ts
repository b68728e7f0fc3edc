import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';

export interface MqttConnectionOptions {
  url: URL;
  clientId: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  /** ms between reconnect attempts */
  reconnectMs: number;
  /** filters subscribed on the first connection; mqtt.js subscribes again by itself after a reconnect */
  subscriptions: string[];
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  onEvent(e: ConnectionEvent): void;
}

export type ConnectionEvent =
  | { kind: 'connected'; first: boolean }
  | { kind: 'disconnected' }
  /** the broker refused the login; mqtt.js stops retrying */
  | { kind: 'refused'; reason: string }
  /** a connection failure; `repeated` when it says what the last one said */
  | { kind: 'trouble'; error: string; repeated: boolean }
  | { kind: 'subscribe-failed'; error: string };

/** A broker URL as flm-in takes it: mqtt:// or mqtts://, with a clear error for anything else. */
export function checkBrokerUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`broker URL "${text}" is not a URL (expected mqtt://host:1883 or mqtts://host:8883)`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:')
    throw new Error(`broker URL must start with mqtt:// or mqtts://, got ${u.protocol}//`);
  return u;
}

/**
 * One client of someone else's broker, for as long as the node lives: connects, retries at a
 * fixed pace, subscribes once, and knows what its status should say (up, refused, or the last
 * trouble). Closing ends the session politely and, if the broker does not answer, by force.
 */
export class MqttConnection {
  connected = false;
  /** why the broker refused the login; '' while it did not */
  refused = '';
  /** the last connection failure since the last success, short */
  lastTrouble = '';
  private subscribed = false;
  private closed = false;
  private readonly client: MqttClient;

  constructor(private readonly o: MqttConnectionOptions) {
    const opts: IClientOptions = {
      clientId: o.clientId,
      reconnectPeriod: o.reconnectMs,
      connectTimeout: 10_000,
      clean: true,
      protocolVersion: 4,
    };
    if (o.username) {
      opts.username = o.username;
      opts.password = o.password ?? '';
    }
    if (o.ca) opts.ca = o.ca;
    this.client = mqtt.connect(o.url.toString(), opts);
    this.client.on('connect', () => this.onConnect());
    this.client.on('message', (topic, payload, packet) => o.onMessage(topic, payload, packet.retain === true));
    this.client.on('error', (err) => this.onError(err));
    this.client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      if (!this.closed) o.onEvent({ kind: 'disconnected' });
    });
  }

  /** Ends the session; forced after `forceAfterMs` when the broker does not take the DISCONNECT. */
  close(forceAfterMs = 2000): Promise<void> {
    this.closed = true;
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => this.client.end(true, {}, () => resolve()), forceAfterMs);
      this.client.end(false, {}, () => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private onConnect(): void {
    this.connected = true;
    this.refused = '';
    this.lastTrouble = '';
    const first = !this.subscribed;
    if (first) {
      this.subscribed = true;
      this.client.subscribe(this.o.subscriptions, { qos: 0 }, (err) => {
        if (err && !this.closed) this.o.onEvent({ kind: 'subscribe-failed', error: err.message });
      });
    }
    this.o.onEvent({ kind: 'connected', first });
  }

  private onError(err: Error & { code?: unknown }): void {
    if (this.closed) return;
    // A refused CONNACK (bad login, not authorised) has a numeric reason code; mqtt.js then stops retrying.
    if (typeof err.code === 'number') {
      this.refused = err.message.replace(/^Connection refused: /, '');
      this.lastTrouble = err.message;
      this.o.onEvent({ kind: 'refused', reason: this.refused });
      return;
    }
    const repeated = err.message === this.lastTrouble;
    this.lastTrouble = typeof err.code === 'string' ? err.code : err.message;
    this.o.onEvent({ kind: 'trouble', error: err.message, repeated });
  }
}
