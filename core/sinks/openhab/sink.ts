import type { Sensor } from '../../config/schema';
import { phrasedView, type Phrase, type StatusView } from '../../util/status-view';
import { parseSensorTopic, isDeviceConfigTopic } from '../../mqtt/topics';
import { StateCoalescer, type CoalescerEvent } from './coalescer';
import { HomieDevice, tableSensor, type HomieMessage, type HomieSensor, type HomieStructure } from './homie';
import type { ItemNames } from './item-names';
import { OpenHabClient } from './rest-client';
import { stateText, type StateFormat } from './state';

/** What `msg.flm` says about a reading's sensor (flm-sensor and flm-in set it). */
export interface ReadingFlm {
  name?: string;
  type?: string;
  subtype?: string;
  deviceId?: string;
}

export interface OpenHabSinkOptions<M> {
  /**
   * the device whose sensors name the items and the Homie nodes (its sensor set: the table and
   * the sensors a source derived; see setSensors); absent for REST without a device
   */
  device?: { id: string; sensors: readonly Sensor[] };
  /** whether a running source feeds a sensor, so Homie describes it; default: every enabled one */
  isLive?: (s: Sensor) => boolean;
  names: ItemNames;
  format: StateFormat;
  /** REST item updates; absent when off */
  rest?: { url: string; token: string };
  /** the Homie device; off without it or without `device` */
  homie?: { name: string; loadPrevious: () => Promise<HomieStructure>; save: (s: HomieStructure) => Promise<void> };
  /** Homie messages, retained, in order */
  publish: (msgs: HomieMessage[]) => void;
  /** a failed state update, with the message of the reading that caused it when it is known */
  error: (text: string, msg: M | undefined) => void;
  log: (text: string) => void;
  onSaveError: (err: unknown) => void;
  onStatus: () => void;
}

/** One reading into the sink: its topic, payload and `msg.flm`, plus the message to report errors with. */
export interface OpenHabInput<M> {
  msg: M;
  topic: string;
  payload: unknown;
  flm?: ReadingFlm;
}

/**
 * openHAB as a reading sink: item states over REST (the newest per item, retried while openHAB is
 * away) and/or a Homie 4 device announced once the flows run, learning sensors not in the table
 * from `msg.flm`. Errors of a state update are reported with the reading that caused them.
 */
