import { isBlockId, isLevel, type BlockKey } from '../tmpo/ids';
import { API_VERSION, authorize, type Tokens } from './auth';
import { syncSelection, type SyncFrom, type TmpoReader } from './blocks';
import { headerValue, isCallbackName, jsonReply, textReply, type ApiReply, type ApiRequest } from './reply';

/**
 * The TMPO HTTP API that tmpo-py and tmpo-js use against the Flukso server
 * (docs/protocols/tmpo.md#http-sync-api):
 * - `GET /sensor/<sid>/tmpo/sync?rid=&lvl=&bid=` lists the blocks the client lacks as
 *   `[{"rid":0,"lvl":20,"bid":1468006400,"ext":"gz"},...]`;
 * - `GET /sensor/<sid>/tmpo/<rid>/<lvl>/<bid>` answers the block's gzip bytes.
 * Every answer carries `X-Version: 1.0` and `Access-Control-Allow-Origin: *`, as the server's.
 */

export interface TmpoApiContext {
  reader: TmpoReader;
  tokens: Tokens;
}

/** fls retries an inconsistent listing this often before it gives up with 597. */
const SYNC_ATTEMPTS = 4;
const RETRY_DELAY_MS = 50;
/** The status fls answers when the block tails stay out of order. */
export const STATUS_INCONSISTENT = 597;

const API_HEADERS = { 'X-Version': API_VERSION, 'Access-Control-Allow-Origin': '*' };

export function withApiHeaders(reply: ApiReply): ApiReply {
  return { ...reply, headers: { ...reply.headers, ...API_HEADERS } };
}

/** 404 for a sensor we hold no token for, then the version and token checks. */
export function guard(req: ApiRequest, sid: string, tokens: Tokens): ApiReply | undefined {
  if (!tokens.serves(sid)) return textReply(404, `Not Found: no sensor ${sid} here`);
  return authorize(req, sid, tokens);
}

const DECIMAL = /^\d{1,16}$/;

function integerParam(q: URLSearchParams, name: string, max: number): number | string {
  const text = q.get(name);
  if (text === null) return `Malformed request: the ${name} query parameter is required`;
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > max) return `Malformed request: ${name} must be an integer from 0 to ${max}`;
  return n;
}

/** The client's last block: rid, lvl and bid are integers; lvl 0 with bid 0 means "I have nothing". */
function parseSyncFrom(q: URLSearchParams): SyncFrom | string {
  const rid = integerParam(q, 'rid', Number.MAX_SAFE_INTEGER);
  const lvl = integerParam(q, 'lvl', 32);
  const bid = integerParam(q, 'bid', Number.MAX_SAFE_INTEGER);
  if (typeof rid === 'string') return rid;
  if (typeof lvl === 'string') return lvl;
  if (typeof bid === 'string') return bid;
  return { rid, lvl, bid };
}

export async function tmpoSyncReply(req: ApiRequest, sid: string, ctx: TmpoApiContext): Promise<ApiReply> {
  const refused = guard(req, sid, ctx.tokens);
  if (refused) return withApiHeaders(refused);
  const q = req.url.searchParams;
  const from = parseSyncFrom(q);
  if (typeof from === 'string') return withApiHeaders(textReply(400, from));
  const callback = q.get('callback') ?? undefined;
  if (callback !== undefined && !isCallbackName(callback)) {
    return withApiHeaders(textReply(400, 'Malformed request: callback must be a JavaScript function name'));
  }
  // Compaction may be between writing a parent and removing its children; those children are
  // left out anyway, so a retry only helps with a listing taken in the middle of a rename.
  for (let attempt = 1; attempt <= SYNC_ATTEMPTS; attempt++) {
    const selected = syncSelection(await ctx.reader.list({ sid }), from);
    if (selected !== 'inconsistent') {
      const body = JSON.stringify(selected.map((k) => ({ rid: k.rid, lvl: k.lvl, bid: k.bid, ext: 'gz' })));
      return withApiHeaders(jsonReply(body, callback, { 'Cache-Control': 'no-store' }));
    }
    if (attempt < SYNC_ATTEMPTS) await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
  return withApiHeaders(
    textReply(
      STATUS_INCONSISTENT,
      `TMPO blocks of sensor ${sid} do not follow each other in time; sync again after the next compaction`,
    ),
  );
}

/**
 * `Accept: application/json` gets the bytes as JSON with `Content-Encoding: gzip`, so a browser
 * inflates them itself (tmpo-js relies on it); anything else, tmpo-py's `application/gzip`
 * included, gets the gzip file as it is.
 */
function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  return (
    types.includes('application/json') && !types.some((t) => t === 'application/gzip' || t === 'application/x-gzip')
  );
}

export async function tmpoBlockReply(
  req: ApiRequest,
  sid: string,
  path: { rid: string; lvl: string; bid: string },
  ctx: TmpoApiContext,
): Promise<ApiReply> {
  const refused = guard(req, sid, ctx.tokens);
  if (refused) return withApiHeaders(refused);
  const key = blockKey(sid, path);
  const bytes = key && (await ctx.reader.read(key));
  if (!bytes) return withApiHeaders(textReply(404, `Not Found: no block ${sid}/${path.rid}/${path.lvl}/${path.bid}`));
  const headers: Record<string, string> = wantsJson(headerValue(req.headers, 'Accept'))
    ? { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', Vary: 'Accept' }
    : { 'Content-Type': 'application/gzip', Vary: 'Accept' };
  // A stored block never changes (it is replaced by its parent, under another name).
  headers['Cache-Control'] = 'private, max-age=31536000, immutable';
  return withApiHeaders({ status: 200, headers, body: bytes });
}

/** The key named by the path, or undefined when it cannot name a block. */
function blockKey(sid: string, path: { rid: string; lvl: string; bid: string }): BlockKey | undefined {
  if (![path.rid, path.lvl, path.bid].every((s) => DECIMAL.test(s))) return undefined;
  const rid = Number(path.rid);
  const lvl = Number(path.lvl);
  const bid = Number(path.bid);
  if (!Number.isSafeInteger(rid) || !isLevel(lvl) || !isBlockId(lvl, bid)) return undefined;
  return { sid, rid, lvl, bid };
}
