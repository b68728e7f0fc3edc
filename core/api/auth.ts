import { createHmac, timingSafeEqual } from 'node:crypto';
import { headerValue, textReply, type ApiReply, type ApiRequest } from './reply';

/**
 * The checks the Flukso server makes before it serves a sensor's data
 * (docs/protocols/tmpo.md#http-sync-api, fls `check.erl`): a version of 1.0 and a token, each from
 * its header (`X-Version`, `X-Token`) or its query parameter (`version`, `token`) but not both; the
 * token must be the sensor's own or the master token.
 *
 * - malformed (no or wrong version, header and query both given, token not 32 hex) -> 400;
 * - no token -> 401; a token that is no sensor's -> 401;
 * - another sensor's token -> 403 (it is a valid credential, just not for this sensor).
 */

/** sid -> token; a function is asked on every request, so tokens can change while serving. */
export type TokenMap = ReadonlyMap<string, string> | Readonly<Record<string, string>>;
export type TokenSource = TokenMap | (() => TokenMap);

const TOKEN = /^[0-9a-f]{32}$/;
export const isToken = (s: unknown): s is string => typeof s === 'string' && TOKEN.test(s);

export const API_VERSION = '1.0';

/**
 * The API token a device has when none is set: derived from the device key under a label of
 * its own. It reads the device's history and nothing more; handing it out reveals neither the
 * key (which signs uploads and logs in to the bridge) nor anything else derived from it.
 */
export function derivedApiToken(deviceKey: string): string {
  return createHmac('sha256', deviceKey).update('flm tmpo api token v1').digest('hex').slice(0, 32);
}

export class Tokens {
  constructor(
    private readonly source: TokenSource,
    private readonly master?: string,
  ) {
    if (master !== undefined && !isToken(master))
      throw new RangeError('the master token must be 32 lowercase hex characters');
    if (typeof source !== 'function') {
      for (const [sid, token] of entries(source)) {
        if (!isToken(token)) throw new RangeError(`the token of sensor ${sid} must be 32 lowercase hex characters`);
      }
    }
  }

  private current(): Map<string, string> {
    const map = typeof this.source === 'function' ? this.source() : this.source;
    return new Map(entries(map).filter(([, token]) => isToken(token)));
  }

  /** Whether the sensor is served at all (has a token). */
  serves(sid: string): boolean {
    return this.current().has(sid);
  }

  /** undefined when the token may read the sensor, else the answer to give. */
  check(sid: string, token: string): ApiReply | undefined {
    const map = this.current();
    const own = map.get(sid);
    if ((own !== undefined && same(own, token)) || (this.master !== undefined && same(this.master, token)))
      return undefined;
    for (const [other, t] of map) {
      if (other !== sid && same(t, token))
        return textReply(403, `Forbidden: this token is not valid for sensor ${sid}`);
    }
    return unauthorized('Unauthorized: invalid token');
  }
}

function entries(map: TokenMap): Array<[string, string]> {
  return map instanceof Map ? [...map.entries()] : Object.entries(map);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function unauthorized(text: string): ApiReply {
  return textReply(401, text, { 'WWW-Authenticate': 'X-Token realm="flukso"' });
}

/** A value from a header or a query parameter, never both. */
function oneOf(req: ApiRequest, header: string, param: string): { value?: string; both: boolean } {
  const h = headerValue(req.headers, header);
  const q = req.url.searchParams.get(param) ?? undefined;
  if (h !== undefined && q !== undefined) return { both: true };
  const value = h ?? q;
  return value === undefined ? { both: false } : { value, both: false };
}

/** Version and token checks for sensor `sid`; undefined when the request may go on. */
export function authorize(req: ApiRequest, sid: string, tokens: Tokens): ApiReply | undefined {
  const version = oneOf(req, 'X-Version', 'version');
  if (version.both)
    return textReply(
      400,
      'Malformed request: give the version as the X-Version header or the version query parameter, not both',
    );
  if (version.value !== API_VERSION) {
    return textReply(
      400,
      version.value === undefined
        ? 'Malformed request: the X-Version: 1.0 header (or version=1.0) is required'
        : `Malformed request: version ${JSON.stringify(version.value.slice(0, 20))} is not supported, only 1.0`,
    );
  }
  const token = oneOf(req, 'X-Token', 'token');
  if (token.both)
    return textReply(
      400,
      'Malformed request: give the token as the X-Token header or the token query parameter, not both',
    );
  if (token.value === undefined)
    return unauthorized('Unauthorized: a sensor token is required (X-Token header or token query parameter)');
  if (!isToken(token.value)) return textReply(400, 'Malformed request: a token is 32 lowercase hex characters');
  return tokens.check(sid, token.value);
}
