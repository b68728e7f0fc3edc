import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSid } from '../tmpo/ids';
import { Tokens, type TokenSource } from './auth';
import type { TmpoReader } from './blocks';
import { localSensorReply } from './local-api';
import type { GaugeSource } from './recent-gauges';
import { healthReport } from '../util/health';
import { textReply, type ApiReply, type ApiRequest } from './reply';
import { seriesReply } from './series-api';
import { lookupSensor, type NamedSensor } from './sensor-names';
import { tmpoBlockReply, tmpoSyncReply, withApiHeaders } from './tmpo-api';

export interface ApiOptions {
  /** the TMPO store; a function may answer undefined while the store is still opening (503) */
  store?: TmpoReader | (() => TmpoReader | undefined);
  /** live gauges for the FLM local API; without it `/sensor/<sid>` is 404 */
  gauges?: GaugeSource;
  /** sid -> token for the TMPO and series APIs; a sensor without a token is not served (404) */
  tokens?: TokenSource;
  /** one more token valid for every served sensor (the Flukso account's master token) */
  masterToken?: string;
  /**
   * the sensors' names, so a URL may name a sensor (`/sensor/main/series`, `/sensor/grid%20import`)
   * where the FLM takes only its id; the answer is the same as by id
   */
  sensors?: () => readonly NamedSensor[];
  /** a path prefix to strip, e.g. `/flm` when mounted where the prefix is not stripped */
  basePath?: string;
  /** Unix seconds; tests pin it */
  now?: () => number;
  /** told of every request that failed with 500 (the answer itself says only "Internal Server Error") */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/** A node:http handler that is also express middleware: with `next`, unknown paths go on. */
export type ApiHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

interface Context {
  reader: () => TmpoReader | undefined;
  sensors: () => readonly NamedSensor[];
  gauges: GaugeSource | undefined;
  tokens: Tokens;
  now: () => number;
}

type Route = {
  pattern: RegExp;
  /** the path names no sensor (every other route's first group is a sensor id) */
  noSensor?: true;
  handle: (req: ApiRequest, m: RegExpExecArray, ctx: Context) => ApiReply | Promise<ApiReply>;
};

const SEGMENT = '([^/]+)';

const ROUTES: Route[] = [
  // For a load balancer: can this instance take data (core/util/health.ts). Served without a
  // token: it says only whether parts are up, which the balancer must learn unauthenticated.
  {
    pattern: /^\/health$/,
    noSensor: true,
    handle: () => {
      const report = healthReport();
      return {
        status: report.ok ? 200 : 503,
        headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
        body: JSON.stringify(report),
      };
    },
  },
  {
    pattern: new RegExp(`^/sensor/${SEGMENT}$`),
    handle: (req, m, ctx) => (ctx.gauges ? localSensorReply(req, m[1]!, ctx.gauges, ctx.now()) : notFound()),
  },
  {
    pattern: new RegExp(`^/sensor/${SEGMENT}/tmpo/sync$`),
    handle: (req, m, ctx) => withStore(ctx, (reader) => tmpoSyncReply(req, m[1]!, { reader, tokens: ctx.tokens })),
  },
  {
    pattern: new RegExp(`^/sensor/${SEGMENT}/tmpo/${SEGMENT}/${SEGMENT}/${SEGMENT}$`),
    handle: (req, m, ctx) =>
      withStore(ctx, (reader) =>
        tmpoBlockReply(req, m[1]!, { rid: m[2]!, lvl: m[3]!, bid: m[4]! }, { reader, tokens: ctx.tokens }),
      ),
  },
  {
    pattern: new RegExp(`^/sensor/${SEGMENT}/series$`),
    handle: (req, m, ctx) =>
      withStore(ctx, (reader) => seriesReply(req, m[1]!, { reader, tokens: ctx.tokens, now: ctx.now })),
  },
];

const notFound = (): ApiReply => textReply(404, 'Not Found');

/**
 * The id a path's sensor segment means: an id as the FLM takes it, or a sensor's name
 * (URL-encoded). A name that is no sensor's is 404 (the names known are not listed: the local API
 * answers anyone); one two sensors share is 409 with their ids.
 */
function sidOf(segment: string, ctx: Context): string | ApiReply {
  let ref: string;
  try {
    ref = decodeURIComponent(segment);
  } catch {
    return notFound();
  }
  const found = lookupSensor(ref, ctx.sensors());
  if (found.ok) return isSid(found.sid) ? found.sid : notFound();
  return found.why === 'ambiguous' ? textReply(409, `Conflict: ${found.message}`) : notFound();
}

function withStore(ctx: Context, fn: (reader: TmpoReader) => Promise<ApiReply>): ApiReply | Promise<ApiReply> {
  const reader = ctx.reader();
  if (!reader)
    return withApiHeaders(
      textReply(503, 'Service Unavailable: the TMPO store is still opening', { 'Retry-After': '5' }),
    );
  return fn(reader);
}

/**
 * The three APIs behind one handler: GET (and HEAD) only, 404 for any other path (or `next()`
 * under express), 405 for other methods on our paths, and never an exception out of it: a failing
 * endpoint answers 500 with a short text and the server goes on.
 */
export function createApiHandler(options: ApiOptions = {}): ApiHandler {
  const store = options.store;
  const ctx: Context = {
    reader: typeof store === 'function' ? store : () => store,
    gauges: options.gauges,
    sensors: options.sensors ?? (() => []),
    tokens: new Tokens(options.tokens ?? {}, options.masterToken),
    now: options.now ?? (() => Date.now() / 1000),
  };
  const base = (options.basePath ?? '').replace(/\/+$/, '');

  const reportError = (err: unknown, req: IncomingMessage): void => {
    try {
      options.onError?.(err, req);
    } catch {
      // a failing reporter must not turn one bad request into a crash
    }
  };

  return (req, res, next) => {
    let matched: { route: Route; m: RegExpExecArray; url: URL } | undefined;
    try {
      matched = match(req, base);
    } catch (err) {
      reportError(err, req);
    }
    if (!matched) {
      if (next) {
        try {
          next();
        } catch (err) {
          reportError(err, req);
        }
      } else send(res, isIndex(req, base) ? indexReply() : notFound(), reportError, req);
      return;
    }
    const { route, m, url } = matched;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, textReply(405, 'Method Not Allowed', { Allow: 'GET, HEAD' }), reportError, req);
      return;
    }
    const apiReq: ApiRequest = { method: req.method, url, headers: req.headers };
    void (async () => {
      let reply: ApiReply;
      try {
        const sid = route.noSensor ? undefined : sidOf(m[1]!, ctx);
        if (sid !== undefined && typeof sid !== 'string') reply = sid;
        else {
          if (sid !== undefined) m[1] = sid;
          reply = await route.handle(apiReq, m, ctx);
        }
      } catch (err) {
        reportError(err, req);
        reply = textReply(500, 'Internal Server Error');
      }
      send(res, reply, reportError, req);
    })();
  };
}

