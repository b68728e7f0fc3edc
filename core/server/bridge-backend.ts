import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { decodeBlock, blockToSeries } from '../tmpo/codec';
import { isBlockId, isLevel } from '../tmpo/ids';
import type { BridgeBackend, BridgeBlock, BridgeSyncEntry, LiveSource } from './bridge/backend';
import { BridgeRefused } from './bridge/refused';
import type { Registry } from './registry';
import type { ReadingStore } from './store/types';

/** fls `flmqtt_tmpo:check`: a block's payload is at most 16 MiB. */
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/**
 * The MQTT bridge endpoint's backend on the registry and the reading store
 * (docs/protocols/server.md#bridge): logins are device id and key, the sync reply names per
 * enabled sensor the last block the device sent, a block's samples become readings of its sensor
 * (each (sid, rid, ts) once, whatever else brought them), and the sensor table updates the
 * registry. Blocks and tables of a sensor that is not the device's are refused.
 */
export class StoreBridgeBackend implements BridgeBackend {
  readonly counters = { blocks: 0, refusedBlocks: 0, configs: 0, logins: 0, refusedLogins: 0 };

  constructor(
    private readonly registry: Registry,
    private readonly store: ReadingStore,
    /** where the kube and flx tables go, `<data>/server/device-config` */
    private readonly configDir: string,
    /** the readings just stored, for the endpoint to publish live */
    readonly live?: LiveSource,
  ) {}

  /** A user's master token: the sensors the user owns and those shared with them (docs/protocols/server.md#accounts). */
  async userSensors(user: string, token: string): Promise<Set<string> | undefined> {
    await this.registry.refresh();
    const snap = this.registry.snapshot();
    const u = Object.hasOwn(snap.users, user) ? snap.users[user] : undefined;
    if (!u || u.token.length !== token.length || !timingSafeEqual(Buffer.from(u.token), Buffer.from(token)))
      return undefined;
    const sids = new Set<string>();
    for (const [sid, s] of Object.entries(snap.sensors))
      if (snap.devices[s.did]?.owner === user || (snap.shares[sid] ?? []).includes(user)) sids.add(sid);
    return sids;
  }

  async authenticate(did: string, key: string): Promise<boolean> {
    await this.registry.refresh();
    const d = this.registry.device(did);
    const ok = d !== undefined && d.key.length === key.length && timingSafeEqual(Buffer.from(d.key), Buffer.from(key));
    if (ok) this.counters.logins++;
    else this.counters.refusedLogins++;
    return ok;
  }

  async syncList(did: string): Promise<BridgeSyncEntry[]> {
    await this.registry.refresh();
    const out: BridgeSyncEntry[] = [];
    for (const s of this.registry.sensorsOf(did)) {
      if (!s.enabled) continue;
      out.push((await this.store.lastBlock(s.sid)) ?? { sid: s.sid, rid: 0, lvl: 0, bid: 0 });
    }
    return out;
  }

  async isSensorOf(did: string, sid: string): Promise<boolean> {
    await this.registry.refresh();
    const s = this.registry.sensor(sid);
    return s !== undefined && s.did === did && s.enabled;
  }

  blockRefused(): void {
    this.counters.refusedBlocks++;
  }

  async storeBlock(did: string, block: BridgeBlock): Promise<void> {
    // BridgeRefused: the endpoint counts it and drops the block but keeps the connection; a plain
    // error would close it, and the device would send the same block again after every sync.
    const refuse = (why: string): never => {
      this.counters.refusedBlocks++;
      throw new BridgeRefused(`block ${block.sid}/${block.rid}/${block.lvl}/${block.bid}: ${why}`);
    };
    await this.registry.refresh();
    const sensor = this.registry.sensor(block.sid);
    if (!sensor || sensor.did !== did) refuse(`sensor is not one of device ${did}`);
    if (block.ext !== 'gz') refuse('ext is not gz');
    if (!isLevel(block.lvl) || !isBlockId(block.lvl, block.bid)) refuse('bid is not a multiple of 2^lvl');
    if (!Number.isSafeInteger(block.rid) || block.rid < 0) refuse('bad rid');
    if (block.data.length > MAX_BLOCK_BYTES) refuse('larger than 16 MiB');
    let series;
    try {
      series = blockToSeries(decodeBlock(block.data));
    } catch (err) {
      return refuse((err as Error).message);
    }
    const times: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < series.times.length; i++) {
      if (Number.isSafeInteger(series.times[i]) && Number.isFinite(series.values[i])) {
        times.push(series.times[i]!);
        values.push(series.values[i]!);
      }
    }
    await this.store.addReadings(block.sid, block.rid, { times, values }, { lvl: block.lvl, bid: block.bid });
    this.counters.blocks++;
  }

  async storeConfig(did: string, kind: 'sensor' | 'kube' | 'flx', payload: Buffer): Promise<void> {
    const doc: unknown = JSON.parse(payload.toString('utf8'));
    if (kind === 'sensor') await this.registry.applySensorConfig(did, doc);
    else await writeFileAtomic(join(this.configDir, `${did}.${kind}.json`), JSON.stringify(doc), 0o600);
    this.counters.configs++;
  }
}
