/**
 * The MQTT side of a Flukso-compatible test server (docs/protocols/upload.md#sync-over-the-bridge):
 * aedes behind a TLS listener on 127.0.0.1.
 *
 * - Login: user name = device id, password = device key; anything else gets CONNACK 4.
 * - MQTT 3.1 only when asked (as the Flukso server): other versions get CONNACK 1.
 * - Right after CONNACK, and on every `/device/<did>/tmpo/sync`, it pushes
 *   `/d/device/<did>/tmpo/sync` to that client, unsubscribed: per active sensor the last block
 *   it stored, or rid 0 / lvl 0 / bid 0.
 * - TMPO blocks are checked as flmqtt_tmpo checks them, stored byte for byte, and a stored
 *   parent removes its children (`clean`).
 * - Everything received is recorded; the listener can be taken down and brought back.
 */
import { Aedes, type Client } from 'aedes';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { tmpoSyncReplyTopic, tmpoSyncTopic, parseTmpoBlockTopic } from '../../core/mqtt/topics';
import { childLevel, childIds, type BlockKey } from '../../core/tmpo/ids';
import { blockProblem } from '../../core/server/bridge/routes';

export interface BridgeDevice {
  id: string;
  key: string;
  sensors: string[];
}

export interface BridgeBrokerOptions {
  /** PEM certificate chain and key the listener presents */
  cert: string | Buffer;
  key: string | Buffer;
  devices: (id: string) => BridgeDevice | undefined;
  /** the Flukso server's rule: MQTT 3.1 (MQIsdp, version 3) only */
  requireMqtt31?: boolean;
  /** push the sync reply right after CONNACK, as the Flukso server does */
  syncOnConnect?: boolean;
}

export interface ConnectRecord {
  clientId: string;
  protocolId: string;
  protocolVersion: number;
  username?: string;
  keepalive: number;
  clean: boolean;
  /** 0: accepted; else the CONNACK return code */
  returnCode: number;
}

export interface ReceivedRecord {
  deviceId: string;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export interface StoredBlock {
  key: BlockKey;
  bytes: Buffer;
  seq: number;
}

const keyText = (k: BlockKey) => `${k.sid}/${k.rid}/${k.lvl}/${k.bid}`;

export class FluksoBridgeBroker {
  private readonly sockets = new Set<TLSSocket>();
  private readonly deviceOf = new WeakMap<Client, string>();
  private readonly connectOf = new WeakMap<Client, ConnectRecord>();
  private readonly clients = new Set<Client>();
  private seq = 0;
  private isUp = true;
  port = 0;
  readonly connects: ConnectRecord[] = [];
  readonly received: ReceivedRecord[] = [];
  readonly replies: Array<{
    deviceId: string;
    entries: Array<{ sid: string; rid: number; lvl: number; bid: number }>;
  }> = [];
  readonly refused: Array<{ topic: string; reason: string }> = [];
  /** the newest config per topic (JSON) */
  readonly configs = new Map<string, unknown>();
  /** every block held, by sid/rid/lvl/bid */
  readonly blocks = new Map<string, StoredBlock>();
  /** how often each block topic arrived */
  readonly arrivals = new Map<string, number>();

  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    private readonly opts: BridgeBrokerOptions,
  ) {}

