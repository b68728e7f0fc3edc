import { timingSafeEqual } from 'node:crypto';
import type { Registry } from './registry';

/** A sensor as a server dashboard lists it (core/dashboard/fleet.ts has the same shape). */
export interface VisibleSensor {
  sid: string;
  did: string;
  owner: string;
  name: string;
  type: string;
}

/**
 * The sensors a reader may see (docs/protocols/server.md#dashboard): every one for the admin
 * (`token` undefined: the editor's login), else those of the devices the master token's user owns
 * plus those shared with the user; undefined when no user has that token. Sorted by owner, device
 * and name, so a page lists each device's sensors together.
 */
export async function visibleSensors(
  registry: Registry,
  token: string | undefined,
): Promise<VisibleSensor[] | undefined> {
  await registry.refresh();
  const snap = registry.snapshot();
  let user: string | undefined;
  if (token !== undefined) {
    user = Object.entries(snap.users).find(([, u]) => same(u.token, token))?.[0];
    if (user === undefined) return undefined;
  }
  const out: VisibleSensor[] = [];
  for (const [sid, s] of Object.entries(snap.sensors)) {
    const owner = snap.devices[s.did]?.owner ?? '';
    if (user !== undefined && owner !== user && !(snap.shares[sid] ?? []).includes(user)) continue;
    const name = s.config['function'];
    const type = s.config['type'];
    out.push({
      sid,
      did: s.did,
      owner,
      name: typeof name === 'string' || typeof name === 'number' ? String(name) : sid.slice(0, 8),
      type: typeof type === 'string' ? type : 'electricity',
    });
  }
  return out.sort((a, b) => cmp(a.owner, b.owner) || cmp(a.did, b.did) || cmp(a.name, b.name) || cmp(a.sid, b.sid));
}

/**
 * Whether a reader may read one sensor, without listing every sensor: the admin any sensor the
 * registry has; a token as the REST API decides (docs/protocols/server.md#accounts), so a
 * sensor's own token reads that sensor here too.
 */
export async function sensorAccess(
  registry: Registry,
  token: string | undefined,
  sid: string,
): Promise<200 | 401 | 403 | 404> {
  await registry.refresh();
  if (!registry.sensor(sid)) return token === undefined ? 404 : 403;
  if (token === undefined) return 200;
  const a = registry.access(sid, token);
  return a === 'ok' ? 200 : a === 'forbidden' ? 403 : 401;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
