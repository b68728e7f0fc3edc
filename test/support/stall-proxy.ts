import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  server: Socket;
  /** bytes from the client not passed on while held */
  held: Buffer[];
  holding: boolean;
}

/**
 * A loopback TCP proxy in front of a server (Redis, in the cluster tests) that can hold what its
 * clients send: the client believes its command is on its way, the server never got it. Shows
 * what a process does between sending a command and getting its answer, and, closed while
 * holding, what is lost when that process dies right then.
 */
export class StallProxy {
  private readonly pairs = new Set<Pair>();
  private marker?: string;
  private heldBytes: Buffer[] = [];

  private constructor(
    private readonly srv: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<StallProxy> {
    const srv = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
    });
    const proxy = new StallProxy(srv, port);
    srv.on('connection', (client) => proxy.pass(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** From now on, what the clients send waits here. */
  hold(): void {
    for (const p of this.pairs) p.holding = true;
    this.marker = '';
  }

  /** From the first command containing `marker` on, what that one connection sends waits here. */
  holdFrom(marker: string): void {
    this.marker = marker;
  }

  /** What waits here, as text (Redis commands show their keys and channels). */
  heldText(): string {
    return Buffer.concat(this.heldBytes).toString('latin1');
  }

  /** Pass on what waited, and everything after. */
  release(): void {
    this.marker = undefined;
    this.heldBytes = [];
    for (const p of this.pairs) {
      p.holding = false;
      for (const b of p.held.splice(0)) p.server.write(b);
    }
  }

  /** Cut every connection, dropping what waits, and stop accepting. */
  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((r) => this.srv.close(() => r()));
  }

  private pass(client: Socket, targetPort: number): void {
    const server = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: Pair = { client, server, held: [], holding: this.marker === '' };
    this.pairs.add(pair);
    client.on('data', (d: Buffer) => {
      if (this.marker !== undefined && d.toString('latin1').includes(this.marker)) pair.holding = true;
      if (!pair.holding) return void server.write(d);
      pair.held.push(d);
      this.heldBytes.push(d);
    });
    server.on('data', (d: Buffer) => client.write(d));
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
