import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { isIP } from 'node:net';
import { tmpoSyncReplyTopic } from '../mqtt/topics';
import { backgroundClock, type Clock } from '../util/clock';
import { BridgeOutbox, type OutMessage } from './bridge-outbox';
import { bridgeRoute, coveredBySync } from './bridge-routes';
import { classify, describe, type BridgeFailure } from './bridge-failure';
import { backoffDelay, type BackoffOptions } from '../link/backoff';

export type { BridgeFailure };
export type MqttVersion = '3.1' | '3.1.1';
export const MQTT_VERSIONS: readonly MqttVersion[] = ['3.1', '3.1.1'];

export interface BridgeOptions {
  host: string;
  /** the FLM's bridge_port: 8883 */
  port?: number;
  /** PEM of the CA that signed the server's certificate; undefined: Node's public CAs */
  ca?: Buffer | string;
  /** name the certificate must carry, when `host` is an address or another name */
  servername?: string;
  /** The Flukso server speaks 3.1 only (protocol name MQIsdp, version 3), docs/protocols/upload.md#mqtt-bridge. */
  mqttVersion?: MqttVersion;
  deviceId: string;
  deviceKey: string;
  /** default `flukso-<first 6 of the device id>.flukso`, the id mosquitto's bridge gives itself */
  clientId?: string;
  /** bridge_keepalive: 60 s */
  keepaliveS?: number;
  connectTimeoutMs?: number;
  /** waits between connection attempts: 1 s doubling up to 30 s (mosquitto's restart_timeout) */
  backoff?: Partial<BackoffOptions>;
  /**
   * The Flukso server pushes its sync reply right after CONNACK. If none came this long after a
   * connect, the bridge asks for one (event `sync-needed`).
   */
  syncWaitMs?: number;
  /** non-TMPO messages kept while down; the oldest is dropped beyond this */
  maxHeld?: number;
  clock?: Clock;
  random?: () => number;
  onEvent?: (e: BridgeEvent) => void;
}

export type BridgeEvent =
  | { kind: 'connected'; url: string; mqttVersion: MqttVersion; connects: number; resent: number }
  | { kind: 'failed'; error: string; failure: BridgeFailure; attempt: number; retryInMs: number }
  | { kind: 'disconnected'; error?: string; retryInMs: number }
  /** the server's answer on /d/device/<did>/tmpo/sync: for the TMPO store */
  | { kind: 'sync-reply'; payload: Buffer }
  /** connected and no sync reply came by itself: the store should publish its sync request */
  | { kind: 'sync-needed' }
  | { kind: 'unexpected'; topic: string };

export interface BridgeState {
  phase: 'connecting' | 'connected' | 'down' | 'closed';
  url: string;
  connectedSince?: number;
  /** when a message last went out (ms) */
  lastSent?: number;
  lastError?: { message: string; failure: BridgeFailure; at: number };
  /** the last failure will repeat until a setting changes (key, CA, MQTT version) */
  refused: boolean;
  /** messages waiting for the connection */
  held: number;
  /** messages dropped because the wait queue was full */
  dropped: number;
  /** TMPO messages not sent while down: the sync after the next connect covers them */
  leftToSync: number;
  sent: number;
  received: number;
  connects: number;
}

export type PublishResult = 'sent' | 'held' | 'left-to-sync' | 'not-bridged';

const DEFAULT_BRIDGE_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.5 };
const STABLE_MS = 10_000;

/**
 * The FLM's MQTT bridge to the Flukso server (docs/protocols/upload.md#mqtt-bridge) as an mqtt.js
 * client: TLS, device id and key as login, clean session, QoS and retain as the FLM publishes them.
 * It connects again with backoff for as long as it lives, each attempt on a fresh client.
 */
export class MqttBridge {
  private client?: MqttClient;
  private timer: unknown;
  private syncTimer: unknown;
  private attempt = 0;
  private closing = false;
  private syncSeen = false;
  private readonly outbox: BridgeOutbox;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly replyTopic: string;
  private readonly st: BridgeState;

  constructor(private readonly opts: BridgeOptions) {
    this.clock = opts.clock ?? backgroundClock;
    this.backoff = { ...DEFAULT_BRIDGE_BACKOFF, ...opts.backoff };
    this.outbox = new BridgeOutbox(opts.maxHeld ?? 1000);
    this.replyTopic = tmpoSyncReplyTopic(opts.deviceId);
    this.st = {
      phase: 'connecting',
      url: `mqtts://${opts.host}:${opts.port ?? 8883}`,
      refused: false,
      held: 0,
      dropped: 0,
      leftToSync: 0,
      sent: 0,
      received: 0,
      connects: 0,
    };
  }

  get mqttVersion(): MqttVersion {
    return this.opts.mqttVersion ?? '3.1';
  }

  start(): void {
    if (this.client || this.closing) return;
    this.open();
  }

  state(): BridgeState {
    return { ...this.st, held: this.outbox.held, dropped: this.outbox.dropped };
  }

  /** Hand a message to the bridge; topics the FLM does not bridge are refused (`not-bridged`). */
  publish(topic: string, payload: Buffer | string, opts: { qos?: number; retain?: boolean } = {}): PublishResult {
    const route = bridgeRoute(topic, this.opts.deviceId);
    if (!route) return 'not-bridged';
    const qos = opts.qos === 1 || opts.qos === 2 ? opts.qos : 0;
    const m: OutMessage = { topic, payload, qos, retain: opts.retain === true };
    if (m.retain) this.outbox.remember(m);
    if (this.st.phase === 'connected' && this.client && this.send(this.client, m)) return 'sent';
    return this.keep(m, coveredBySync(route));
  }

