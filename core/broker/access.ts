import { timingSafeEqual, createHash } from 'node:crypto';

/**
 * Who may do what on the embedded broker.
 * - `open`: anyone connects and publishes anything, as on the FLM (forged readings included).
 * - `read-only-anonymous`: anyone connects, subscribes and publishes elsewhere, but only the
 *   pipeline (in-process) and, if allowed, logged-in clients publish on the pipeline's topics.
 * - `authenticated`: a client must log in to connect at all; the pipeline's topics as above.
 */
export type AccessMode = 'open' | 'read-only-anonymous' | 'authenticated';
export const ACCESS_MODES: readonly AccessMode[] = ['open', 'read-only-anonymous', 'authenticated'];

export interface AccessPolicyOptions {
  mode: AccessMode;
  username?: string;
  password?: string;
  /** Home Assistant's discovery prefix: configs under it are the pipeline's too. Default homeassistant. */
  discoveryPrefix?: string;
  /** May logged-in clients publish on the pipeline's topics? Default yes. */
  loginMayPublishPipeline?: boolean;
  /** May anonymous clients subscribe to $SYS (client ids, addresses)? Default no. */
  anonymousSys?: boolean;
}

export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';

export type LoginResult = 'authenticated' | 'anonymous' | 'bad-credentials' | 'not-authorized';

export class AccessPolicy {
  private readonly userDigest?: Buffer;
  private readonly passDigest?: Buffer;
  private readonly discovery: string;

  constructor(readonly opts: AccessPolicyOptions) {
    if (opts.mode === 'authenticated' && (!opts.username || !opts.password)) {
      throw new Error('access mode "authenticated" needs a username and password');
    }
    // A user without a password would let anyone who guesses the name publish as the pipeline.
    if (opts.username && !opts.password) throw new Error(`the broker user "${opts.username}" needs a password`);
    if (opts.username) {
      this.userDigest = digest(opts.username);
      this.passDigest = digest(opts.password ?? '');
    }
    this.discovery = `${opts.discoveryPrefix || DEFAULT_DISCOVERY_PREFIX}/`;
  }

  /** Decide a CONNECT. Wrong credentials are refused in every mode. */
  login(username: string | undefined, password: Buffer | undefined): LoginResult {
    if (username !== undefined) {
      if (!this.userDigest || !this.passDigest)
        return this.opts.mode === 'authenticated' ? 'bad-credentials' : 'anonymous';
      // Compare digests of equal length in constant time, so neither length nor content leaks.
      const okUser = timingSafeEqual(digest(username), this.userDigest);
      const okPass = timingSafeEqual(digest(password ?? Buffer.alloc(0)), this.passDigest);
      return okUser && okPass ? 'authenticated' : 'bad-credentials';
    }
    return this.opts.mode === 'authenticated' ? 'not-authorized' : 'anonymous';
  }

  /**
   * Topics only the pipeline writes: readings, the sensor table and TMPO under /sensor/ and
   * /device/, Home Assistant discovery configs and the availability HA reads. HA's own birth
   * message (`<prefix>/status`) is the one topic under the discovery prefix that others write.
   */
  isPipelineTopic(topic: string): boolean {
    if (topic.startsWith('/sensor/') || topic.startsWith('/device/')) return true;
    if (topic.startsWith(this.discovery)) return topic !== `${this.discovery}status`;
    return AVAILABILITY.test(topic);
  }

  /** May a client publish on this topic? In-process publishes never ask. */
  mayPublish(authenticated: boolean, topic: string): boolean {
    if (topic.startsWith('$SYS')) return false;
    if (this.opts.mode === 'open' || !this.isPipelineTopic(topic)) return true;
    return authenticated && this.opts.loginMayPublishPipeline !== false;
  }

  /** May a client subscribe to this filter? $SYS names every client and its address. */
  maySubscribe(authenticated: boolean, filter: string): boolean {
    return authenticated || this.opts.anonymousSys === true || !filter.startsWith('$SYS');
  }

  /**
   * May a newcomer take the client id of a connected client? MQTT lets the newer connection
   * win, so an anonymous one could cut off a logged-in client and inherit its session.
   */
  mayTakeOver(newcomerAuthenticated: boolean, holderAuthenticated: boolean): boolean {
    return newcomerAuthenticated || !holderAuthenticated;
  }
}

const AVAILABILITY = /^flm\/[^/]+\/availability$/;

function digest(v: string | Buffer): Buffer {
  return createHash('sha256').update(v).digest();
}
