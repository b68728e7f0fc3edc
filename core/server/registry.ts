import { promises as fs } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../util/atomic-file';
import { validateFlmSensorConfig } from '../config/wire';
import { isSid } from '../tmpo/ids';

/**
 * Who may send and read what (docs/protocols/server.md#accounts): users with a master token,
 * devices (id, key, owner), sensors (id, device, enabled, recycle id, the config the device last
 * synced, a token of their own) and shares of a sensor with other users. A user's master token
 * reads the user's own sensors and those shared with the user; a sensor token reads that sensor.
 *
 * The file registry keeps all of it in `<data>/server/registry.json` (mode 0600, replaced
 * atomically). The `flm server` command edits the file, also while a server runs: the server
 * re-reads it when it changed, at most once a second, when it meets a name it does not know.
 */

export interface UserRecord {
  name: string;
  token: string;
}

export interface DeviceRecord {
  did: string;
  key: string;
  owner: string;
}

export interface SensorRecord {
  sid: string;
  did: string;
  enabled: boolean;
  rid: number;
  token: string;
  /** the sensor's section of the device's last `/device/<did>/config/sensor`, or what registration gave */
  config: Record<string, unknown>;
}

export type ReadAccess = 'ok' | 'forbidden' | 'unknown-token';

/** What the server needs of a registry; a shared database can implement it too. */
export interface Registry {
  device(did: string): DeviceRecord | undefined;
  sensor(sid: string): SensorRecord | undefined;
  sensorsOf(did: string): SensorRecord[];
  /** Whether `token` may read sensor `sid`. */
  access(sid: string, token: string): ReadAccess;
  /** A `/device/<did>/config/sensor` document: updates the device's sensors, adds unclaimed ones. */
  applySensorConfig(did: string, config: unknown): Promise<{ updated: string[]; refused: string[] }>;
  /** Look for changes made by someone else (the CLI) if it is time to. */
  refresh(): Promise<void>;
  /** Everything (tokens included), for `flm server ls` and the server dashboard's sensor list. */
  snapshot(): RegistrySnapshot;
}

/** What `flm server` edits: the file registry, or the shared database's (core/server/db/). */
export interface RegistryAdmin extends Registry {
  /** Add a user; returns the master token. */
  addUser(name: string): Promise<string>;
  addDevice(did: string, key: string, owner: string, sids: string[]): Promise<SensorRecord[]>;
  share(sid: string, user: string): Promise<void>;
  close(): Promise<void>;
}

export type RegistrySnapshot = RegistryFile;

interface RegistryFile {
  version: 1;
  users: Record<string, { token: string }>;
  devices: Record<string, { key: string; owner: string }>;
  sensors: Record<
    string,
    { did: string; enabled: boolean; rid: number; token: string; config: Record<string, unknown> }
  >;
  /** sid -> user names */
  shares: Record<string, string[]>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const USER = /^[A-Za-z0-9._-]{1,64}$/;
const empty = (): RegistryFile => ({ version: 1, users: {}, devices: {}, sensors: {}, shares: {} });

/**
 * The reads both registries answer from their copy of the whole registry (the file's content, or
 * the database's tables loaded after each change), so who may read what is decided in one place.
 */
export abstract class RegistryReads {
  protected constructor(protected data: RegistrySnapshot) {}

  device(did: string): DeviceRecord | undefined {
    const d = Object.hasOwn(this.data.devices, did) ? this.data.devices[did] : undefined;
    return d && { did, key: d.key, owner: d.owner };
  }

  sensor(sid: string): SensorRecord | undefined {
    const s = Object.hasOwn(this.data.sensors, sid) ? this.data.sensors[sid] : undefined;
    return s && { sid, ...s };
  }

  sensorsOf(did: string): SensorRecord[] {
    return Object.entries(this.data.sensors)
      .filter(([, s]) => s.did === did)
      .map(([sid, s]) => ({ sid, ...s }))
      .sort((a, b) => (a.sid < b.sid ? -1 : 1));
  }

  access(sid: string, token: string): ReadAccess {
    const s = this.sensor(sid);
    if (s && same(s.token, token)) return 'ok';
    const user = Object.entries(this.data.users).find(([, u]) => same(u.token, token))?.[0];
    if (user !== undefined && s) {
      if (this.device(s.did)?.owner === user) return 'ok';
      if ((this.data.shares[sid] ?? []).includes(user)) return 'ok';
      return 'forbidden';
    }
    if (user !== undefined) return 'forbidden';
    return Object.values(this.data.sensors).some((o) => same(o.token, token)) ? 'forbidden' : 'unknown-token';
  }

  snapshot(): RegistrySnapshot {
    return structuredClone(this.data);
  }
}

const newToken = (): string => randomBytes(16).toString('hex');

export class FileRegistry extends RegistryReads implements RegistryAdmin {
  private mtimeMs = -1;
  private lastCheck = 0;
  private readonly path: string;

