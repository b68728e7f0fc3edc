import type { Sensor } from '../../config/schema';
import {
  parseSensorTopic,
  isDeviceConfigTopic,
  P1_AVAILABILITY_TOPIC,
  BOARD_AVAILABILITY_TOPIC,
} from '../../mqtt/topics';
import type { Clock } from '../../util/clock';
import type { StatusView } from '../../util/status-view';
import { haStatusView } from './ha-status';
import {
  ONLINE,
  OFFLINE,
  isBirthTopic,
  discoveryConfigs,
  configMessage,
  removalMessages,
  availabilityMessage,
  staleTopics,
  sensorConfig,
  type DiscoveryOptions,
  type HaMqttMessage,
  type ReadingInfo,
} from './discovery';
import { readingUnit, type AnnouncedEntry, type DiscoveryRegistry } from './registry';

/** Birth messages closer together than this are one announcement. */
export const REANNOUNCE_GAP_MS = 1000;

export interface AnnouncerOptions {
  deviceId: string;
  registry: DiscoveryRegistry;
  /** prefix, device name, versions: what every config carries */
  discovery: DiscoveryOptions & { prefix: string };
  /** ms without a reading after which the entities show unavailable; 0: never */
  staleAfterMs: number;
  clock: Clock;
  /** retained discovery and availability messages, in order */
  publish: (msgs: HaMqttMessage[]) => void;
  /** the topics announced before the last stop, so the ones gone now can be removed */
  loadPrevious: () => Promise<string[]>;
  /** keep what was announced for the next start */
  save: (entry: AnnouncedEntry) => Promise<void>;
  onSaveError: (err: unknown) => void;
  /** the status line changed */
  onStatus: () => void;
}

/** One message on the wire into the announcer: the reading's topic, payload and `msg.flm`. */
export interface AnnouncerInput {
  topic: string;
  payload: unknown;
  flm?: Partial<ReadingInfo>;
}

/**
 * Home Assistant discovery for one device: announces every entity once the flows run, again
 * when HA says it (re)started, one more when a reading shows a sensor or a unit the configs did
 * not foresee; keeps the availability topic saying whether the source is up and readings come;
 * says offline when it closes.
 */
