import { Aedes, type AedesOptions, type Client } from 'aedes';
import { createServer, type Server, type TLSSocket, type SecureContextOptions } from 'node:tls';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { PacketGuard } from '../../broker/packet-guard';
import { ackWhenStored } from '../../broker/durable-ack';
import { resumeInOrder } from '../../broker/session-resume';
import { tmpoSyncReplyTopic } from '../../mqtt/topics';
import type { BridgeBackend } from './backend';
import { BridgeRefused } from './refused';
import { bridgeRoute, blockProblem, MAX_BLOCK_BYTES, type BridgeRoute } from './routes';
import { clampKeepalive } from './keepalive';
import { DeviceLane, BackendGate } from './lane';
import { BridgeCounts, type BridgeCount } from './counts';
import { LivePublisher } from './live';
import { storeSubscriptionsOnce } from '../../broker/session-store';
import { dedupeExactly } from '../../broker/exact-dedupe';
import { liveTopicSid, userFilterSid, USER_SENSORS_REFRESH_MS, type BridgeUser } from './user-access';

export interface BridgeEndpointOptions {
  backend: BridgeBackend;
  host: string;
  /** the FLM's bridge_port is 8883; 0 picks a free port */
  port: number;
  /** the certificate chain and key the endpoint presents (PEM) */
  tls: Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;
  limits?: Partial<BridgeLimits>;
  /**
   * aedes's emitter and persistence, for several instances sharing one namespace (Redis,
   * docs/protocols/server-bridge.md#several-instances); in memory when not given. Nothing a
   * device publishes passes through them.
   */
  aedes?: Pick<AedesOptions, 'mq' | 'persistence' | 'id'>;
}

export interface BridgeLimits {
  /** the largest packet a device may send: a block of the largest size the Flukso server took, and its topic */
  maxPacketBytes: number;
  /** open TLS connections */
  maxConnections: number;
  /** publishes handled per second per device; more wait (the device is slowed, not cut) */
  publishesPerSecond: number;
  /** backend calls running at once over all devices; more wait */
  maxBackendCalls: number;
  /** a backend call that takes longer counts as failed (a login gets CONNACK 3, a store closes the connection) */
  backendTimeoutMs: number;
  /** ms from TCP connect to a finished TLS handshake, and from there to CONNECT */
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = {
  maxPacketBytes: MAX_BLOCK_BYTES + 1024,
  maxConnections: 10_000,
  publishesPerSecond: 200,
  maxBackendCalls: 64,
  backendTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
};

/** A device logged in: what it spoke and the keepalive it is held to. */
export interface BridgeLogin {
  did: string;
  mqttVersion: '3.1' | '3.1.1';
  keepaliveS: number;
}

/** Something the endpoint turned away or could not do, for the log; every one is also counted. */
export interface BridgeRefusal {
  reason: BridgeCount;
  did?: string;
  topic?: string;
  detail: string;
}

interface Device {
  did: string;
  lane: DeviceLane;
  /** the device's sensors as of the last sync list: blocks of other sensors are not its to send */
  sids: Set<string>;
}

const HEX32 = /^[0-9a-f]{32}$/;

/**
 * The server end of an FLM's MQTT bridge, as the Flukso server's flmqtt behaved
 * (docs/protocols/server-bridge.md): TLS, MQTT 3.1 and 3.1.1, device id and key as login,
 * the sync list pushed right after CONNACK, blocks and configs handed to the backend.
 * Events: 'login' (BridgeLogin), 'refused' (BridgeRefusal), 'clients' (count).
 */
export class BridgeEndpoint extends EventEmitter {
  private readonly sockets = new Set<TLSSocket>();
  private readonly devices = new WeakMap<Client, Device>();
  private readonly users = new WeakMap<Client, BridgeUser>();
  /** the client id each connection asked for, before preConnect made it a device's */
  private readonly askedIds = new WeakMap<Client, string>();
  private live?: { publisher: LivePublisher; unsubscribe: () => void };
  private readonly keepalives = new WeakMap<Client, number>();
  private readonly gate: BackendGate;
  private closing?: Promise<void>;
  readonly counts = new BridgeCounts();
  clients = 0;
  port = 0;

  private constructor(
    readonly aedes: Aedes,
    private readonly server: Server,
    private readonly backend: BridgeBackend,
    readonly limits: BridgeLimits,
  ) {
    super();
    this.gate = new BackendGate(limits.maxBackendCalls, limits.backendTimeoutMs);
  }

