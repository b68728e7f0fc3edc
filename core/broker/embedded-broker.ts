import { Aedes, type Client, type AedesPublishPacket } from 'aedes';
import { keepRetainedInOrder } from './retained-order';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { EventEmitter } from 'node:events';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { AccessPolicy, type AccessPolicyOptions } from './access';
import { PacketGuard } from './packet-guard';
import { RetainedBudget, retainedSize } from './retained-budget';
import { originCheck } from './origins';
import { Fifo } from '../util/fifo';
import { LocalLoginHolders, type LoginHolders } from './login-holders';
import { ackWhenStored } from './durable-ack';
import { resumeInOrder } from './session-resume';
import { dedupeExactly } from './exact-dedupe';
import { storeSubscriptionsOnce } from './session-store';
import type { BrokerBackend } from './cluster';

export interface BrokerOptions {
  host: string;
  /** MQTT over TCP; 0 picks a free port */
  port: number;
  /** MQTT over websockets (any path, the FLM UI uses /mqtt); null for none */
  wsPort: number | null;
  access: AccessPolicyOptions;
  limits?: Partial<BrokerLimits>;
  /**
   * Shared state for running as one of several instances (core/broker/cluster.ts); none: this
   * process alone, in memory. The broker owns it from here and closes it on close.
   */
  backend?: BrokerBackend;
}

export interface BrokerLimits {
  /** the largest packet a client may send (its remaining length), in bytes */
  maxPacketBytes: number;
  /** retained messages held at once, and their bytes (topic and payload) */
  maxRetainedMessages: number;
  maxRetainedBytes: number;
  /** open connections, TCP and websocket together */
  maxConnections: number;
  /** web pages that may open a websocket (see originCheck); none: pages from the listener's host */
  wsOrigins: string[];
}

/**
 * Generous for the pipeline (readings are tens of bytes, a discovery config or a P1 telegram a
 * few kB, the sensor table tens of kB) and bounded for the process: every connection can hold
 * at most one packet in the parser, so the worst case is maxConnections x maxPacketBytes.
 */
export const DEFAULT_LIMITS: BrokerLimits = {
  maxPacketBytes: 256 * 1024,
  maxRetainedMessages: 1000,
  maxRetainedBytes: 16 * 1024 * 1024,
  maxConnections: 100,
  wsOrigins: [],
};

/** Why a client, a connection or one of its packets was turned away. */
export type RefusalReason =
  | 'login'
  | 'publish'
  | 'subscribe'
  | 'client-id'
  | 'packet-size'
  | 'retained'
  | 'connections'
  | 'origin'
  /** the shared store (Redis) is unreachable or failed: logins and publishes wait for it */
  | 'store';

export interface Refusal {
  reason: RefusalReason;
  clientId?: string;
  topic?: string;
  detail: string;
}

/**
 * aedes hands queued messages on synchronously, one stack frame deeper each; a burst of
 * thousands of publishes at once overflows the stack. At most this many are handed to it at a
 * time; the rest wait in our queue and go on from a fresh microtask.
 */
const MAX_IN_FLIGHT = 32;

/**
 * A publish whose store failed half-way may never call back (aedes reports the failure as an
 * 'error' event instead); after this long it is failed, so the queue goes on.
 */
const PUBLISH_TIMEOUT_MS = 10_000;

/** A clustered broker that lost its store this long cuts its clients, which then go elsewhere. */
const STORE_GRACE_MS = 5_000;

/** How often a clustered broker re-reads the retained messages every instance wrote, for its budget. */
const RETAINED_RESYNC_MS = 10_000;

/** Publishes still queued when the broker closes fail with this; they are not the caller's fault. */
export class BrokerClosedError extends Error {
  readonly code = 'EBROKERCLOSED';
  constructor() {
    super('broker is closed');
  }
}

