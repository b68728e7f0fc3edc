import type { AedesPublishPacket } from 'aedes';
import { wirePayload } from '../mqtt/payload';
import { systemClock, type Clock } from '../util/clock';
import { EmbeddedBroker, BrokerClosedError, type BrokerOptions, type Refusal } from './embedded-broker';
import { redisBackend } from './cluster';
import { registerHealth } from '../util/health';
import { phrasedView, type Phrase, type StatusView } from '../util/status-view';

/** A refusal of one kind is reported at most this often; the status counts them all. */
export const WARN_EVERY_MS = 60_000;

/** What a client published on one of the output filters. */
export interface ClientMessage {
  topic: string;
  /** text when it is UTF-8, else the bytes */
  payload: string | Buffer;
  retain: boolean;
  qos: number;
  clientId: string;
}

export interface PipelineBrokerOptions extends BrokerOptions {
  /** what clients publish on these filters comes out on `onOut` */
  outFilters: string[];
  clock?: Clock;
  /** client count or refusals changed */
  onStatus: () => void;
  /** a refusal worth a log line: the first of its reason each WARN_EVERY_MS, with the count so far */
  onRefusal: (r: Refusal, count: number) => void;
  /** a listener failed after start (once; the broker keeps what still works) */
  onListenerError: (err: Error) => void;
  onOut: (m: ClientMessage) => void;
  /** run as one of several instances sharing this Redis (core/broker/cluster.ts); blank: alone */
  redisUrl?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The embedded broker as the pipeline uses it: readings published retained (unless asked
 * otherwise), a status line, refusals reported without flooding, and what clients publish on
 * the output filters handed back (Home Assistant's birth message).
 */
export class PipelineBroker {
  private listenerFailed = false;
  private droppedOnClose = 0;
  private readonly lastWarned = new Map<string, number>();
  private readonly clock: Clock;
  private readonly unregisterHealth: () => void;

  private constructor(
    private readonly b: EmbeddedBroker,
    private readonly o: PipelineBrokerOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    b.on('clients', () => this.showStatus());
    b.on('refused', (r: Refusal) => this.refused(r));
    b.on('listenerError', (err: Error) => {
      if (this.listenerFailed) return;
      this.listenerFailed = true;
      o.onListenerError(err);
    });
    // Through the emitter rather than aedes' 'publish' event, which fires only on the instance
    // the client is connected to: in a cluster, HA's birth message reaches every instance.
    for (const filter of o.outFilters) {
      b.aedes.subscribe(
        filter,
        (packet: AedesPublishPacket & { clientId?: string }, cb: () => void) => {
          if (packet.clientId !== undefined) o.onOut(clientMessage(packet, packet.clientId));
          cb();
        },
        () => {},
      );
    }
    this.unregisterHealth = registerHealth({
      name: 'broker',
      ok: () => b.healthy(),
      detail: () => (b.backendLabel ? `clustered, ${b.healthy() ? 'store reachable' : 'store unreachable'}` : 'alone'),
    });
  }

  /** Starts listening; undefined (and closed again) when `cancelled()` by then. */
  static async start(o: PipelineBrokerOptions, cancelled: () => boolean): Promise<PipelineBroker | undefined> {
    const {
      outFilters: _f,
      clock: _c,
      onStatus: _s,
      onRefusal: _r,
      onListenerError: _l,
      onOut: _o,
      redisUrl,
      ...opts
    } = o;
    const backend = redisUrl ? await redisBackend(redisUrl) : undefined;
    if (backend && cancelled()) {
      await backend.close(2000);
      return undefined;
    }
    const b = await EmbeddedBroker.start({ ...opts, backend });
    if (cancelled()) {
      await b.close(2000);
      return undefined;
    }
    return new PipelineBroker(b, o);
  }

  /** Where it listens, for the log. */
  get label(): string {
    const shared = this.b.backendLabel ? ` (cluster on ${this.b.backendLabel})` : '';
    return `${this.o.host}:${this.b.tcpPort}${this.b.wsPort !== null ? ` ws:${this.b.wsPort}` : ''}${shared}`;
  }

  /** The status line; undefined once a listener failed (its error stays shown). */
  status(): string | undefined {
    return this.statusView()?.text;
  }

  /** The status line as phrases of flm-broker's catalog, to be said in the runtime's language. */
  statusView(): StatusView | undefined {
    if (this.listenerFailed) return undefined;
    const n = this.b.clients;
    const refused = this.b.refused;
    const parts: Phrase[] = [
      n === 1
        ? { key: 'client', en: '1 client', params: { count: n } }
        : { key: 'clients', en: `${n} clients`, params: { count: n } },
      { key: 'port', en: `:${this.b.tcpPort}`, params: { port: this.b.tcpPort } },
    ];
    if (this.b.backendLabel)
      parts.push(this.b.healthy() ? { key: 'redis', en: 'Redis' } : { key: 'redisDown', en: 'Redis unreachable' });
    if (refused) parts.push({ key: 'refused', en: `${refused} refused`, params: { count: refused } });
    return phrasedView('ok', parts);
  }

  /**
   * Publishes one message of the pipeline, retained unless `retain` is false; rejects with why a
   * message cannot be published. Messages still queued when the broker stops are counted, not
   * failed: they are not the sender's fault.
   */
  async publish(topic: string, payload: unknown, opts: { retain?: boolean; qos?: unknown }): Promise<void> {
    if (!topic) throw new Error('msg.topic is required: the MQTT topic to publish on');
    if (/[+#]/.test(topic)) throw new Error(`cannot publish on a wildcard topic: ${topic}`);
    let wire: string | Buffer;
    try {
      wire = wirePayload(topic, payload);
    } catch (err) {
      throw new Error(`bad payload for ${topic}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      await this.b.publish(topic, wire, { retain: opts.retain !== false, qos: opts.qos === 1 ? 1 : 0 });
    } catch (err) {
      if (err instanceof BrokerClosedError) {
        this.droppedOnClose++;
        return;
      }
      throw err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Closes within `boundMs`; resolves with how many messages were not published because the broker was stopping. */
  async close(boundMs: number): Promise<number> {
    this.unregisterHealth();
    await this.b.close(boundMs);
    return this.droppedOnClose;
  }

  private showStatus(): void {
    if (!this.listenerFailed) this.o.onStatus();
  }

  private refused(r: Refusal): void {
    this.showStatus();
    const now = this.clock.now();
    if (now - (this.lastWarned.get(r.reason) ?? -Infinity) < WARN_EVERY_MS) return;
    this.lastWarned.set(r.reason, now);
    this.o.onRefusal(r, this.b.refusals.get(r.reason) ?? 0);
  }
}

function clientMessage(packet: AedesPublishPacket, clientId: string): ClientMessage {
  const bytes = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
  let payload: string | Buffer = bytes;
  try {
    payload = utf8.decode(bytes);
  } catch {
    // binary: the Buffer as it came
  }
  return { topic: packet.topic, payload, retain: packet.retain, qos: packet.qos, clientId };
}
