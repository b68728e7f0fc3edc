import { Aedes, type Client, type AedesPublishPacket } from 'aedes';
import { keepRetainedInOrder } from './retained-order';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { EventEmitter } from 'node:events';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { AccessPolicy, type AccessPolicyOptions } from './access';
import { Fifo } from '../util/fifo';

export interface BrokerOptions {
  host: string;
  /** MQTT over TCP; 0 picks a free port */
  port: number;
  /** MQTT over websockets (any path, the FLM UI uses /mqtt); null for none */
  wsPort: number | null;
  access: AccessPolicyOptions;
}

/**
 * aedes hands queued messages on synchronously, one stack frame deeper each; a burst of
 * thousands of publishes at once overflows the stack. At most this many are handed to it at a
 * time; the rest wait in our queue and go on from a fresh microtask.
 */
const MAX_IN_FLIGHT = 32;

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
 * aedes behind a TCP and a websocket listener, with our access policy, in-process publish for
 * the pipeline (which bypasses client authorisation), and a close that always finishes.
 * Events: 'clients' (count), 'rejected' ({client, topic} | {client, reason}).
 */
export class EmbeddedBroker extends EventEmitter {
  private readonly sockets = new Set<Socket>();
  private readonly authenticated = new WeakSet<Client>();
  private closing?: Promise<void>;
  private readonly queue = new Fifo<Pending>();
  private inFlight = 0;
  clients = 0;
  tcpPort = 0;
  wsPort: number | null = null;

  private constructor(
    readonly aedes: Aedes,
    private readonly tcp: NetServer,
    private readonly http: HttpServer | null,
    private readonly wss: WebSocketServer | null,
  ) {
    super();
  }

  static async start(opts: BrokerOptions): Promise<EmbeddedBroker> {
    const policy = new AccessPolicy(opts.access);
    const aedes = await Aedes.createBroker({ heartbeatInterval: 60_000, drainTimeout: 20_000 });
    const tcp = createNetServer();
    const http = opts.wsPort === null ? null : createHttpServer((_req, res) => res.writeHead(426).end('MQTT over websockets only\n'));
    const wss = http ? new WebSocketServer({ server: http }) : null;
    const broker = new EmbeddedBroker(aedes, tcp, http, wss);
    broker.wire(policy);
    try {
      broker.tcpPort = await listen(tcp, opts.port, opts.host, 'MQTT');
      if (http) broker.wsPort = await listen(http, opts.wsPort!, opts.host, 'MQTT websocket');
    } catch (err) {
      await broker.close(2000);
      throw err;
    }
    return broker;
  }

  private wire(policy: AccessPolicy): void {
    const a = this.aedes;
    a.authenticate = (client, username, password, done) => {
      const r = policy.login(username, password);
      if (r === 'authenticated') this.authenticated.add(client);
      if (r === 'authenticated' || r === 'anonymous') return done(null, true);
      this.emit('rejected', { clientId: client.id, reason: r });
      const err = Object.assign(new Error(r), { returnCode: r === 'bad-credentials' ? 4 : 5 });
      done(err as never, false);
    };
    a.authorizePublish = (client, packet, done) => {
      if (!client || policy.mayPublish(this.authenticated.has(client), packet.topic)) return done(null);
      this.emit('rejected', { clientId: client.id, topic: packet.topic });
      done(new Error(`publishing on ${packet.topic} needs a login`));
    };
    keepRetainedInOrder(a);
    a.on('client', () => this.setClients(+1));
    a.on('clientDisconnect', () => this.setClients(-1));
    this.tcp.on('connection', (socket) => {
      this.track(socket);
      a.handle(socket);
    });
    this.wss?.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      a.handle(stream as never, req as never);
    });
    this.http?.on('connection', (socket) => this.track(socket));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private setClients(delta: number): void {
    this.clients = Math.max(0, this.clients + delta);
    this.emit('clients', this.clients);
  }

  /** Publish from the pipeline itself: not subject to the client access policy. */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    if (this.closing) return Promise.reject(new BrokerClosedError());
    const packet = {
      cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false,
    } as AedesPublishPacket;
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
      this.inFlight++;
      this.aedes.publish(p.packet, (err) => {
        this.inFlight--;
        if (err) p.reject(err);
        else p.resolve();
        queueMicrotask(() => this.pump());
      });
    }
  }

  /**
   * Stop listening, disconnect every client and free both ports. Resolves within `timeoutMs`
   * whatever aedes or a stuck client does: anything still open then is destroyed.
   */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
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
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
      // Clients are told to go, then their sockets are cut so the servers can close.
      setImmediate(() => {
        for (const ws of this.wss?.clients ?? []) ws.terminate();
        for (const s of this.sockets) s.destroy();
      });
      await Promise.race([graceful, timeout]);
      clearTimeout(timer);
      for (const s of this.sockets) s.destroy();
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