  static async start(opts: BridgeEndpointOptions): Promise<BridgeEndpoint> {
    const limits = { ...DEFAULT_BRIDGE_LIMITS, ...opts.limits };
    const aedes = await Aedes.createBroker({
      ...opts.aedes,
      heartbeatInterval: 60_000,
      connectTimeout: limits.connectTimeoutMs,
      drainTimeout: 20_000,
      // Client ids are rewritten to `bridge/<device id>` (see preConnect), longer than 3.1's 23.
      maxClientsIdLength: 64,
    });
    const server = createServer({ ...opts.tls, handshakeTimeout: limits.handshakeTimeoutMs });
    const endpoint = new BridgeEndpoint(aedes, server, opts.backend, limits);
    endpoint.wire();
    // Clustered, whatever a client publish hands to Redis is acknowledged only once Redis has it.
    if (opts.aedes?.mq) ackWhenStored(aedes, limits.backendTimeoutMs);
    // A returning persistent session (a user's subscriber) gets CONNACK, its queue, then live ones.
    resumeInOrder(aedes);
    endpoint.startLive();
    try {
      endpoint.port = await listen(server, opts.port, opts.host);
    } catch (err) {
      await endpoint.close(2000);
      throw err;
    }
    return endpoint;
  }

  private refuse(r: BridgeRefusal): void {
    this.counts.add(r.reason);
    this.emit('refused', r);
  }

  private wire(): void {
    this.wireConnect();
    this.wirePublish();
    this.wireUsers();
    // Last, over the preConnect and authorizeForward set above: no message is dropped for
    // arriving after a newer one from the same instance (core/broker/exact-dedupe.ts).
    dedupeExactly(this.aedes);
    this.wireListener();
  }

  /** The server's newest readings on this namespace (docs/protocols/server-bridge.md#live-readings). */
  private startLive(): void {
    const source = this.backend.live;
    if (!source) return;
    const publisher = new LivePublisher(this.aedes, {
      published: () => this.counts.add('live'),
      late: () => this.counts.add('live-late'),
      failed: (err) => this.refuse({ reason: 'backend-failed', detail: `live reading not published: ${err.message}` }),
    });
    this.live = { publisher, unsubscribe: source.subscribe((r) => publisher.offer(r)) };
  }

  /** CONNECT: protocol, keepalive, client id, login, and the sync list after CONNACK. */
  private wireConnect(): void {
    const a = this.aedes;
    a.preConnect = (client, packet, done) => {
      const v31 = packet.protocolId === 'MQIsdp' && packet.protocolVersion === 3;
      const v311 = packet.protocolId === 'MQTT' && packet.protocolVersion === 4;
      if (!v31 && !v311) {
        this.refuse({
          reason: 'protocol-refused',
          detail: `${String(packet.protocolId)} version ${packet.protocolVersion} refused: MQTT 3.1 and 3.1.1 only`,
        });
        // aedes answers a version outside 3..4 with CONNACK 1, "unacceptable protocol version".
        (packet as { protocolVersion: number }).protocolVersion = 0;
        return done(null, true);
      }
      const keepalive = clampKeepalive(packet.keepalive);
      if (keepalive !== packet.keepalive) this.counts.add('keepalive-clamped');
      packet.keepalive = keepalive;
      this.keepalives.set(client, keepalive);
      this.askedIds.set(client, packet.clientId);
      // Nobody may subscribe to a will's topic here (users read live readings only), so it would reach nobody.
      delete packet.will;
      // mosquitto names its bridge `<hostname>.<connection>`, the same on many FLMs: one id per
      // device instead, so two devices never take each other's session and a device coming back
      // takes over its own half-open one (on any instance sharing the emitter).
      if (typeof packet.username === 'string' && HEX32.test(packet.username))
        packet.clientId = `bridge/${packet.username}`;
      done(null, true);
    };
    a.authenticate = (client, username, password, done) => {
      const did = username ?? '';
      const key = password?.toString('latin1') ?? '';
      const refuse = (code: 3 | 4, reason: BridgeCount, why: string) => {
        this.refuse({ reason, did, detail: `login of ${did || '(no user name)'} refused: ${why}` });
        done(Object.assign(new Error(why), { returnCode: code }), false);
      };
      const asUser = () =>
        this.loginUser(client, did, key).then(
          (ok) => (ok ? done(null, true) : refuse(4, 'login-refused', 'unknown device or user, or wrong key')),
          (err: unknown) => refuse(3, 'backend-failed', `the registry did not answer: ${String(err)}`),
        );
      if (!HEX32.test(did) || !HEX32.test(key)) {
        if (this.backend.userSensors && did && key) return void asUser();
        return refuse(4, 'login-refused', 'not a device id and key');
      }
      this.gate
        .run(() => this.backend.authenticate(did, key))
        .then(
          (ok) => {
            // a user whose name and token look like a device's id and key
            if (!ok && this.backend.userSensors) return void asUser();
            if (!ok) return refuse(4, 'login-refused', 'unknown device or wrong key');
            this.counts.add('login');
            this.emit('login', {
              did,
              mqttVersion: client.version === 3 ? '3.1' : '3.1.1',
              keepaliveS: this.keepalives.get(client) ?? 0,
            } satisfies BridgeLogin);
            this.devices.set(client, {
              did,
              lane: new DeviceLane(this.limits.publishesPerSecond),
              sids: new Set(),
            });
            done(null, true);
          },
          (err: unknown) => refuse(3, 'backend-failed', `the device registry did not answer: ${String(err)}`),
        );
    };
    a.on('connackSent', (connack, client) => {
      const d = this.devices.get(client);
      if (connack.returnCode !== 0 || !d) return;
      void d.lane.run(() => this.sendSync(client, d)).catch((err: unknown) => this.failed(client, d, undefined, err));
    });
  }