interface Pending {
  packet: AedesPublishPacket;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

/**
 * aedes behind a TCP and a websocket listener, with our access policy and limits, in-process
 * publish for the pipeline (which bypasses client authorisation and the retained cap), and a
 * close that always finishes.
 * Events: 'clients' (count), 'refused' (Refusal), 'listenerError' (Error) for a listener that
 * fails after it started; the broker keeps what still works.
 */
export class EmbeddedBroker extends EventEmitter {
  private readonly sockets = new Set<Socket>();
  private readonly authenticated = new WeakSet<Client>();
  /** ids held by logged-in clients (connected, or persistent sessions), which anonymous clients may not take */
  private readonly logins: LoginHolders;
  private resync?: NodeJS.Timeout;
  private watch?: NodeJS.Timeout;
  /** when the shared store became unreachable */
  private downSince?: number;
  private closing?: Promise<void>;
  private readonly queue = new Fifo<Pending>();
  private inFlight = 0;
  private readonly retained: RetainedBudget;
  clients = 0;
  tcpPort = 0;
  wsPort: number | null = null;
  /** refusals since start, per reason */
  readonly refusals = new Map<RefusalReason, number>();

  private constructor(
    readonly aedes: Aedes,
    private readonly tcp: NetServer,
    private readonly http: HttpServer | null,
    private readonly wss: WebSocketServer | null,
    readonly limits: BrokerLimits,
    private readonly backend: BrokerBackend | undefined,
  ) {
    super();
    this.retained = new RetainedBudget(limits.maxRetainedMessages, limits.maxRetainedBytes);
    this.logins = backend?.logins ?? new LocalLoginHolders();
  }

  static async start(opts: BrokerOptions): Promise<EmbeddedBroker> {
    const policy = new AccessPolicy(opts.access);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const originAllowed = originCheck(limits.wsOrigins, opts.host);
    const shared = opts.backend ? { mq: opts.backend.mq, persistence: opts.backend.persistence } : {};
    let aedes: Aedes;
    try {
      aedes = await Aedes.createBroker({ heartbeatInterval: 60_000, drainTimeout: 20_000, ...(shared as object) });
    } catch (err) {
      await opts.backend?.close(2000);
      throw err;
    }
    const tcp = createNetServer();
    const http =
      opts.wsPort === null
        ? null
        : createHttpServer((_req, res) => res.writeHead(426).end('MQTT over websockets only\n'));
    let broker: EmbeddedBroker | undefined;
    const wss = http
      ? new WebSocketServer({
          server: http,
          // ws's own frame limit (100 MiB by default) would buffer a whole frame first.
          maxPayload: limits.maxPacketBytes + 5,
          verifyClient: (info: { origin?: string }) => {
            if (originAllowed(info.origin || undefined)) return true;
            broker?.refuse({
              reason: 'origin',
              detail: `websocket from ${info.origin} refused: not an allowed Origin`,
            });
            return false;
          },
        })
      : null;
    broker = new EmbeddedBroker(aedes, tcp, http, wss, limits, opts.backend);
    broker.wire(policy);
    try {
      await broker.syncRetained();
      broker.tcpPort = await listen(tcp, opts.port, opts.host, 'MQTT');
      if (http) broker.wsPort = await listen(http, opts.wsPort!, opts.host, 'MQTT websocket');
    } catch (err) {
      await broker.close(2000);
      throw err;
    }
    broker.reportLater(tcp, 'MQTT');
    if (http) broker.reportLater(http, 'MQTT websocket');
    return broker;
  }

  get refused(): number {
    let n = 0;
    for (const v of this.refusals.values()) n += v;
    return n;
  }

  /** retained messages held now, and their bytes */
  get retainedUse(): { messages: number; bytes: number } {
    return { messages: this.retained.messages, bytes: this.retained.bytes };
  }

  /** Can it take data now: listening, and its shared store (if any) reachable. For /health. */
  healthy(): boolean {
    return !this.closing && this.tcp.listening && (this.backend?.reachable() ?? true);
  }

  /** Where the shared store is, or undefined for a broker on its own. */
  get backendLabel(): string | undefined {
    return this.backend?.label;
  }