export class OpenHabSink<M> {
  private readonly client?: OpenHabClient;
  private readonly coalescer?: StateCoalescer;
  private readonly homie?: HomieDevice;
  private readonly lastMsg = new Map<string, M>();
  private sensors: readonly Sensor[];
  private homieReady = false;
  private closed = false;
  private trouble: Phrase | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly o: OpenHabSinkOptions<M>) {
    this.sensors = o.device?.sensors ?? [];
    if (o.rest) {
      const client = new OpenHabClient({ baseUrl: o.rest.url, token: o.rest.token });
      this.client = client;
      this.coalescer = new StateCoalescer({
        put: (item, state, signal) => client.putState(item, state, signal),
        onEvent: (e) => this.onEvent(e),
      });
    }
    if (o.homie && o.device) {
      this.homie = new HomieDevice(o.device.id, this.homieSensors(), {
        name: o.homie.name,
        implementation: 'node-red-contrib-fluksometer',
      });
    }
  }

  /** The flows run: the Homie device announces itself once, clearing what it announced before and is gone now. */
  async announce(): Promise<void> {
    if (!this.homie || this.homieReady || this.closed) return;
    const previous = await this.o.homie!.loadPrevious();
    if (this.homieReady || this.closed) return;
    this.homieReady = true;
    this.publish(this.homie.announce(previous));
    this.persist();
    this.o.onStatus();
  }

  /**
   * The device's sensors changed (a P1 meter's came, a switch of source left others unfed):
   * items are named from them, and the Homie device describes the live ones again, its gone
   * nodes cleared, once it has announced itself.
   */
  setSensors(sensors: readonly Sensor[]): void {
    this.sensors = sensors;
    if (!this.homie || this.closed) return;
    const msgs = this.homie.describe(this.homieSensors());
    if (!this.homieReady || !msgs.length) return;
    this.publish(msgs);
    this.persist();
    this.o.onStatus();
  }

  /** A message for the node; throws for one that is not a reading. */
  input(m: OpenHabInput<M>): void {
    // The sensor table and P1 news share the wire with readings: not for this node, not errors.
    if (isDeviceConfigTopic(m.topic) || m.topic.startsWith('p1/')) return;
    const t = parseSensorTopic(m.topic);
    if (!t)
      throw new Error(`not a reading: topic "${m.topic.slice(0, 80)}" (expected /sensor/<sid>/counter or /gauge)`);
    const p = m.payload;
    if (!Array.isArray(p) || p.length !== 3 || typeof p[1] !== 'number' || typeof p[2] !== 'string')
      throw new Error('payload must be [ts,value,"unit"]');
    const [, value, unit] = p as [number, number, string];
    if (this.coalescer) {
      const row = this.sensors.find((s) => s.id === t.sid);
      const item = this.o.names.item({ sid: t.sid, kind: t.kind, ...pick(row ?? {}, m.flm) });
      if (item) {
        this.lastMsg.set(item, m.msg);
        this.coalescer.offer(item, stateText(value, unit, this.o.format));
      }
    }
    this.toHomie(m.flm, t.sid, t.kind, value, unit);
    this.o.onStatus();
  }

  status(rejects: number): { level: 'ok' | 'warn' | 'error'; text: string } {
    const { level, text } = this.statusView(rejects);
    return { level: level === 'idle' ? 'ok' : level, text };
  }

  /** The status line as phrases of flm-openhab's catalog, to be said in the runtime's language. */
  statusView(rejects: number): StatusView {
    const parts: Phrase[] = [];
    if (this.coalescer) {
      const s = this.coalescer.stats;
      parts.push({ key: 'sent', en: `${s.sent} sent`, params: { count: s.sent } });
      if (s.missing.length)
        parts.push({ key: 'missing', en: `${s.missing.length} items missing`, params: { count: s.missing.length } });
    }
    if (this.homie) {
      const id = `${this.homie.id.slice(0, 8)}…`;
      parts.push(
        this.homieReady
          ? { key: 'homie', en: `homie/${id}`, params: { id } }
          : { key: 'homieStarting', en: 'homie starting' },
      );
    }
    if (rejects) parts.push({ key: 'rejects', en: `${rejects} rejects`, params: { count: rejects } });
    if (this.coalescer?.stats.mode === 'auth-failed')
      return phrasedView('error', [{ key: 'authFailed', en: 'authentication failed' }, ...parts]);
    if (this.trouble) return phrasedView('warn', [this.trouble, ...parts]);
    return phrasedView('ok', parts);
  }

  /** Stops sending; a clean stop shows controllers the Homie device disconnected, not lost. Resolves once saved. */
  async close(): Promise<void> {
    this.closed = true;
    this.coalescer?.close();
    this.client?.close();
    if (this.homie && this.homieReady) this.publish([this.homie.state('disconnected')]);
    await this.saving;
  }

  private toHomie(
    flm: ReadingFlm | undefined,
    sid: string,
    kind: 'gauge' | 'counter',
    value: number,
    unit: string,
  ): void {
    if (!this.homie || !this.homieReady) return;
    const deviceId = this.o.device!.id;
    if (!this.homie.has(sid, kind)) {
      if (flm?.deviceId && flm.deviceId !== deviceId) return; // another device's reading
      if (!flm?.name || !flm.type)
        throw new Error(
          `sensor ${sid} is not in the table of device ${deviceId} and the reading has no msg.flm (name, type): Homie cannot describe it`,
        );
      this.publish(
        this.homie.learn(
          { sid, name: flm.name, type: flm.type, ...(flm.subtype ? { subtype: flm.subtype } : {}) },
          kind,
          unit,
        ),
      );
      this.persist();
    }
    const v = this.homie.value(sid, kind, value);
    if (v) this.publish([v]);
  }

  private homieSensors(): HomieSensor[] {
    const live = this.o.isLive ?? ((s: Sensor) => s.enable);
    return this.sensors.filter(live).map(tableSensor);
  }

  private onEvent(e: CoalescerEvent): void {
    const origin = this.client!.base.origin;
    switch (e.kind) {
      case 'sent':
        this.lastMsg.delete(e.item);
        break;
      case 'not-found':
        this.fail(
          e.item,
          `openHAB has no item "${e.item}": create item ${e.item} in openHAB or map the sensor to an existing item in this node's item table`,
        );
        break;
      case 'refused':
        this.fail(
          e.item,
          `openHAB refused state "${e.state}" for item ${e.item} (HTTP ${e.status}${e.excerpt ? `: ${e.excerpt}` : ''}); is it a Number item? Try "plain numbers"`,
        );
        break;
      case 'auth-failed':
        this.fail(
          e.item,
          `openHAB authentication failed (HTTP ${e.status}) at ${origin}: check the API token; sending paused, one try every 5 minutes`,
        );
        break;
      case 'retrying':
        {
          const seconds = Math.ceil(e.delayMs / 1000);
          this.trouble = {
            key: 'unreachable',
            en: `openHAB unreachable (${e.error}), retry in ${seconds} s`,
            params: { error: e.error, seconds },
          };
        }
        break;
      case 'recovered':
        this.trouble = undefined;
        this.o.log(`openHAB reachable again at ${origin}`);
        break;
    }
    this.o.onStatus();
  }

  private fail(item: string, text: string): void {
    this.o.error(text, this.lastMsg.get(item));
  }

  private publish(msgs: HomieMessage[]): void {
    if (msgs.length) this.o.publish(msgs);
  }

  private persist(): void {
    const s = this.homie!.structure();
    this.saving = this.saving.then(() => this.o.homie!.save(s)).catch(this.o.onSaveError);
  }
}

/** Name, type and subtype of a reading's sensor: the table's, else what msg.flm says. */
function pick(
  row: { name?: string; type?: string; subtype?: string },
  flm: ReadingFlm | undefined,
): { name?: string; type?: string; subtype?: string } {
  const name = row.name ?? flm?.name;
  const type = row.type ?? flm?.type;
  const subtype = row.subtype ?? flm?.subtype;
  return {
    ...(name !== undefined ? { name } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(subtype !== undefined ? { subtype } : {}),
  };
}