  /** What a logged-in device publishes and subscribes to. */
  private wirePublish(): void {
    const a = this.aedes;
    a.authorizePublish = (client, packet, done) => {
      const u = client ? this.users.get(client) : undefined;
      if (u) {
        this.refuse({
          reason: 'user-publish-refused',
          topic: packet.topic,
          detail: `${packet.topic} from user ${u.user} refused: users only read; connection closed`,
        });
        return done(new Error('users may not publish'));
      }
      const d = client ? this.devices.get(client) : undefined;
      if (!client || !d) return done(null);
      const route = bridgeRoute(packet.topic, d.did);
      if (route.kind === 'foreign' || route.kind === 'unrecognised') {
        const why = route.kind === 'foreign' ? 'another device' : 'not a topic the Flukso server takes';
        this.refuse({
          reason: route.kind === 'foreign' ? 'foreign-topic' : 'unrecognised',
          did: d.did,
          topic: packet.topic,
          detail: `${packet.topic} from ${d.did} dropped: ${why}`,
        });
        return done(null);
      }
      const payload = Buffer.from(packet.payload as Buffer);
      d.lane
        .run(() => this.take(client, d, route, packet.topic, payload))
        .then(
          () => done(null),
          (err: unknown) => done(this.failed(client, d, packet.topic, err)),
        );
    };
    // What a device publishes was taken above; it goes to no subscriber, no retained store and
    // no other instance (the emitter would copy every block to every instance).
    const brokerPublish = a.publish.bind(a) as (p: unknown, c: unknown, cb?: (err?: Error) => void) => void;
    (a as unknown as { publish: typeof brokerPublish }).publish = (packet, client, cb) => {
      if (client && typeof client === 'object') return cb?.();
      brokerPublish(packet, client, cb);
    };
    a.authorizeSubscribe = (client, sub, done) => {
      const u = this.users.get(client);
      if (u) return void this.authorizeUserSubscribe(client, u, sub.topic).then((ok) => done(null, ok ? sub : null));
      const d = this.devices.get(client);
      if (d && sub.topic.startsWith(`/d/device/${d.did}/`)) return done(null, sub);
      this.refuse({
        reason: 'subscribe-refused',
        topic: sub.topic,
        ...(d ? { did: d.did } : {}),
        detail: `subscription to ${sub.topic} refused`,
      });
      done(null, null);
    };
  }

  /** Only their own and shared sensors' live readings reach users, whatever they subscribed to. */
  private wireUsers(): void {
    storeSubscriptionsOnce((this.aedes as unknown as { persistence: unknown }).persistence, (client, topic) =>
      this.mayKeep(client as Client, topic),
    );
    this.aedes.authorizeForward = (client, packet) => {
      const u = this.users.get(client);
      if (!u) return packet;
      const sid = liveTopicSid(packet.topic);
      if (!sid || !u.sids.has(sid)) return null;
      if (Date.now() - u.sidsAt > USER_SENSORS_REFRESH_MS) void this.refreshUser(client, u);
      return packet;
    };
  }