  /**
   * In a cluster every instance writes retained messages into the one store; the budget then
   * follows the store (what all instances wrote), re-read now and then, plus what this one
   * records in between. Instances can still each admit a few before they see the others'.
   */
  private async syncRetained(): Promise<void> {
    const backend = this.backend;
    if (!backend) return;
    const read = async () => {
      try {
        this.retained.reset(await backend.retainedSizes());
      } catch (err) {
        this.storeFailed(err);
      }
    };
    await read();
    this.resync = setInterval(() => void read(), RETAINED_RESYNC_MS);
    this.resync.unref();
    this.watch = setInterval(() => this.watchStore(), 500);
    this.watch.unref();
  }

  /**
   * Cut the clients of an instance that lost its store for longer than STORE_GRACE_MS: its
   * subscribers would otherwise stay connected and get nothing published elsewhere. They
   * reconnect through the balancer to an instance that has its store (or are refused here).
   */
  private watchStore(): void {
    if (!this.storeDown()) {
      this.downSince = undefined;
      return;
    }
    const now = Date.now();
    this.downSince ??= now;
    if (now - this.downSince < STORE_GRACE_MS || this.sockets.size === 0) return;
    this.refuse({
      reason: 'store',
      detail: `${this.backend!.label} unreachable for ${Math.round((now - this.downSince) / 1000)} s: ${this.sockets.size} connections cut so that their clients go elsewhere`,
    });
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    for (const sock of this.sockets) sock.destroy();
  }

  private storeFailed(err: unknown): void {
    const where = this.backend?.label ?? 'the store';
    this.refuse({ reason: 'store', detail: `${where}: ${err instanceof Error ? err.message : String(err)}` });
  }

  private storeDown(): Error | undefined {
    if (!this.backend || this.backend.reachable()) return undefined;
    return new Error(`${this.backend.label} is unreachable`);
  }

  private refuse(r: Refusal): void {
    this.refusals.set(r.reason, (this.refusals.get(r.reason) ?? 0) + 1);
    this.emit('refused', r);
  }

  private wire(policy: AccessPolicy): void {
    const a = this.aedes;
    // Without the shared store nothing can be kept: say so (and let the client retry elsewhere)
    // rather than take a session or a QoS 1 message that would be lost.
    (a as EventEmitter).on('error', (err: unknown) => this.storeFailed(err));
    a.authenticate = (client, username, password, done) => {
      const down = this.storeDown();
      if (down) {
        this.refuse({ reason: 'store', clientId: client.id, detail: `client ${client.id} refused: ${down.message}` });
        return done(Object.assign(down, { returnCode: 3 }) as never, false); // server unavailable
      }
      this.logins.holds(client.id).then(
        (held) => this.decideLogin(policy, client, username, password, held, done),
        (err: unknown) => {
          this.storeFailed(err);
          done(Object.assign(new Error('login store unreachable'), { returnCode: 3 }) as never, false);
        },
      );
    };
    a.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const down = this.storeDown();
      if (down) {
        // Refused at once rather than left to fail in the store: never acknowledged (ackWhenStored).
        this.refuse({
          reason: 'store',
          clientId: client.id,
          topic: packet.topic,
          detail: `publish refused: ${down.message}`,
        });
        return done(down);
      }
      this.authorizeClientPublish(policy, client, packet, done);
    };
    // Another instance takes over from one that dies: only what Redis has may be acknowledged.
    if (this.backend) ackWhenStored(a, PUBLISH_TIMEOUT_MS);
    // A returning persistent session: CONNACK, then its queue, then what came meanwhile.
    resumeInOrder(a);
    keepRetainedInOrder(a);
    this.wireClients(policy);
    // Last: it wraps preConnect and authorizeForward as set above (see exact-dedupe.ts for why
    // every broker needs it, clustered or not).
    dedupeExactly(a);
  }

