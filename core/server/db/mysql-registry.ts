import { randomBytes } from 'node:crypto';
import { validateFlmSensorConfig } from '../../config/wire';
import { isSid } from '../../tmpo/ids';
import { RegistryReads, type RegistryAdmin, type RegistrySnapshot, type SensorRecord } from '../registry';
import type { ServerDb } from './pool';

type Query = <R = unknown>(sql: string, values?: unknown) => Promise<R>;

const HEX32 = /^[0-9a-f]{32}$/;
const USER = /^[A-Za-z0-9._-]{1,64}$/;
const empty = (): RegistrySnapshot => ({ version: 1, users: {}, devices: {}, sensors: {}, shares: {} });
const newToken = (): string => randomBytes(16).toString('hex');
const BUMP = `UPDATE flm_srv_meta SET value = value + 1 WHERE name = 'registry_version'`;

/**
 * The registry in the shared database (docs/protocols/server.md#shared-database), with the same
 * rules as the file registry (core/server/registry.ts). The server answers from a copy in memory
 * (a few hundred bytes per device), as the file registry does: every change, by any instance or
 * by `flm server` with `--db`, raises `registry_version` in the same transaction, and `refresh()`
 * reads that one number at most once a second and the tables only when it moved. While the
 * database is away the copy keeps serving logins and reads; writes fail.
 */