  /** Whether a persistent session keeps this filter: what authorizeSubscribe grants, decided on what is known now. */
  private mayKeep(client: Client, topic: string): boolean {
    const u = this.users.get(client);
    if (u) {
      const sid = userFilterSid(topic);
      return sid === '+' ? client.clean : sid !== undefined && u.sids.has(sid);
    }
    const d = this.devices.get(client);
    return d !== undefined && topic.startsWith(`/d/device/${d.did}/`);
  }

  /** A user of the server's accounts with their master token; their session ids are theirs alone. */
  private async loginUser(client: Client, user: string, token: string): Promise<boolean> {
    const ask = this.backend.userSensors?.bind(this.backend);
    const sids = ask && (await this.gate.run(() => ask(user, token)));
    if (!sids) return false;
    // `user/<name>/` before the id they chose: no user takes over a device's session or another user's
    const asked = this.askedIds.get(client);
    (client as { id: string }).id = `user/${user}/${asked || `aedes_${randomUUID()}`}`;
    this.users.set(client, { user, token, sids, sidsAt: Date.now() });
    this.counts.add('user-login');
    return true;
  }

  private refreshUser(client: Client, u: BridgeUser): Promise<void> {
    const ask = this.backend.userSensors?.bind(this.backend);
    if (!ask) return Promise.resolve();
    u.refreshing ??= this.gate
      .run(() => ask(u.user, u.token))
      .then(
        (sids) => {
          if (sids) {
            u.sids = sids;
            u.sidsAt = Date.now();
            return;
          }
          // the user or their token is gone: so is the connection
          this.refuse({ reason: 'login-refused', detail: `user ${u.user}: token no longer valid; connection closed` });
          u.sids = new Set();
          client.close();
        },
        () => undefined,
      )
      .finally(() => (u.refreshing = undefined));
    return u.refreshing;
  }

  private async authorizeUserSubscribe(client: Client, u: BridgeUser, filter: string): Promise<boolean> {
    const sid = userFilterSid(filter);
    let why = 'not the live readings of one of their sensors';
    if (sid && sid !== '+') {
      if (!u.sids.has(sid)) await this.refreshUser(client, u);
      if (u.sids.has(sid)) return true;
    } else if (sid === '+') {
      // A persistent session's queue would hold every sensor's readings, theirs or not, until
      // it is delivered (and only theirs are): such a session names its sensors.
      if (client.clean) return true;
      why = 'a persistent session names each sensor';
    }
    this.refuse({
      reason: 'subscribe-refused',
      topic: filter,
      detail: `subscription of user ${u.user} to ${filter} refused: ${why}`,
    });
    return false;
  }

  /** Connections: counts, aedes's own errors, the TLS listener and its limits. */
  private wireListener(): void {
    const a = this.aedes;
    a.on('client', () => this.setClients(+1));
    a.on('clientDisconnect', (client) => {
      this.devices.get(client)?.lane.stop();
      this.setClients(-1);
    });
    // aedes reports persistence and emitter trouble here; unheard, an 'error' event ends the process.
    (a as EventEmitter).on('error', (err: Error) =>
      this.refuse({ reason: 'backend-failed', detail: `MQTT core: ${err.message}` }),
    );
    this.server.maxConnections = this.limits.maxConnections;
    this.server.on('drop', (data?: { remoteAddress?: string }) =>
      this.refuse({
        reason: 'connections-refused',
        detail: `connection from ${data?.remoteAddress} refused: ${this.limits.maxConnections} open`,
      }),
    );
    this.server.on('tlsClientError', () => this.counts.add('tls-failed'));
    this.server.on('error', (err: Error) =>
      this.refuse({ reason: 'backend-failed', detail: `listener: ${err.message}` }),
    );
    const tooLarge = (err: Error) =>
      this.refuse({ reason: 'packet-too-large', detail: `connection cut: ${err.message}` });
    this.server.on('secureConnection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      a.handle(new PacketGuard(socket, this.limits.maxPacketBytes, tooLarge) as never);
    });
  }