  static async start(opts: BridgeBrokerOptions, port = 0): Promise<FluksoBridgeBroker> {
    const aedes = await Aedes.createBroker({ heartbeatInterval: 60_000 });
    const server = createServer({ cert: opts.cert, key: opts.key });
    const b = new FluksoBridgeBroker(aedes, server, opts);
    b.wire();
    await b.listen(port);
    return b;
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.port}`;
  }

  private wire(): void {
    const a = this.aedes;
    a.preConnect = (client, packet, done) => {
      const record: ConnectRecord = {
        clientId: packet.clientId,
        protocolId: String(packet.protocolId),
        protocolVersion: packet.protocolVersion ?? 0,
        ...(packet.username !== undefined ? { username: packet.username } : {}),
        keepalive: packet.keepalive ?? 0,
        clean: packet.clean !== false,
        returnCode: 0,
      };
      this.connects.push(record);
      this.connectOf.set(client, record);
      if (this.opts.requireMqtt31 && (packet.protocolVersion !== 3 || packet.protocolId !== 'MQIsdp')) {
        // aedes answers an out-of-range version with CONNACK 1 ("unacceptable protocol
        // version"), which is what the Flukso server sends every client that is not 3.1.
        record.returnCode = 1;
        (packet as { protocolVersion: number }).protocolVersion = 0;
      }
      done(null, true);
    };
    a.authenticate = (client, username, password, done) => {
      const d = username === undefined ? undefined : this.opts.devices(username);
      const ok = d !== undefined && password !== undefined && sameBytes(password, Buffer.from(d.key));
      if (!ok) {
        const record = this.connectOf.get(client);
        if (record) record.returnCode = 4;
        return done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }), false);
      }
      this.deviceOf.set(client, d.id);
      done(null, true);
    };
    // A mosquitto bridge announces itself on $SYS/broker/connection/<id>/state (its will and a
    // retained "1" after CONNACK); aedes refuses $SYS publishes and drops the client, the Flukso
    // server just logs the topic as unrecognised. So every publish is let through to `take`.
    a.authorizePublish = (_client, _packet, done) => done(null);
    a.on('clientReady', (client) => {
      this.clients.add(client);
      if (this.opts.syncOnConnect !== false) this.reply(client);
    });
    a.on('clientDisconnect', (client) => this.clients.delete(client));
    a.on('publish', (packet, client) => {
      if (!client) return;
      const deviceId = this.deviceOf.get(client);
      if (!deviceId) return;
      const payload = Buffer.from(packet.payload as Buffer);
      this.received.push({ deviceId, topic: packet.topic, payload, qos: packet.qos, retain: packet.retain });
      this.take(client, deviceId, packet.topic, payload);
    });
    this.server.on('secureConnection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      this.aedes.handle(socket);
    });
    // Handshakes the client gives up on (a CA it does not trust) are the client's business.
    this.server.on('tlsClientError', () => undefined);
  }

  private take(client: Client, deviceId: string, topic: string, payload: Buffer): void {
    if (topic === tmpoSyncTopic(deviceId)) return this.reply(client);
    if (topic.startsWith(`/device/${deviceId}/config/`)) {
      try {
        this.configs.set(topic, JSON.parse(payload.toString('utf8')));
      } catch {
        this.refused.push({ topic, reason: 'config is not JSON' });
      }
      return;
    }
    const t = parseTmpoBlockTopic(topic);
    if (!t) return void this.refused.push({ topic, reason: 'unrecognised topic' });
    const why = this.blockProblem(deviceId, t, payload);
    if (why) return void this.refused.push({ topic, reason: why });
    const key = { sid: t.sid, rid: t.rid, lvl: t.lvl, bid: t.bid } as BlockKey;
    this.arrivals.set(keyText(key), (this.arrivals.get(keyText(key)) ?? 0) + 1);
    this.store(key, payload);
  }

  /** The endpoint's block check (core/server/bridge/routes.ts), and the sensor must be the device's. */
  private blockProblem(deviceId: string, t: { sid: string; lvl: number; bid: number; ext: string }, payload: Buffer) {
    if (!this.opts.devices(deviceId)?.sensors.includes(t.sid)) return `sensor ${t.sid} is not the device's`;
    return blockProblem(t, payload);
  }

  /** Store a block as the server does: it becomes the newest, and removes its children. */
  store(key: BlockKey, bytes: Buffer): void {
    this.blocks.set(keyText(key), { key, bytes: Buffer.from(bytes), seq: ++this.seq });
    this.clean(key);
  }

  private clean(key: BlockKey): void {
    const down = childLevel(key.lvl);
    if (down === undefined) return;
    for (const bid of childIds(key.lvl, key.bid)) {
      const child = { ...key, lvl: down, bid };
      this.blocks.delete(keyText(child));
      this.clean(child);
    }
  }

  /** tmpo_last: per active sensor, the block stored last, or rid 0 / lvl 0 / bid 0. */
  lastBlocks(deviceId: string): Array<{ sid: string; rid: number; lvl: number; bid: number }> {
    const d = this.opts.devices(deviceId);
    if (!d) return [];
    return d.sensors.map((sid) => {
      let last: StoredBlock | undefined;
      for (const b of this.blocks.values()) if (b.key.sid === sid && (!last || b.seq > last.seq)) last = b;
      return last ? { sid, rid: last.key.rid, lvl: last.key.lvl, bid: last.key.bid } : { sid, rid: 0, lvl: 0, bid: 0 };
    });
  }

  private reply(client: Client): void {
    const deviceId = this.deviceOf.get(client);
    if (!deviceId) return;
    const entries = this.lastBlocks(deviceId);
    this.replies.push({ deviceId, entries });
    client.publish(
      {
        cmd: 'publish',
        topic: tmpoSyncReplyTopic(deviceId),
        payload: Buffer.from(JSON.stringify(entries)),
        qos: 0,
        retain: false,
        dup: false,
      } as never,
      () => undefined,
    );
  }

  /** Blocks held for a sensor, as `sid/rid/lvl/bid` -> bytes. */
  held(sid?: string): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [k, b] of this.blocks) if (sid === undefined || b.key.sid === sid) out.set(k, b.bytes);
    return out;
  }

  /** Clients connected now. */
  get connected(): number {
    return this.clients.size;
  }

  /** Down: the listener closes and every connection is cut; what was stored stays. */
  async down(): Promise<void> {
    if (!this.isUp) return;
    this.isUp = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Back up on the same port. */
  async up(): Promise<void> {
    if (this.isUp) return;
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.isUp = true;
        resolve();
      });
    });
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
