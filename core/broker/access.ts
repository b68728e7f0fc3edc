import { timingSafeEqual, createHash } from 'node:crypto';

/**
 * Who may do what on the embedded broker.
 * - `open`: anyone connects and publishes, as on the FLM.
 * - `read-only-anonymous`: anyone connects and subscribes, but only the pipeline (in-process)
 *   and authenticated clients may publish under the protected prefixes (/sensor/, /device/).
 * - `authenticated`: a client must log in to connect at all.
 */
export type AccessMode = 'open' | 'read-only-anonymous' | 'authenticated';
export const ACCESS_MODES: readonly AccessMode[] = ['open', 'read-only-anonymous', 'authenticated'];

export interface AccessPolicyOptions {
  mode: AccessMode;
  username?: string;
  password?: string;
  protectedPrefixes?: string[];
}

export const PROTECTED_PREFIXES = ['/sensor/', '/device/'];

export type LoginResult = 'authenticated' | 'anonymous' | 'bad-credentials' | 'not-authorized';

export class AccessPolicy {
  private readonly userDigest?: Buffer;
  private readonly passDigest?: Buffer;
  private readonly prefixes: string[];

  constructor(readonly opts: AccessPolicyOptions) {
    if (opts.mode !== 'open' && !opts.username) {
      // read-only without any user still works (only the pipeline publishes); authenticated does not.
      if (opts.mode === 'authenticated') throw new Error('access mode "authenticated" needs a username and password');
    }
    if (opts.username) {
      this.userDigest = digest(opts.username);
      this.passDigest = digest(opts.password ?? '');
    }
    this.prefixes = opts.protectedPrefixes ?? PROTECTED_PREFIXES;
  }

  /** Decide a CONNECT. Wrong credentials are refused in every mode. */
  login(username: string | undefined, password: Buffer | undefined): LoginResult {
    if (username !== undefined) {
      if (!this.userDigest || !this.passDigest) return this.opts.mode === 'authenticated' ? 'bad-credentials' : 'anonymous';
      // Compare digests of equal length in constant time, so neither length nor content leaks.
      const okUser = timingSafeEqual(digest(username), this.userDigest);
      const okPass = timingSafeEqual(digest(password ?? Buffer.alloc(0)), this.passDigest);
      return okUser && okPass ? 'authenticated' : 'bad-credentials';
    }
    return this.opts.mode === 'authenticated' ? 'not-authorized' : 'anonymous';
  }

  /** May a client publish on this topic? In-process publishes never ask. */
  mayPublish(authenticated: boolean, topic: string): boolean {
    if (topic.startsWith('$SYS')) return false;
    if (this.opts.mode === 'read-only-anonymous' && !authenticated) {
      return !this.prefixes.some((p) => topic.startsWith(p));
    }
    return true;
  }
}

function digest(v: string | Buffer): Buffer {
  return createHash('sha256').update(v).digest();
}