  /** One publish of the device, in its turn. */
  private async take(client: Client, d: Device, route: BridgeRoute, topic: string, payload: Buffer): Promise<void> {
    switch (route.kind) {
      case 'sync':
        return this.sendSync(client, d);
      case 'tap':
        return void this.counts.add('tap');
      case 'config': {
        // An empty retained message only clears the topic on a broker; there is nothing to store.
        if (payload.length === 0) return;
        if (!isJsonObject(payload))
          return this.refuse({ reason: 'config-refused', did: d.did, topic, detail: `${topic}: not a JSON object` });
        await this.gate.run(() => this.backend.storeConfig(d.did, route.what, payload));
        return void this.counts.add('config');
      }
      case 'block': {
        const bad = blockProblem(route, payload);
        if (bad) return this.refuseBlock({ reason: 'block-refused', did: d.did, topic, detail: `${topic}: ${bad}` });
        if (!(await this.isDevicesSensor(d, route.sid)))
          return this.refuseBlock({
            reason: 'foreign-sensor',
            did: d.did,
            topic,
            detail: `${topic}: sensor ${route.sid} is not ${d.did}'s`,
          });
        try {
          await this.gate.run(() => this.backend.storeBlock(d.did, { ...route, data: payload }));
        } catch (err) {
          if (err instanceof BridgeRefused)
            return this.refuse({ reason: 'block-refused', did: d.did, topic, detail: `${topic}: ${err.message}` });
          throw err;
        }
        return void this.counts.add('block');
      }
    }
  }

  /** A block the endpoint drops itself: counted here and told to the backend, which counts refusals too. */
  private refuseBlock(r: BridgeRefusal & { did: string }): void {
    this.refuse(r);
    this.backend.blockRefused?.(r.did, r.detail);
  }

  private async isDevicesSensor(d: Device, sid: string): Promise<boolean> {
    if (d.sids.has(sid)) return true;
    // A sensor enabled since the last sync list (its table came a moment ago, over this bridge or
    // another way): asked at once, so its first block is not turned away.
    const backend = this.backend;
    const mine = backend.isSensorOf
      ? await this.gate.run(() => backend.isSensorOf!(d.did, sid))
      : (await this.syncList(d)).some((e) => e.sid === sid);
    if (mine) d.sids.add(sid);
    return mine;
  }

  private async syncList(d: Device) {
    const list = await this.gate.run(() => this.backend.syncList(d.did));
    d.sids = new Set(list.map((e) => e.sid));
    return list;
  }

  /** `/d/device/<did>/tmpo/sync` to this client alone, subscribed or not, as the Flukso server sent it. */
  private async sendSync(client: Client, d: Device): Promise<void> {
    const list = await this.syncList(d);
    const payload = Buffer.from(JSON.stringify(list.map(({ sid, rid, lvl, bid }) => ({ sid, rid, lvl, bid }))));
    await new Promise<void>((resolve) =>
      client.publish(
        { cmd: 'publish', topic: tmpoSyncReplyTopic(d.did), payload, qos: 0, retain: false, dup: false } as never,
        () => resolve(),
      ),
    );
    this.counts.add('sync-reply');
  }

  /**
   * A backend call failed for a reason other than refusing the data: nothing more of this
   * device is taken on this connection, which is closed (an error from authorizePublish does
   * that); what was not stored comes again after the next sync.
   */
  private failed(client: Client, d: Device, topic: string | undefined, err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!d.lane.isStopped) {
      d.lane.stop();
      this.refuse({
        reason: 'store-failed',
        did: d.did,
        ...(topic ? { topic } : {}),
        detail: `${d.did}: ${e.message}; connection closed, the device's next sync sends it again`,
      });
    }
    if (!topic) client.close();
    return e;
  }

  private setClients(delta: number): void {
    this.clients = Math.max(0, this.clients + delta);
    this.emit('clients', this.clients);
  }

  /** Stop listening and cut every device; resolves within `timeoutMs` whatever aedes or a device does. */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      this.live?.unsubscribe();
      const graceful = Promise.all([
        (this.live?.publisher.stop() ?? Promise.resolve()).then(
          () => new Promise<void>((r) => this.aedes.close(() => r())),
        ),
        new Promise<void>((r) => (this.server.listening ? this.server.close(() => r()) : r())),
      ]);
      setImmediate(() => {
        for (const s of this.sockets) s.destroy();
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([graceful, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      for (const s of this.sockets) s.destroy();
      this.removeAllListeners();
    })();
    return this.closing;
  }
}

function isJsonObject(payload: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`MQTT bridge port ${port} on ${host} is already in use`));
      else if (err.code === 'EACCES')
        reject(new Error(`no permission to listen on MQTT bridge port ${port} on ${host}`));
      else reject(new Error(`cannot listen for the MQTT bridge on ${host}:${port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