export class MysqlRegistry extends RegistryReads implements RegistryAdmin {
  private version = -1;
  private lastCheck = 0;
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly db: ServerDb,
    private readonly ownsDb: boolean,
  ) {
    super(empty());
  }

  /**
   * An empty copy that `reload()` fills (or `refresh()` once the database answers);
   * `ownsDb`: `close()` ends the pool (the CLI).
   */
  static unloaded(db: ServerDb, ownsDb = false): MysqlRegistry {
    return new MysqlRegistry(db, ownsDb);
  }

  /** Read every table into the copy, at one moment of the database. */
  async reload(): Promise<void> {
    const next = empty();
    let version = 0;
    await this.db.transaction(async (q) => {
      const v = await q<Array<{ value: number }>>(
        `SELECT value FROM flm_srv_meta WHERE name = 'registry_version' LOCK IN SHARE MODE`,
      );
      version = Number(v[0]?.value ?? 0);
      for (const u of await q<Array<{ name: string; token: string }>>('SELECT name, token FROM flm_srv_users'))
        next.users[u.name] = { token: u.token };
      for (const d of await q<Array<{ did: string; dkey: string; owner: string }>>(
        'SELECT did, dkey, owner FROM flm_srv_devices',
      ))
        next.devices[d.did] = { key: d.dkey, owner: d.owner };
      for (const s of await q<
        Array<{ sid: string; did: string; enabled: number; rid: number; token: string; config: string }>
      >('SELECT sid, did, enabled, rid, token, config FROM flm_srv_sensors'))
        next.sensors[s.sid] = {
          did: s.did,
          enabled: Boolean(s.enabled),
          rid: Number(s.rid),
          token: s.token,
          config: JSON.parse(s.config) as Record<string, unknown>,
        };
      for (const sh of await q<Array<{ sid: string; user: string }>>(
        'SELECT sid, user FROM flm_srv_shares ORDER BY sid, user',
      ))
        (next.shares[sh.sid] ??= []).push(sh.user);
    });
    this.data = next;
    this.version = version;
  }

  refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCheck < 1000) return this.refreshing ?? Promise.resolve();
    this.lastCheck = now;
    this.refreshing ??= (async () => {
      try {
        const v = await this.db.query<Array<{ value: number }>>(
          `SELECT value FROM flm_srv_meta WHERE name = 'registry_version'`,
        );
        if (Number(v[0]?.value ?? 0) !== this.version) await this.reload();
      } catch {
        // The database is away: keep answering from the copy; the store refuses writes meanwhile.
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Change the tables in one transaction that also raises the version, then take the new state. */
  private async edit<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    const out = await this.db.transaction(async (q) => {
      const r = await fn(q);
      await q(BUMP);
      return r;
    });
    await this.reload();
    return out;
  }

  async applySensorConfig(did: string, config: unknown): Promise<{ updated: string[]; refused: string[] }> {
    if (!validateFlmSensorConfig(config)) throw new Error('not a /device/<did>/config/sensor document');
    const updated: string[] = [];
    const refused: string[] = [];
    await this.edit(async (q) => {
      const dev = await q<unknown[]>('SELECT did FROM flm_srv_devices WHERE did = ? FOR UPDATE', [did]);
      if (dev.length === 0) throw new Error(`unknown device ${did}`);
      for (const [section, params] of Object.entries(config)) {
        if (!/^\d+$/.test(section)) continue;
        const sid = typeof params.id === 'string' ? params.id.toLowerCase() : undefined;
        if (!sid || !isSid(sid)) continue;
        const had = (
          await q<Array<{ did: string; rid: number; token: string }>>(
            'SELECT did, rid, token FROM flm_srv_sensors WHERE sid = ? FOR UPDATE',
            [sid],
          )
        )[0];
        if (had && had.did !== did) {
          refused.push(sid);
          continue;
        }
        const { enable, ...rest } = params;
        const enabled = enable === 1 || enable === '1' || enable === true;
        const rid = typeof params.rid === 'number' ? params.rid : Number(had?.rid ?? 0);
        await q(
          `INSERT INTO flm_srv_sensors (sid, did, enabled, rid, token, config) VALUES (?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE enabled = VALUES(enabled), rid = VALUES(rid), config = VALUES(config)`,
          [sid, did, enabled ? 1 : 0, rid, had?.token ?? newToken(), JSON.stringify(rest)],
        );
        updated.push(sid);
      }
    });
    return { updated, refused };
  }

  // --- what the CLI does ---------------------------------------------------------------------

  async addUser(name: string): Promise<string> {
    if (!USER.test(name)) throw new Error('a user name is 1 to 64 letters, digits, ".", "_" or "-"');
    const token = newToken();
    await this.edit(async (q) => {
      const r = await q<{ affectedRows: number }>('INSERT IGNORE INTO flm_srv_users (name, token) VALUES (?, ?)', [
        name,
        token,
      ]);
      if (r.affectedRows === 0) throw new Error(`user ${name} exists already`);
    });
    return token;
  }

  async addDevice(did: string, key: string, owner: string, sids: string[]): Promise<SensorRecord[]> {
    if (!HEX32.test(did)) throw new Error('a device id is 32 lowercase hex digits');
    if (!HEX32.test(key)) throw new Error('a device key is 32 lowercase hex digits');
    for (const sid of sids) if (!HEX32.test(sid)) throw new Error(`sensor id ${sid}: 32 lowercase hex digits`);
    await this.edit(async (q) => {
      const u = await q<unknown[]>('SELECT name FROM flm_srv_users WHERE name = ? FOR UPDATE', [owner]);
      if (u.length === 0) throw new Error(`no user ${owner}; add it first (flm server user add)`);
      const prev = (
        await q<Array<{ owner: string }>>('SELECT owner FROM flm_srv_devices WHERE did = ? FOR UPDATE', [did])
      )[0];
      if (prev && prev.owner !== owner) throw new Error(`device ${did} belongs to ${prev.owner}`);
      const had = new Set<string>();
      for (const sid of sids) {
        const s = (
          await q<Array<{ did: string }>>('SELECT did FROM flm_srv_sensors WHERE sid = ? FOR UPDATE', [sid])
        )[0];
        if (s && s.did !== did) throw new Error(`sensor ${sid} belongs to device ${s.did}`);
        if (s) had.add(sid);
      }
      await q(
        'INSERT INTO flm_srv_devices (did, dkey, owner) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE dkey = VALUES(dkey)',
        [did, key, owner],
      );
      for (const sid of sids)
        if (!had.has(sid))
          await q('INSERT INTO flm_srv_sensors (sid, did, enabled, rid, token, config) VALUES (?, ?, 1, 0, ?, ?)', [
            sid,
            did,
            newToken(),
            JSON.stringify({ id: sid }),
          ]);
    });
    return sids.map((sid) => this.sensor(sid)!);
  }

  async share(sid: string, user: string): Promise<void> {
    await this.edit(async (q) => {
      if ((await q<unknown[]>('SELECT sid FROM flm_srv_sensors WHERE sid = ?', [sid])).length === 0)
        throw new Error(`no sensor ${sid}`);
      if ((await q<unknown[]>('SELECT name FROM flm_srv_users WHERE name = ?', [user])).length === 0)
        throw new Error(`no user ${user}`);
      await q('INSERT IGNORE INTO flm_srv_shares (sid, user) VALUES (?, ?)', [sid, user]);
    });
  }

  async close(): Promise<void> {
    if (this.ownsDb) await this.db.end();
  }
}