  private decideLogin(
    policy: AccessPolicy,
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    holderLoggedIn: boolean,
    done: Parameters<Aedes['authenticate']>[3],
  ): void {
    {
      let r = policy.login(username, password);
      let code = r === 'bad-credentials' ? 4 : 5;
      if ((r === 'authenticated' || r === 'anonymous') && !policy.mayTakeOver(r === 'authenticated', holderLoggedIn)) {
        r = 'not-authorized';
        code = 2; // identifier rejected
        this.refuse({
          reason: 'client-id',
          clientId: client.id,
          detail: `anonymous client refused: id ${client.id} belongs to a logged-in client`,
        });
      } else if (r !== 'authenticated' && r !== 'anonymous') {
        this.refuse({ reason: 'login', clientId: client.id, detail: `client ${client.id} refused: ${r}` });
      }
      if (r === 'authenticated') this.authenticated.add(client);
      if (r === 'authenticated' || r === 'anonymous') return done(null, true);
      done(Object.assign(new Error(r), { returnCode: code }) as never, false);
    }
  }

  private authorizeClientPublish(
    policy: AccessPolicy,
    client: Client,
    packet: Parameters<Aedes['authorizePublish']>[1],
    done: Parameters<Aedes['authorizePublish']>[2],
  ): void {
    {
      if (!policy.mayPublish(this.authenticated.has(client), packet.topic)) {
        this.refuse({
          reason: 'publish',
          clientId: client.id,
          topic: packet.topic,
          detail: `client ${client.id} may not publish on ${packet.topic}; disconnected`,
        });
        return done(new Error(`publishing on ${packet.topic} is for the pipeline only`));
      }
      if (packet.retain) {
        const bytes = retainedSize(packet.topic, packet.payload);
        if (this.retained.fits(packet.topic, bytes)) this.retained.record(packet.topic, bytes);
        else {
          // Delivered live, not kept: the cap bounds memory, the subscribers still get it.
          packet.retain = false;
          this.refuse({
            reason: 'retained',
            clientId: client.id,
            topic: packet.topic,
            detail: `retained message on ${packet.topic} not kept: the broker holds ${this.retained.messages} retained messages, ${this.retained.bytes} bytes (limits ${this.limits.maxRetainedMessages}, ${this.limits.maxRetainedBytes})`,
          });
        }
      }
      done(null);
    }
  }

