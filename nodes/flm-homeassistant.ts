import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Device, Sensor } from '../core/config/schema';
import { parseSensorTopic, type ReadingKind } from '../core/mqtt/topics';
import {
  DEFAULT_PREFIX, ONLINE, OFFLINE, checkPrefix, isBirthTopic, discoveryConfigs, configMessage, removalMessages,
  availabilityMessage, staleTopics, sensorConfig, sensorFromReading, flmUnit, readingKinds,
  type HaSensorSource, type DiscoveryOptions, type HaMqttMessage, type ReadingInfo,
} from '../core/sinks/homeassistant';
import { writeFileAtomic, readFileIfExists } from '../core/util/atomic-file';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { textSetting, numberSetting } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';

interface HomeAssistantDef extends NodeDef {
  device: string;
  prefix: string;
  deviceName: string;
  /** seconds without a reading after which the entities show unavailable; blank or 0: never */
  staleAfter?: string | number;
}

/** What this node announced, per device, so a sensor gone from the table can be removed after a restart. */
export const ANNOUNCED_FILE = 'homeassistant-announced.json';
export const P1_AVAILABILITY_TOPIC = 'p1/availability';
const DEVICE_CONFIG = /^\/device\/[0-9a-f]{32}\/config\//;

interface Learnt {
  kinds?: ReadingKind[];
  units?: Partial<Record<ReadingKind, string>>;
}

interface AnnouncedEntry {
  topics: string[];
  /** sensors learnt from readings that are not in the table (P1 meter-derived ids) */
  seen: HaSensorSource[];
  /** readings of table sensors that differ from the defaults (another unit, another kind) */
  extra: Record<string, Learnt>;
}

type AnnouncedFile = Record<string, AnnouncedEntry>;

const packageInfo = (() => {
  try {
    const p = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };
    return { name: p.name, version: p.version };
  } catch {
    return { name: 'node-red-contrib-fluksometer', version: '' };
  }
})();

function readingUnit(payload: unknown): string | undefined {
  let p = payload;
  if (typeof p === 'string' || Buffer.isBuffer(p)) {
    try {
      p = JSON.parse(String(p));
    } catch {
      return undefined;
    }
  }
  return Array.isArray(p) && typeof p[2] === 'string' ? p[2] : undefined;
}

function payloadText(payload: unknown): string {
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload ?? '');
}

