import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Server-Sent Events to the dashboard pages of one dashboard node: every change goes out as it
 * happens (readings come at most once a second per sensor, so nothing needs coalescing). A page
 * reads the stream with fetch, which can send the editor's Bearer token (EventSource cannot).
 * Bounded: at most `maxClients` streams, a slow page whose socket buffer fills is dropped
 * rather than buffered without end, and the owner calls keepAlive() now and then (a comment
 * line) so proxies do not close an idle stream.
 */
export interface EventStreamOptions {
  maxClients?: number;
  /** what a new page gets first */
  hello: () => { event: string; data: unknown };
}

const MAX_BUFFERED_BYTES = 1 << 20;

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxClients: number;

  constructor(private readonly o: EventStreamOptions) {
    this.maxClients = o.maxClients ?? 16;
  }

  keepAlive(): void {
    if (this.clients.size) this.write(': keep-alive\n\n');
  }

  get size(): number {
    return this.clients.size;
  }

  /** Answer a GET with the stream, or 503 when full. */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (!beginEventStream(res, this.clients.size, this.maxClients)) return;
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.once('close', drop);
    res.once('close', drop);
    const { event, data } = this.o.hello();
    res.write(sseFrame(event, data));
  }

  send(event: string, data: unknown): void {
    if (this.clients.size) this.write(sseFrame(event, data));
  }

  /** End every stream. */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}

/** One Server-Sent Events frame with a JSON payload. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Answer with an event stream's headers, or with 503 when `open` pages already reach `max`.
 * False when refused: the caller keeps nothing of `res`.
 */
export function beginEventStream(res: ServerResponse, open: number, max: number): boolean {
  if (open >= max) {
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' });
    res.end(`at most ${max} dashboard pages at once\n`);
    return false;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
  });
  res.socket?.setNoDelay(true);
  return true;
}