  private constructor(dir: string) {
    super(empty());
    this.path = join(dir, 'registry.json');
  }

  static async open(dir: string): Promise<FileRegistry> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const r = new FileRegistry(dir);
    await r.load();
    return r;
  }

  private async load(): Promise<void> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) {
      this.data = empty();
      this.mtimeMs = 0;
      return;
    }
    const parsed = JSON.parse(text) as RegistryFile;
    if (parsed.version !== 1) throw new Error(`${this.path}: unknown registry version ${String(parsed.version)}`);
    this.data = { ...empty(), ...parsed };
    this.mtimeMs = (await fs.stat(this.path)).mtimeMs;
  }

  async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCheck < 1000) return;
    this.lastCheck = now;
    const mtime = await fs.stat(this.path).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (mtime !== this.mtimeMs) await this.load();
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(this.data, null, 1) + '\n', 0o600);
    this.mtimeMs = (await fs.stat(this.path)).mtimeMs;
  }

  /** Edit under a fresh read, so a server and the CLI do not undo each other's changes. */
  private async edit<T>(fn: (d: RegistryFile) => T): Promise<T> {
    await this.load();
    const out = fn(this.data);
    await this.save();
    return out;
  }

  async applySensorConfig(did: string, config: unknown): Promise<{ updated: string[]; refused: string[] }> {
    if (!validateFlmSensorConfig(config)) throw new Error('not a /device/<did>/config/sensor document');
    const updated: string[] = [];
    const refused: string[] = [];
    await this.edit((d) => {
      if (!Object.hasOwn(d.devices, did)) throw new Error(`unknown device ${did}`);
      for (const [section, params] of Object.entries(config)) {
        if (!/^\d+$/.test(section)) continue;
        const sid = typeof params.id === 'string' ? params.id.toLowerCase() : undefined;
        if (!sid || !isSid(sid)) continue;
        const had = Object.hasOwn(d.sensors, sid) ? d.sensors[sid] : undefined;
        if (had && had.did !== did) {
          refused.push(sid);
          continue;
        }
        const { enable, ...rest } = params;
        d.sensors[sid] = {
          did,
          // A table without `enable` (not seen from an FLM, but cheap to allow) keeps what was there.
          enabled: enable === undefined ? (had?.enabled ?? true) : enable === 1 || enable === '1' || enable === true,
          rid: typeof params.rid === 'number' ? params.rid : (had?.rid ?? 0),
          token: had?.token ?? newToken(),
          config: rest,
        };
        updated.push(sid);
      }
    });
    return { updated, refused };
  }

  // --- what the CLI does ---------------------------------------------------------------------

  /** Add a user; returns the master token. */
  addUser(name: string): Promise<string> {
    if (!USER.test(name)) throw new Error('a user name is 1 to 64 letters, digits, ".", "_" or "-"');
    return this.edit((d) => {
      if (Object.hasOwn(d.users, name)) throw new Error(`user ${name} exists already`);
      const token = newToken();
      d.users[name] = { token };
      return token;
    });
  }

  addDevice(did: string, key: string, owner: string, sids: string[]): Promise<SensorRecord[]> {
    if (!HEX32.test(did)) throw new Error('a device id is 32 lowercase hex digits');
    if (!HEX32.test(key)) throw new Error('a device key is 32 lowercase hex digits');
    for (const sid of sids) if (!HEX32.test(sid)) throw new Error(`sensor id ${sid}: 32 lowercase hex digits`);
    return this.edit((d) => {
      if (!Object.hasOwn(d.users, owner)) throw new Error(`no user ${owner}; add it first (flm server user add)`);
      const prev = Object.hasOwn(d.devices, did) ? d.devices[did] : undefined;
      if (prev && prev.owner !== owner) throw new Error(`device ${did} belongs to ${prev.owner}`);
      for (const sid of sids) {
        const s = Object.hasOwn(d.sensors, sid) ? d.sensors[sid] : undefined;
        if (s && s.did !== did) throw new Error(`sensor ${sid} belongs to device ${s.did}`);
      }
      d.devices[did] = { key, owner };
      for (const sid of sids) {
        if (!Object.hasOwn(d.sensors, sid))
          d.sensors[sid] = { did, enabled: true, rid: 0, token: newToken(), config: { id: sid } };
      }
      return sids.map((sid) => ({ sid, ...d.sensors[sid]! }));
    });
  }

  share(sid: string, user: string): Promise<void> {
    return this.edit((d) => {
      if (!Object.hasOwn(d.sensors, sid)) throw new Error(`no sensor ${sid}`);
      if (!Object.hasOwn(d.users, user)) throw new Error(`no user ${user}`);
      const list = (d.shares[sid] ??= []);
      if (!list.includes(user)) list.push(user);
    });
  }

  /** Everything, for `flm server ls` (tokens included: the file is the owner's). */
  /** Nothing to let go: every edit is written when it is made. */
  async close(): Promise<void> {}
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