export default function (RED: NodeAPI): void {
  function FlmHomeAssistant(this: Node, def: HomeAssistantDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    const gate = new StartupQueue('Home Assistant discovery');
    let prefix = DEFAULT_PREFIX;
    let device: Device | undefined;
    let filePath = '';
    let opts: DiscoveryOptions = {};
    let table = new Map<string, Sensor>();
    const seen = new Map<string, HaSensorSource>();
    const extra = new Map<string, Learnt>();
    const warned = new Set<string>();
    let announced: string[] = [];
    let flowsStarted = false;
    let engineReady = false;
    let initialDone = false;
    let p1Online = true;
    let staleAfterMs = 0;
    let lastReading = Date.now();
    let sourceStale = false;
    let lastAvailability: boolean | undefined;
    let closed = false;
    let saving: Promise<void> = Promise.resolve();

    const reportError = (err: unknown) => {
      status.error(statusText(err));
      node.error(errorText(err));
    };
    const emit = (msgs: HaMqttMessage[]) => {
      if (msgs.length) node.send([msgs as unknown as NodeMessage[]]);
    };

    const sources = (): HaSensorSource[] => {
      const rows: HaSensorSource[] = [...table.values()].filter((s) => s.enable).map((s) => {
        const x = extra.get(s.id);
        const src: HaSensorSource = { id: s.id, name: s.name, type: s.type, class: s.class, enable: true };
        if (s.subtype) src.subtype = s.subtype;
        if (s.p1) src.p1 = s.p1;
        if (x?.kinds) src.kinds = x.kinds;
        if (x?.units) src.units = x.units;
        return src;
      });
      return [...rows, ...seen.values()];
    };
    const configs = () => discoveryConfigs(device!, sources(), opts);

    const showStatus = () => {
      if (!initialDone) return;
      const text = `${announced.length} entities · ${prefix}`;
      if (!p1Online) status.warn(`P1 offline · ${text}`);
      else if (sourceStale) status.warn(`no readings · ${text}`);
      else status.ok(text);
    };

    const persist = () => {
      const entry: AnnouncedEntry = { topics: [...announced], seen: [...seen.values()], extra: Object.fromEntries(extra) };
      const id = device!.id;
      saving = saving.then(async () => {
        const all = await loadAnnounced(filePath);
        all[id] = entry;
        await writeFileAtomic(filePath, `${JSON.stringify(all, null, 1)}\n`);
      }).catch((err: unknown) => node.warn(`could not save ${filePath}: ${errorText(err)}`));
      return saving;
    };

    const setAvailability = (force = false) => {
      const online = !closed && p1Online && !sourceStale;
      if (!force && online === lastAvailability) return;
      lastAvailability = online;
      emit([availabilityMessage(device!.id, online)]);
      showStatus();
    };

    /** Every config, then availability; topics announced before and not now get an empty config. */
    const announceAll = (removeStale: string[]) => {
      const list = configs();
      const topics = list.map((c) => c.topic);
      emit([...removalMessages(staleTopics(removeStale, topics)), ...list.map(configMessage)]);
      announced = topics;
      setAvailability(true);
      void persist();
    };

    const initial = async () => {
      if (!engineReady || !flowsStarted || initialDone || closed) return;
      const previous = (await loadAnnounced(filePath))[device!.id]?.topics ?? [];
      if (closed || initialDone) return; // flows:started and the end of starting may both get here
      initialDone = true;
      announceAll(previous);
      node.log(`announced ${announced.length} entities under ${prefix}/sensor/${device!.id}/`);
    };

    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      initial().catch(reportError);
    });

    /** A reading: learn a sensor not in the table, or a unit or kind the config did not expect. */
    const learn = (msg: NodeMessageInFlow, sid: string, kind: ReadingKind): void => {
      const unit = readingUnit(msg.payload);
      const row = table.get(sid);
      let changed: HaSensorSource | undefined;
      if (row) {
        if (!row.enable) return;
        const prev = extra.get(sid);
        const x: Learnt = { ...prev };
        const kinds = x.kinds ?? readingKinds(row);
        const expected = x.units?.[kind] ?? flmUnit(row, kind);
        if (!kinds.includes(kind)) x.kinds = [...kinds, kind];
        if (unit !== undefined && unit !== expected) x.units = { ...x.units, [kind]: unit };
        if (x.kinds !== prev?.kinds || x.units !== prev?.units) {
          extra.set(sid, x);
          changed = sources().find((s) => s.id === sid);
        }
      } else {
        const info = (msg as { flm?: Partial<ReadingInfo> }).flm;
        if (info?.deviceId && info.deviceId !== device!.id) return; // another device's reading: its own node announces it
        const known = seen.get(sid);
        if (known) {
          const kinds = known.kinds ?? [];
          const before = known.units?.[kind];
          if (kinds.includes(kind) && (unit === undefined || unit === before)) return;
          known.kinds = kinds.includes(kind) ? kinds : [...kinds, kind];
          if (unit !== undefined) known.units = { ...known.units, [kind]: unit };
          changed = known;
        } else {
          const src = sensorFromReading({ ...info, sid, kind, ...(unit !== undefined ? { unit } : {}) } as ReadingInfo);
          if (!src) {
            if (!warned.has(sid)) {
              warned.add(sid);
              throw new Error(`sensor ${sid} is not in the table of device ${device!.id} and the reading has no msg.flm (name, type): it cannot be announced`);
            }
            return;
          }
          seen.set(sid, src);
          changed = src;
        }
      }
      if (!changed) return;
      const c = sensorConfig(device!.id, changed, kind, opts);
      emit([configMessage(c)]);
      if (!announced.includes(c.topic)) announced = [...announced, c.topic];
      void persist();
      showStatus();
    };

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        if (!device) throw new Error('Home Assistant discovery is closed');
        const topic = typeof msg.topic === 'string' ? msg.topic : '';
        if (isBirthTopic(topic, prefix)) {
          // HA restarted (or its MQTT integration reloaded): announce everything again.
          if (payloadText(msg.payload).trim() === ONLINE && initialDone) announceAll([]);
          return done();
        }
        if (topic === P1_AVAILABILITY_TOPIC) {
          const a = payloadText(msg.payload).trim();
          if (a !== ONLINE && a !== OFFLINE) throw new Error(`p1/availability payload must be "online" or "offline", got "${a.slice(0, 20)}"`);
          p1Online = a === ONLINE;
          if (initialDone) setAvailability();
          return done();
        }
        // The sensor table and the P1 telegrams share the wire: not for this node, not errors.
        if (DEVICE_CONFIG.test(topic) || topic.startsWith('p1/')) return done();
        const t = parseSensorTopic(topic);
        if (!t) {
          throw new Error(`not a reading, ${P1_AVAILABILITY_TOPIC} or ${prefix}/status message: topic "${topic.slice(0, 80)}"`);
        }
        lastReading = Date.now();
        if (sourceStale) {
          sourceStale = false;
          if (initialDone) setAvailability();
        }
        if (initialDone) learn(msg, t.sid, t.kind);
        done();
      } catch (err) {
        status.error(statusText(err));
        done(err instanceof Error ? err : new Error(String(err)));
      }
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      prefix = checkPrefix(textSetting(def.prefix, DEFAULT_PREFIX));
      staleAfterMs = numberSetting(def.staleAfter, 0, 'offline after', (n) => n >= 0) * 1000;
      status.idle('starting');
      const ctx = await deviceNode.ready;
      if (closed) return;
      device = ctx.device;
      filePath = join(ctx.dataDir, ANNOUNCED_FILE);
      opts = {
        prefix,
        deviceName: textSetting(def.deviceName),
        model: 'Fluksometer (Node-RED)',
        ...(packageInfo.version ? { swVersion: packageInfo.version } : {}),
        origin: { name: packageInfo.name, ...(packageInfo.version ? { sw_version: packageInfo.version } : {}), support_url: 'https://github.com/flukso/node-red-contrib-fluksometer' },
      };
      table = new Map(device.sensors.map((s) => [s.id, s]));
      const stored = (await loadAnnounced(filePath))[device.id];
      // Sensors learnt from readings are announced again at start, so a restart does not remove
      // and re-create them; a table that now has cosem sensors replaces the P1 defaults.
      const hasCosem = device.sensors.some((s) => s.enable && s.class === 'cosem');
      for (const s of stored?.seen ?? []) if (!hasCosem && !table.has(s.id)) seen.set(s.id, s);
      for (const [sid, x] of Object.entries(stored?.extra ?? {})) if (table.get(sid)?.enable) extra.set(sid, x);
      engineReady = true;
      lastReading = Date.now();
      if (staleAfterMs > 0) {
        // The source's watchdog: no reading for a while shows the entities unavailable in HA.
        res.interval(Math.min(1000, staleAfterMs), () => {
          if (sourceStale || !initialDone || Date.now() - lastReading <= staleAfterMs) return;
          sourceStale = true;
          setAvailability();
        }, reportError);
      }
      gate.ready(handle);
      await initial();
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      reportError(err);
    });

    onCloseBounded(node, async () => {
      closed = true;
      res.dispose();
      await starting;
      // Retained "offline" so HA shows the entities unavailable while the pipeline is down.
      if (initialDone) setAvailability(true);
      await saving;
    });
  }

  RED.nodes.registerType('flm-homeassistant', FlmHomeAssistant as never);
}

async function loadAnnounced(path: string): Promise<AnnouncedFile> {
  const text = await readFileIfExists(path);
  if (text === undefined) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as AnnouncedFile) : {};
  } catch {
    return {};
  }
}
