import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tokens } from '../api/auth';
import { textReply, type ApiReply, type ApiRequest } from '../api/reply';
import { tmpoBlockReply, tmpoSyncReply } from '../api/tmpo-api';
import { devicePost, sensorPost, type IngestContext } from './ingest';
import { restSensorReply } from './rest';
import { StoreUnavailableError } from './store/types';

/**
 * One handler for every path of the Flukso server API (docs/protocols/server.md#http):
 * `POST /sensor/<sid>`, `POST /device/<did>`, `GET /sensor/<sid>` (REST), the tmpo-py sync and
 * block API under `/sensor/<sid>/tmpo/`, and `GET /health`. Bodies are read up to a limit
 * (413 beyond); an endpoint that throws answers 500 and the server goes on.
 */

export interface HandlerContext extends IngestContext {
  tokens: Tokens;
  maxBodyBytes?: number;
  /** what /health adds to `{"ok":...}` */
  health: () => { ok: boolean; [k: string]: unknown };
  onError?: (err: unknown) => void;
}

const SID = '([0-9a-f]{1,64})';
const ID = '([^/]+)';
const ROUTES: Array<{
  method: 'GET' | 'POST';
  pattern: RegExp;
  run: (ctx: HandlerContext, req: ApiRequest, m: RegExpExecArray, body: Buffer) => Promise<ApiReply> | ApiReply;
}> = [
  { method: 'POST', pattern: new RegExp(`^/sensor/${ID}$`), run: (c, r, m, b) => sensorPost(c, m[1]!, r.headers, b) },
  { method: 'POST', pattern: new RegExp(`^/device/${ID}$`), run: (c, r, m, b) => devicePost(c, m[1]!, r.headers, b) },
  {
    method: 'GET',
    pattern: new RegExp(`^/sensor/${SID}$`),
    run: (c, r, m) => restSensorReply(r, m[1]!, { ...c, registry: c.registry }),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/sensor/${SID}/tmpo/sync$`),
    run: async (c, r, m) => {
      await c.registry.refresh();
      // The store lists only blocks it will never write again (docs/protocols/server.md#store), so
      // a block is listed as soon as it is written: tmpo-py, which fetches a block once, misses nothing.
      return tmpoSyncReply(r, m[1]!, { reader: c.store, tokens: c.tokens });
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/sensor/${SID}/tmpo/${ID}/${ID}/${ID}$`),
    run: async (c, r, m) => {
      await c.registry.refresh();
      return tmpoBlockReply(r, m[1]!, { rid: m[2]!, lvl: m[3]!, bid: m[4]! }, { reader: c.store, tokens: c.tokens });
    },
  },
  {
    method: 'GET',
    pattern: /^\/health$/,
    run: (c, r) => {
      // Only where the operator started node with --expose-gc (a bench, a memory hunt): the heap
      // figures after a full collection say what is kept, not what is still to be collected.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc && r.url.searchParams.get('gc') === '1') gc();
      const h = { ...c.health(), memory: memoryFigures() };
      return { status: h.ok ? 200 : 503, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(h) };
    },
  },
];

/** What the process holds, bytes: `heapUsed` is what the JavaScript objects take, `rss` all of it. */
function memoryFigures(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

export function createServerHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const max = ctx.maxBodyBytes ?? 1024 * 1024;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const candidates = ROUTES.filter((r) => r.pattern.test(url.pathname));
    const route = candidates.find((r) => r.method === req.method || (r.method === 'GET' && req.method === 'HEAD'));
    if (!route) {
      req.resume();
      if (candidates.length === 0) ctx.counters.reject('not-found');
      else ctx.counters.reject('method');
      const reply =
        candidates.length === 0
          ? textReply(404, 'Not Found')
          : textReply(405, 'Method Not Allowed', { Allow: candidates.map((r) => r.method).join(', ') });
      return send(res, reply, true);
    }
    const m = route.pattern.exec(url.pathname)!;
    readBody(req, route.method === 'POST' ? max : 0).then(
      async (body) => {
        let reply: ApiReply;
        try {
          reply = await route.run(ctx, { method: req.method ?? 'GET', url, headers: req.headers }, m, body);
        } catch (err) {
          if (err instanceof StoreUnavailableError)
            reply = textReply(503, 'Service Unavailable: the store cannot answer now; try again');
          else {
            ctx.onError?.(err);
            reply = textReply(500, 'Internal Server Error');
          }
        }
        send(res, reply, false);
      },
      () => {
        ctx.counters.reject('too-large');
        send(res, textReply(413, `Payload Too Large: at most ${max} bytes`), true);
      },
    );
  };
}

function send(res: ServerResponse, reply: ApiReply, close: boolean): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  res.statusCode = reply.status;
  if (reply.status === 597) res.statusMessage = 'Inconsistent TMPO Store';
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(reply.body));
  if (close) res.setHeader('Connection', 'close');
  res.end(reply.body);
}

/** The body, or a rejection once it passes `max` bytes (a declared length over it fails at once). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      req.resume();
      return reject(new Error('too large'));
    }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        req.pause();
        reject(new Error('too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