/** `GET /` of the API's own server: what a person tries first, so it says what is here. */
function isIndex(req: IncomingMessage, base: string): boolean {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  return (req.method === 'GET' || req.method === 'HEAD') && (path === '/' || (base !== '' && path === `${base}/`));
}

function indexReply(): ApiReply {
  return textReply(
    200,
    [
      'The FLM local API and the TMPO HTTP API (node-red-contrib-fluksometer).',
      '',
      'GET /sensor/<sid>?version=1.0&interval=minute&unit=watt|lperday',
      '    the last minute of gauges, a [ts,value] a second; no token, as on an FLM',
      'GET /sensor/<sid>/series?version=1.0&token=<API token>&start=<time>[&end=&resolution=&unit=&rid=]',
      '    history in equal buckets',
      'GET /sensor/<sid>/tmpo/sync?version=1.0&token=<API token>&rid=0&lvl=0&bid=0',
      '    the TMPO blocks after the one given, as tmpo-py asks the Flukso server',
      'GET /sensor/<sid>/tmpo/<rid>/<lvl>/<bid>?version=1.0&token=<API token>',
      '    one TMPO block (gzip)',
      '',
      "<sid> is a sensor's 32-hex id or its name, URL-encoded (grid%20import). The API token is",
      "shown in flm-tmpo's dialog; the package's README lists every URL with an example.",
      '',
    ].join('\n'),
  );
}

function match(req: IncomingMessage, base: string): { route: Route; m: RegExpExecArray; url: URL } | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let path = url.pathname;
  if (base) {
    if (path !== base && !path.startsWith(`${base}/`)) return undefined;
    path = path.slice(base.length) || '/';
  }
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (m) return { route, m, url };
  }
  return undefined;
}

function send(
  res: ServerResponse,
  reply: ApiReply,
  reportError: (err: unknown, req: IncomingMessage) => void,
  req: IncomingMessage,
): void {
  try {
    if (res.headersSent || res.writableEnded) return;
    res.statusCode = reply.status;
    if (reply.status === 597) res.statusMessage = 'Inconsistent TMPO Store';
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
    res.setHeader('Content-Length', Buffer.byteLength(reply.body));
    res.end(reply.body);
  } catch (err) {
    reportError(err, req);
    res.destroy();
  }
}
