import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One state update as openHAB received it. */
export interface StateRecord {
  item: string;
  state: string;
  contentType: string;
}

export interface OpenHabServerOptions {
  /** the API token openHAB accepts as `Authorization: Bearer <token>` */
  token: string;
  /** item name → item type (Number, Number:Power, String…); others answer 404 */
  items: Record<string, string>;
}

/** A number, optionally with a unit: what a Number (or Number:<dimension>) item takes as a state. */
const NUMBER_STATE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?( [^\s]+)?$/;

/**
 * A stand-in for openHAB's REST API on 127.0.0.1, with the semantics the sink relies on
 * (as openHAB's REST docs describe them): `PUT /rest/items/<item>/state` with a text/plain body
 * updates the state and answers 202; no or a wrong Bearer token 401; an unknown item 404; a
 * state the item type cannot take 400; `GET …/state` reads it back. Records every accepted
 * state; can hold replies (to see what piles up meanwhile) and fail the next requests.
 */
export class OpenHabServer {
  readonly records: StateRecord[] = [];
  readonly statuses: number[] = [];
  readonly states = new Map<string, string>();
  /** most requests for one item under way at once, per item */
  readonly maxConcurrent = new Map<string, number>();
  private readonly concurrent = new Map<string, number>();
  private held: Array<() => void> | undefined;
  private failures: Array<number | 'reset'> = [];
  private server!: Server;
  url = '';

  constructor(private readonly opts: OpenHabServerOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Replies wait until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const h = this.held ?? [];
    this.held = undefined;
    for (const f of h) f();
  }

  get waiting(): number {
    return this.held?.length ?? 0;
  }

  /** The next requests fail: with this status, or by the connection being cut. */
  failNext(...what: Array<number | 'reset'>): void {
    this.failures.push(...what);
  }

  addItem(name: string, type = 'Number'): void {
    this.opts.items[name] = type;
  }

  setToken(token: string): void {
    this.opts.token = token;
  }

  statesOf(item: string): string[] {
    return this.records.filter((r) => r.item === item).map((r) => r.state);
  }

  close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/rest\/items\/([^/]+)\/state$/.exec(req.url ?? '');
      const item = m ? decodeURIComponent(m[1]!) : '';
      const n = (this.concurrent.get(item) ?? 0) + 1;
      this.concurrent.set(item, n);
      this.maxConcurrent.set(item, Math.max(n, this.maxConcurrent.get(item) ?? 0));
      const reply = (status: number, body = '') => {
        this.concurrent.set(item, (this.concurrent.get(item) ?? 1) - 1);
        this.statuses.push(status);
        res.writeHead(status, { 'Content-Type': body.startsWith('{') ? 'application/json' : 'text/plain' }).end(body);
      };
      const answer = () => {
        const failure = this.failures.shift();
        if (failure === 'reset') {
          this.concurrent.set(item, (this.concurrent.get(item) ?? 1) - 1);
          req.socket.destroy();
          return;
        }
        if (failure !== undefined)
          return reply(failure, `{"error":{"message":"failing on purpose","http-code":${failure}}}`);
        if (!m) return reply(404, '{"error":{"message":"not found","http-code":404}}');
        if (req.headers.authorization !== `Bearer ${this.opts.token}`)
          return reply(401, '{"error":{"message":"Authentication required","http-code":401}}');
        const type = this.opts.items[item];
        if (!type) return reply(404, `{"error":{"message":"Item ${item} does not exist!","http-code":404}}`);
        if (req.method === 'GET') return reply(200, this.states.get(item) ?? 'NULL');
        if (req.method !== 'PUT') return reply(405);
        const contentType = String(req.headers['content-type'] ?? '');
        if (!contentType.startsWith('text/plain')) return reply(415);
        const state = Buffer.concat(chunks).toString('utf8');
        if (type.startsWith('Number') && !NUMBER_STATE.test(state))
          return reply(400, `{"error":{"message":"State could not be parsed: ${state}","http-code":400}}`);
        this.records.push({ item, state, contentType });
        this.states.set(item, state);
        reply(202);
      };
      if (this.held) this.held.push(answer);
      else answer();
    });
  }
}
