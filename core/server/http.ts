import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TmpoReader } from '../api/blocks';
import type { Tokens } from '../api/auth';
import { textReply, type ApiReply, type ApiRequest } from '../api/reply';
import { tmpoBlockReply, tmpoSyncReply } from '../api/tmpo-api';
import { blockEnd, type BlockKey } from '../tmpo/ids';
import { devicePost, sensorPost, type IngestContext } from './ingest';
import { restSensorReply } from './rest';

/**
 * One handler for every path of the Flukso server API (docs/protocols/server.md#http):
 * `POST /sensor/<sid>`, `POST /device/<did>`, `GET /sensor/<sid>` (REST), the tmpo-py sync and
 * block API under `/sensor/<sid>/tmpo/`, and `GET /health`. Bodies are read up to a limit
 * (413 beyond); an endpoint that throws answers 500 and the server goes on.
 */

export interface HandlerContext extends IngestContext {
  tokens: Tokens;
  /** seconds a block's window must be over before the tmpo API lists it (default 360) */
  tmpoGrace?: number;
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
      return tmpoSyncReply(r, m[1]!, { reader: closedBlocks(c), tokens: c.tokens });
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
    run: (c) => {
      const h = c.health();
      return { status: h.ok ? 200 : 503, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(h) };
    },
  },
];

/**
 * The store as the tmpo sync API sees it: only blocks whose window ended `tmpoGrace` seconds ago.
 * A block still filling would be fetched once by tmpo-py and never again (it compares tails only),
 * so the rest of its window would never reach the client.
 */
function closedBlocks(c: HandlerContext): TmpoReader {
  const grace = c.tmpoGrace ?? 360;
  return {
    list: async (filter) =>
      (await c.store.list(filter)).filter((k: BlockKey) => blockEnd(k.lvl, k.bid) + grace <= c.now()),
    read: (key) => c.store.read(key),
  };
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
          ctx.onError?.(err);
          reply = textReply(500, 'Internal Server Error');
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
