import { Tokens } from '../api/auth';
import { textReply, type ApiReply } from '../api/reply';
import type { Registry } from './registry';

/**
 * The read APIs' token check on the registry: a sensor's own token, or the master token of the
 * user who owns the sensor's device or with whom the sensor is shared (docs/protocols/server.md#accounts).
 * Another user's or another sensor's valid token gets 403; a token nobody has gets 401.
 * Through the Tokens interface, the tmpo sync and block endpoints of core/api serve it unchanged.
 */
export class RegistryTokens extends Tokens {
  constructor(private readonly registry: Registry) {
    super(() => new Map());
  }

  override serves(sid: string): boolean {
    return this.registry.sensor(sid) !== undefined;
  }

  override check(sid: string, token: string): ApiReply | undefined {
    switch (this.registry.access(sid, token)) {
      case 'ok':
        return undefined;
      case 'forbidden':
        return textReply(403, `Forbidden: this token is not valid for sensor ${sid}`);
      default:
        return textReply(401, 'Unauthorized: invalid token', { 'WWW-Authenticate': 'X-Token realm="flukso"' });
    }
  }
}