  private wireClients(policy: AccessPolicy): void {
    const a = this.aedes;
    const { maxPacketBytes } = this.limits;
    a.authorizeSubscribe = (client, sub, done) => {
      if (policy.maySubscribe(this.authenticated.has(client), sub.topic)) return done(null, sub);
      this.refuse({
        reason: 'subscribe',
        clientId: client.id,
        topic: sub.topic,
        detail: `client ${client.id} may not subscribe to ${sub.topic} without a login`,
      });
      done(null, null);
    };
    // A persistent session keeps only what authorizeSubscribe grants, and a SUBSCRIBE with several
    // filters gets its SUBACK on Redis too (session-store.ts).
    storeSubscriptionsOnce((a as unknown as { persistence: unknown }).persistence, (client, topic) =>
      policy.maySubscribe(this.authenticated.has(client as Client), topic),
    );
    a.on('client', (client) => {
      if (this.authenticated.has(client)) this.logins.loggedIn(client.id, client, !client.clean);
      this.setClients(+1);
    });
    a.on('clientDisconnect', (client) => {
      if (this.authenticated.has(client)) this.logins.disconnected(client.id, client);
      this.setClients(-1);
    });
    const tooLarge = (err: Error) => this.refuse({ reason: 'packet-size', detail: `connection cut: ${err.message}` });
    this.tcp.on('connection', (socket) => {
      if (this.admit(socket)) a.handle(new PacketGuard(socket, maxPacketBytes, tooLarge) as never);
    });
    this.wss?.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      a.handle(new PacketGuard(stream, maxPacketBytes, tooLarge) as never, req as never);
    });
    // The HTTP server's errors reach the websocket server too; listen() and reportLater() handle them.
    this.wss?.on('error', () => {});
    this.http?.on('connection', (socket) => this.admit(socket));
  }

  /** Track a new connection, or cut it when the broker already has as many as it takes. */
  private admit(socket: Socket): boolean {
    if (this.sockets.size >= this.limits.maxConnections) {
      const from = socket.remoteAddress;
      socket.destroy();
      this.refuse({
        reason: 'connections',
        detail: `connection from ${from} refused: ${this.limits.maxConnections} connections open`,
      });
      return false;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return true;
  }

  /** After a listener started, its errors (out of file descriptors, say) are reported, not thrown. */
  private reportLater(server: NetServer | HttpServer, what: string): void {
    server.on('error', (err: Error) => this.emit('listenerError', new Error(`${what} listener: ${err.message}`)));
  }

  private setClients(delta: number): void {
    this.clients = Math.max(0, this.clients + delta);
    this.emit('clients', this.clients);
  }

  /** Publish from the pipeline itself: not subject to the client access policy. */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    if (this.closing) return Promise.reject(new BrokerClosedError());
    const packet = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
      dup: false,
    } as AedesPublishPacket;
    // The pipeline's own retained messages count against the cap but are never refused.
    if (packet.retain) this.retained.record(topic, retainedSize(topic, packet.payload));
    return new Promise((resolve, reject) => {
      this.queue.push({ packet, resolve, reject });
      this.pump();
    });
  }

  private drained(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        if ((this.queue.length === 0 && this.inFlight === 0) || Date.now() >= until) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const down = this.storeDown();
      if (down) {
        p.reject(new Error(`not published: ${down.message}`));
        continue;
      }
      this.inFlight++;
      let settled = false;
      const settle = (err?: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight--;
        if (err) p.reject(err);
        else p.resolve();
        queueMicrotask(() => this.pump());
      };
      const timer = setTimeout(
        () => settle(new Error(`not published within ${PUBLISH_TIMEOUT_MS / 1000} s: the store did not answer`)),
        PUBLISH_TIMEOUT_MS,
      );
      this.aedes.publish(p.packet, settle);
    }
  }

  /**
   * Stop listening, disconnect every client and free both ports. Resolves within `timeoutMs`
   * whatever aedes or a stuck client does: anything still open then is destroyed.
   */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      const until = Date.now() + timeoutMs;
      // The shared store's connections get the last part of the time.
      const storeShare = this.backend ? Math.min(2000, timeoutMs / 4) : 0;
      // What the pipeline already handed over goes out first, for a short while.
      await this.drained(Math.min(2000, timeoutMs / 2));
      for (const p of this.queue.drain()) p.reject(new BrokerClosedError());
      const graceful = Promise.all([
        new Promise<void>((r) => this.aedes.close(() => r())),
        closeServer(this.tcp),
        this.wss ? new Promise<void>((r) => this.wss!.close(() => r())) : null,
        this.http ? closeServer(this.http) : null,
      ]);
      let timer: NodeJS.Timeout | undefined;
      const left = Math.max(0, until - Date.now() - storeShare);
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, left)));
      // Clients are told to go, then their sockets are cut so the servers can close.
      setImmediate(() => {
        for (const ws of this.wss?.clients ?? []) ws.terminate();
        for (const s of this.sockets) s.destroy();
      });
      await Promise.race([graceful, timeout]);
      clearTimeout(timer);
      clearInterval(this.resync);
      clearInterval(this.watch);
      for (const s of this.sockets) s.destroy();
      // After aedes: clients leaving still write their sessions to the store.
      await this.backend?.close(storeShare);
      this.removeAllListeners();
    })();
    return this.closing;
  }
}

function listen(server: NetServer | HttpServer, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new Error(`${what} port ${port} on ${host} is already in use`));
      else if (err.code === 'EACCES') reject(new Error(`no permission to listen on ${what} port ${port} on ${host}`));
      else reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