  /** A message that cannot go now: TMPO waits for the next sync, the rest in the outbox. */
  private keep(m: OutMessage, tmpo: boolean): PublishResult {
    if (tmpo) {
      this.st.leftToSync++;
      return 'left-to-sync';
    }
    if (!m.retain) this.outbox.hold(m);
    return 'held';
  }

  /** Stop for good; resolves within `boundMs` whatever the connection does. */
  async close(boundMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.st.phase = 'closed';
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.syncTimer);
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, boundMs);
      c.end(true, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private clientOptions(): IClientOptions {
    const o = this.opts;
    const v31 = this.mqttVersion === '3.1';
    return {
      protocol: 'mqtts',
      host: o.host,
      port: o.port ?? 8883,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.servername ? { servername: o.servername } : isIP(o.host) ? {} : { servername: o.host }),
      rejectUnauthorized: true,
      protocolId: v31 ? 'MQIsdp' : 'MQTT',
      protocolVersion: v31 ? 3 : 4,
      clientId: o.clientId ?? `flukso-${o.deviceId.slice(0, 6)}.flukso`,
      username: o.deviceId,
      password: o.deviceKey,
      clean: true,
      keepalive: o.keepaliveS ?? 60,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      // Reconnects are ours (backoff, a fresh client each time), and nothing is queued inside mqtt.js.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
    };
  }

  private open(): void {
    const client = connect(this.clientOptions());
    this.client = client;
    let failure: Error | undefined;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    // Errors come before the close that ends every attempt; the first one says why.
    client.on('error', (err) => {
      failure ??= err;
    });
    client.on('close', () => this.onClose(client, failure));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    const s = this.st;
    s.phase = 'connected';
    s.connectedSince = this.clock.now();
    s.refused = false;
    s.connects++;
    this.syncSeen = false;
    // The Flukso server pushes the reply unasked and ignores SUBSCRIBE; other brokers need it.
    client.subscribe(this.replyTopic, { qos: 0 }, () => undefined);
    const waiting = this.outbox.drain();
    for (const m of waiting) if (!this.send(client, m)) this.keep(m, false);
    this.clock.clearTimeout(this.syncTimer);
    this.syncTimer = this.clock.setTimeout(() => {
      if (client === this.client && s.phase === 'connected' && !this.syncSeen) this.emit({ kind: 'sync-needed' });
    }, this.opts.syncWaitMs ?? 5000);
    this.emit({
      kind: 'connected',
      url: s.url,
      mqttVersion: this.mqttVersion,
      connects: s.connects,
      resent: waiting.length,
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.st.received++;
    if (topic !== this.replyTopic) return this.emit({ kind: 'unexpected', topic });
    this.syncSeen = true;
    this.emit({ kind: 'sync-reply', payload });
  }

  private onClose(client: MqttClient, err: Error | undefined): void {
    if (client !== this.client || this.closing) return;
    // A late error from the dead client must not go unhandled.
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end(true);
    this.clock.clearTimeout(this.syncTimer);
    const s = this.st;
    const wasConnected = s.phase === 'connected';
    // The backoff starts over only after a connection that held: a server that takes the
    // login and drops it at once is not called in a tight loop.
    if (wasConnected && this.clock.now() - (s.connectedSince ?? 0) >= STABLE_MS) this.attempt = 0;
    s.phase = 'down';
    s.connectedSince = undefined;
    this.attempt++;
    const retryInMs = backoffDelay(this.attempt - 1, this.backoff, 1 - (this.opts.random ?? Math.random)());
    if (err) {
      const failure = classify(err);
      s.lastError = { message: describe(err), failure, at: this.clock.now() };
      s.refused = failure !== 'network';
      this.emit({ kind: 'failed', error: s.lastError.message, failure, attempt: this.attempt, retryInMs });
    } else if (wasConnected) {
      s.lastError = { message: 'connection closed', failure: 'network', at: this.clock.now() };
      this.emit({ kind: 'disconnected', retryInMs });
    } else {
      s.lastError = { message: 'connection closed before CONNACK', failure: 'network', at: this.clock.now() };
      this.emit({ kind: 'failed', error: s.lastError.message, failure: 'network', attempt: this.attempt, retryInMs });
    }
    this.timer = this.clock.setTimeout(() => {
      if (!this.closing) this.open();
    }, retryInMs);
  }

  /** Write a message to the connection; false when the connection is already gone. */
  private send(client: MqttClient, m: OutMessage): boolean {
    // The socket may have closed before its close event reached us; mqtt.js would drop the message.
    if (!client.connected) return false;
    // No callback: for QoS 0 mqtt.js calls back on the socket's next 'drain', one listener per
    // message, which costs three times the send itself when a sync re-publishes thousands of
    // blocks (bench/bridge.bench.ts). A message lost with the connection is covered as any
    // other: TMPO by the next sync, retained ones by the next connect.
    client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    this.st.sent++;
    this.st.lastSent = this.clock.now();
    return true;
  }

  private emit(e: BridgeEvent): void {
    this.opts.onEvent?.(e);
  }
}
