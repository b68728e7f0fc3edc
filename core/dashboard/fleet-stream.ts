import type { IncomingMessage, ServerResponse } from 'node:http';
import { beginEventStream, sseFrame } from './event-stream';
import type { FleetCounter, FleetSensor, FleetSource, FleetStreamLike, Viewer } from './fleet';
import type { LiveReading } from './live-state';
import { powerBetween } from '../readings/counter-power';

/**
 * A server dashboard's live readings as Server-Sent Events (docs/protocols/server.md#dashboard):
 * the newest counter each upload or TMPO block brought, and the power derived from it, sent as a
 * device dashboard sends its readings (`reading` events, so the page's tiles take them alike).
 * Unlike a device dashboard's stream, every page has its own viewer: the editor's login gets every
 * sensor, a Flukso user's master token only the sensors it may see (own and shared), the list
 * fleet.ts gives. That list is asked again when it is older than `visibleForMs`, so a share
 * withdrawn stops the readings within that time; a token that became nobody's ends the stream.
 *
 * Bounded as the device stream is: at most `maxClients` pages, a page whose socket buffer fills
 * is dropped, and the owner calls keepAlive() now and then.
 */
export interface FleetStreamOptions {
  maxClients?: number;
  visibleForMs?: number;
  now?: () => number;
}

interface Latest {
  counter?: LiveReading;
  gauge?: LiveReading;
}

interface Client {
  res: ServerResponse;
  viewer: Viewer;
  /** undefined for the admin: every sensor */
  visible?: Set<string>;
  checkedAt: number;
  /** the readings waiting for a fresh list, in order, and how many */
  queue: Promise<void>;
  waiting: number;
}

const MAX_BUFFERED_BYTES = 1 << 20;

export class FleetStream implements FleetStreamLike {
  private readonly clients = new Set<Client>();
  /** per sensor the server stored readings of (so as many as its registry holds) */
  private readonly latest = new Map<string, Latest>();
  private readonly maxClients: number;
  private readonly visibleForMs: number;
  private readonly now: () => number;
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    private readonly fleet: FleetSource,
    o: FleetStreamOptions = {},
  ) {
    this.maxClients = o.maxClients ?? 16;
    this.visibleForMs = o.visibleForMs ?? 10_000;
    this.now = o.now ?? Date.now;
    this.unsubscribe = fleet.live?.subscribe((c) => this.take(c));
  }

  get size(): number {
    return this.clients.size;
  }

  keepAlive(): void {
    for (const c of this.clients) this.write(c, ': keep-alive\n\n');
  }

  /** Answer a GET with the stream (the caller has checked the viewer and listed `visible`), or 503 when full. */
  open(req: IncomingMessage, res: ServerResponse, viewer: Viewer, visible: FleetSensor[]): void {
    if (!beginEventStream(res, this.clients.size, this.maxClients)) return;
    // the headers now: a page between two uploads may have nothing else to read for minutes
    res.flushHeaders();
    const client: Client = {
      res,
      viewer,
      ...('admin' in viewer ? {} : { visible: new Set(visible.map((s) => s.sid)) }),
      checkedAt: this.now(),
      queue: Promise.resolve(),
      waiting: 0,
    };
    this.clients.add(client);
    const drop = () => this.clients.delete(client);
    req.once('close', drop);
    res.once('close', drop);
    // What is known already, so a page opened between two uploads has values at once.
    for (const s of visible) {
      const l = this.latest.get(s.sid);
      if (l?.counter) this.write(client, readingFrame(s.sid, 'counter', l.counter));
      if (l?.gauge) this.write(client, readingFrame(s.sid, 'gauge', l.gauge));
    }
  }

  /** Stop taking readings and end every stream. */
  close(): void {
    this.unsubscribe?.();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private take(c: FleetCounter): void {
    const known = this.latest.get(c.sid) ?? {};
    // A late upload or an old block is stored, but the tile keeps the newest reading.
    if (known.counter && c.ts <= known.counter.ts) return;
    const counter = { ts: c.ts, value: c.value, unit: c.unit };
    const before = c.before ?? known.counter;
    const power = before && powerBetween(before, c);
    const gauge = power === undefined ? undefined : { ts: c.ts, value: power, unit: c.gaugeUnit };
    this.latest.set(c.sid, { counter, ...(gauge ? { gauge } : {}) });
    const frames = [readingFrame(c.sid, 'counter', counter), ...(gauge ? [readingFrame(c.sid, 'gauge', gauge)] : [])];
    for (const client of this.clients) this.deliver(client, c.sid, frames);
  }

  private deliver(client: Client, sid: string, frames: string[]): void {
    if (!client.visible) return void frames.forEach((f) => this.write(client, f));
    const fresh = this.now() - client.checkedAt < this.visibleForMs;
    if (fresh && client.waiting === 0) {
      if (client.visible.has(sid)) frames.forEach((f) => this.write(client, f));
      return;
    }
    // The list is old: ask again before this reading (and those after it) go out.
    client.waiting++;
    client.queue = client.queue.then(async () => {
      client.waiting--;
      if (this.now() - client.checkedAt >= this.visibleForMs) {
        const list = await this.fleet.sensors(client.viewer).catch(() => undefined);
        if (!list) return void this.end(client);
        client.visible = new Set(list.map((s) => s.sid));
        client.checkedAt = this.now();
      }
      if (client.visible?.has(sid) && this.clients.has(client)) frames.forEach((f) => this.write(client, f));
    });
  }

  private end(client: Client): void {
    this.clients.delete(client);
    client.res.end();
  }

  private write(client: Client, text: string): void {
    if (client.res.writableLength > MAX_BUFFERED_BYTES) {
      this.clients.delete(client);
      client.res.destroy();
      return;
    }
    client.res.write(text);
  }
}

function readingFrame(sid: string, kind: 'counter' | 'gauge', r: LiveReading): string {
  return sseFrame('reading', { sid, kind, ts: r.ts, value: r.value, unit: r.unit });
}