export class HaAnnouncer {
  private announced: string[] = [];
  private started = false;
  private starting = false;
  private closed = false;
  /** what the source's watchdog (flm-p1 or flm-board) last said */
  private sourceOnline = true;
  private stale = false;
  private lastReading: number;
  private lastAvailability: boolean | undefined;
  private lastReannounce = 0;
  private reannounceTimer: unknown;
  private staleTimer: unknown;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly o: AnnouncerOptions) {
    this.lastReading = o.clock.now();
    if (o.staleAfterMs > 0) this.watchStale(Math.min(1000, o.staleAfterMs));
  }

  /** The flows run: announce everything, removing what was announced before and is gone now. Once; false if it did not (closed, or done before). */
  async start(): Promise<boolean> {
    if (this.started || this.starting || this.closed) return false;
    this.starting = true;
    try {
      const previous = await this.o.loadPrevious();
      if (this.closed) return false;
      this.started = true;
      this.announceAll(previous);
      return true;
    } finally {
      this.starting = false;
    }
  }

  /** A message for the node; throws for one that is neither a reading nor availability nor HA's birth. */
  input(m: AnnouncerInput): void {
    const prefix = this.o.discovery.prefix;
    if (isBirthTopic(m.topic, prefix)) {
      // HA restarted (or its MQTT integration reloaded): announce everything again.
      if (payloadText(m.payload).trim() === ONLINE && this.started) this.reannounce();
      return;
    }
    if (m.topic === P1_AVAILABILITY_TOPIC || m.topic === BOARD_AVAILABILITY_TOPIC) {
      const a = payloadText(m.payload).trim();
      if (a !== ONLINE && a !== OFFLINE)
        throw new Error(`${m.topic} payload must be "online" or "offline", got "${a.slice(0, 20)}"`);
      this.sourceOnline = a === ONLINE;
      if (this.started) this.setAvailability();
      return;
    }
    // The sensor table, P1 telegrams and board news share the wire: not for this node, not errors.
    if (isDeviceConfigTopic(m.topic) || m.topic.startsWith('p1/') || m.topic.startsWith('board/')) return;
    const t = parseSensorTopic(m.topic);
    if (!t) {
      throw new Error(
        `not a reading, ${P1_AVAILABILITY_TOPIC}, ${BOARD_AVAILABILITY_TOPIC} or ${prefix}/status message: topic "${m.topic.slice(0, 80)}"`,
      );
    }
    this.lastReading = this.o.clock.now();
    if (this.stale) {
      this.stale = false;
      if (this.started) this.setAvailability();
    }
    if (this.started) this.learn(m, t.sid, t.kind);
  }

  /** The device's sensors changed (a source derived new ones): announce them. */
  setSensors(sensors: readonly Sensor[]): void {
    this.o.registry.setSensors(sensors);
    if (this.started && !this.closed) this.announceAll(this.announced);
  }

  /** What the node's status shows; undefined before the first announcement. */
  status(): { level: 'ok' | 'warn'; text: string } | undefined {
    const view = this.statusView();
    return view && { level: view.level === 'ok' ? 'ok' : 'warn', text: view.text };
  }

  /** The same line as phrases, to be said in the runtime's language. */
  statusView(): StatusView | undefined {
    if (!this.started) return undefined;
    return haStatusView(this.announced.length, this.o.discovery.prefix, this.sourceOnline, this.stale);
  }

  get entities(): number {
    return this.announced.length;
  }

  /** Stops; a retained "offline" so HA shows the entities unavailable while the pipeline is down. Resolves once saved. */
  async close(): Promise<void> {
    this.closed = true;
    this.o.clock.clearTimeout(this.reannounceTimer);
    this.o.clock.clearTimeout(this.staleTimer);
    if (this.started) this.setAvailability(true);
    await this.saving;
  }

  /** Every config, then availability; topics announced before and not now get an empty config. */
  private announceAll(removeStale: readonly string[]): void {
    const list = discoveryConfigs({ id: this.o.deviceId }, this.o.registry.sources(), this.o.discovery);
    const topics = list.map((c) => c.topic);
    this.publish([...removalMessages(staleTopics(removeStale, topics)), ...list.map(configMessage)]);
    this.announced = topics;
    this.setAvailability(true);
    this.persist();
  }

  /**
   * Any broker client may publish HA's birth message: a burst of them is one announcement
   * a second, the last one after the burst, so a flood costs no more than a steady trickle.
   */
  private reannounce(): void {
    if (this.reannounceTimer !== undefined) return;
    const run = () => {
      this.reannounceTimer = undefined;
      this.lastReannounce = this.o.clock.now();
      if (!this.closed) this.announceAll([]);
    };
    const wait = this.lastReannounce + REANNOUNCE_GAP_MS - this.o.clock.now();
    if (wait <= 0) run();
    else this.reannounceTimer = this.o.clock.setTimeout(run, wait);
  }

  /** A reading: announce a sensor not in the table, or a unit or kind the config did not expect. */
  private learn(m: AnnouncerInput, sid: string, kind: 'gauge' | 'counter'): void {
    const changed = this.o.registry.learn(sid, kind, readingUnit(m.payload), m.flm);
    if (!changed) return;
    const c = sensorConfig(this.o.deviceId, changed, kind, this.o.discovery);
    this.publish([configMessage(c)]);
    if (!this.announced.includes(c.topic)) this.announced = [...this.announced, c.topic];
    this.persist();
    this.o.onStatus();
  }

  private setAvailability(force = false): void {
    const online = !this.closed && this.sourceOnline && !this.stale;
    if (!force && online === this.lastAvailability) return;
    this.lastAvailability = online;
    this.publish([availabilityMessage(this.o.deviceId, online)]);
    this.o.onStatus();
  }

  /** The source's watchdog: no reading for a while shows the entities unavailable in HA. */
  private watchStale(everyMs: number): void {
    this.staleTimer = this.o.clock.setTimeout(() => {
      if (this.closed) return;
      this.watchStale(everyMs);
      if (this.stale || !this.started || this.o.clock.now() - this.lastReading <= this.o.staleAfterMs) return;
      this.stale = true;
      this.setAvailability();
    }, everyMs);
  }

  private publish(msgs: HaMqttMessage[]): void {
    if (msgs.length) this.o.publish(msgs);
  }

  private persist(): void {
    const entry = this.o.registry.entry(this.announced);
    this.saving = this.saving.then(() => this.o.save(entry)).catch(this.o.onSaveError);
  }
}

function payloadText(payload: unknown): string {
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload ?? '');
}
