/**
 * A BridgeBackend in memory, for the bridge endpoint's tests: a device table, the blocks and
 * configs stored in arrival order, and the last block per sensor as the sync list. Tests can
 * hold storing back (backpressure) or make the next store fail (connection closed).
 */
import type { BridgeBackend, BridgeBlock, BridgeSyncEntry } from '../../core/server/bridge/backend';
import { BridgeRefused } from '../../core/server/bridge/refused';

export interface MemoryDevice {
  key: string;
  sensors: string[];
}

export class MemoryBridgeBackend implements BridgeBackend {
  readonly devices = new Map<string, MemoryDevice>();
  readonly blocks: Array<{ did: string; block: BridgeBlock }> = [];
  readonly configs: Array<{ did: string; kind: string; payload: Buffer }> = [];
  readonly calls = { authenticate: 0, syncList: 0, storeBlock: 0, storeConfig: 0 };
  /** set: every store waits for it (a slow database) */
  hold?: Promise<void>;
  /** set: the next store fails with it (a database away), then it is cleared */
  failNext?: Error;
  /** set: blocks it names a reason for are refused for good (BridgeRefused) */
  refuse?: (block: BridgeBlock) => string | undefined;
  /** set: registry lookups fail with it */
  registryDown?: Error;
  /** the most stores running at once */
  maxConcurrent = 0;
  private running = 0;

  addDevice(did: string, key: string, sensors: string[]): this {
    this.devices.set(did, { key, sensors });
    return this;
  }

  authenticate(did: string, key: string): Promise<boolean> {
    this.calls.authenticate++;
    if (this.registryDown) return Promise.reject(this.registryDown);
    return Promise.resolve(this.devices.get(did)?.key === key);
  }

  syncList(did: string): Promise<BridgeSyncEntry[]> {
    this.calls.syncList++;
    if (this.registryDown) return Promise.reject(this.registryDown);
    const sensors = this.devices.get(did)?.sensors ?? [];
    return Promise.resolve(
      sensors.map((sid) => {
        const last = this.blocks.findLast((b) => b.block.sid === sid)?.block;
        return last ? { sid, rid: last.rid, lvl: last.lvl, bid: last.bid } : { sid, rid: 0, lvl: 0, bid: 0 };
      }),
    );
  }

  async storeBlock(did: string, block: BridgeBlock): Promise<void> {
    this.calls.storeBlock++;
    await this.store(() => {
      if (!this.devices.get(did)?.sensors.includes(block.sid)) throw new BridgeRefused(`not ${did}'s sensor`);
      const why = this.refuse?.(block);
      if (why) throw new BridgeRefused(why);
      this.blocks.push({ did, block: { ...block, data: Buffer.from(block.data) } });
    });
  }

  async storeConfig(did: string, kind: 'sensor' | 'kube' | 'flx', payload: Buffer): Promise<void> {
    this.calls.storeConfig++;
    await this.store(() => void this.configs.push({ did, kind, payload: Buffer.from(payload) }));
  }

  private async store(put: () => void): Promise<void> {
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    try {
      if (this.hold) await this.hold;
      const fail = this.failNext;
      if (fail) {
        this.failNext = undefined;
        throw fail;
      }
      put();
    } finally {
      this.running--;
    }
  }

  blocksOf(sid: string): BridgeBlock[] {
    return this.blocks.filter((b) => b.block.sid === sid).map((b) => b.block);
  }
}
