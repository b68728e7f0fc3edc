import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Device } from '../core/config/schema';
import { parseSensorTopic, isDeviceConfigTopic, P1_AVAILABILITY_TOPIC, BOARD_AVAILABILITY_TOPIC, type ReadingKind } from '../core/mqtt/topics';
import {
  DEFAULT_PREFIX, ONLINE, OFFLINE, checkPrefix, isBirthTopic, discoveryConfigs, configMessage, removalMessages,
  availabilityMessage, staleTopics, sensorConfig, DiscoveryRegistry, loadAnnounced, saveAnnounced, readingUnit,
  type DiscoveryOptions, type HaMqttMessage, type ReadingInfo,
} from '../core/sinks/homeassistant';

import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { textSetting, numberSetting } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface HomeAssistantDef extends NodeDef {
  device: string;
  prefix: string;
  deviceName: string;
  /** seconds without a reading after which the entities show unavailable; blank or 0: never */
  staleAfter?: string | number;
}

/** What this node announced, per device, so a sensor gone from the table can be removed after a restart. */
export const ANNOUNCED_FILE = 'homeassistant-announced.json';
const REANNOUNCE_GAP_MS = 1000;

const packageInfo = (() => {
  try {
    const p = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };
    return { name: p.name, version: p.version };
  } catch {
    return { name: 'node-red-contrib-fluksometer', version: '' };
  }
})();

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
    let registry: DiscoveryRegistry | undefined;
    let announced: string[] = [];
    let flowsStarted = false;
    let engineReady = false;
    let initialDone = false;
    /** what the source's watchdog (flm-p1 or flm-board) last said */
    let sourceOnline = true;
    let staleAfterMs = 0;
    let lastReading = Date.now();
    let sourceStale = false;
    let lastAvailability: boolean | undefined;
    let closed = false;
    let saving: Promise<void> = Promise.resolve();
    const rejects = new Rejects(node);

    const reportError = (err: unknown) => status.failed(err);
    const emit = (msgs: HaMqttMessage[]) => {
      if (msgs.length) node.send([msgs as unknown as NodeMessage[]]);
    };

    const configs = () => discoveryConfigs(device!, registry!.sources(), opts);

    const showStatus = () => {
      if (!initialDone) return;
      const text = `${announced.length} entities · ${prefix}`;
      if (!sourceOnline) status.warn(`source offline · ${text}`);
      else if (sourceStale) status.warn(`no readings · ${text}`);
      else status.ok(text);
    };

    const persist = () => {
      const entry = registry!.entry(announced);
      const id = device!.id;
      saving = saving.then(() => saveAnnounced(filePath, id, entry))
        .catch((err: unknown) => node.warn(`could not save ${filePath}: ${errorText(err)}`));
      return saving;
    };

    const setAvailability = (force = false) => {
      const online = !closed && sourceOnline && !sourceStale;
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

    /**
     * Any broker client may publish HA's birth message: a burst of them is one announcement
     * a second, the last one after the burst, so a flood costs no more than a steady trickle.
     */
    let lastReannounce = 0;
    let reannounceTimer: NodeJS.Timeout | undefined;
    const reannounce = () => {
      if (reannounceTimer) return;
      const run = () => {
        reannounceTimer = undefined;
        lastReannounce = Date.now();
        if (!closed) announceAll([]);
      };
      const wait = lastReannounce + REANNOUNCE_GAP_MS - Date.now();
      if (wait <= 0) run();
      else reannounceTimer = res.timeout(wait, run, reportError);
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

    /** A reading: announce a sensor not in the table, or a unit or kind the config did not expect. */
    const learn = (msg: NodeMessageInFlow, sid: string, kind: ReadingKind): void => {
      const changed = registry!.learn(sid, kind, readingUnit(msg.payload), (msg as { flm?: Partial<ReadingInfo> }).flm);
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
          if (payloadText(msg.payload).trim() === ONLINE && initialDone) reannounce();
          return done();
        }
        if (topic === P1_AVAILABILITY_TOPIC || topic === BOARD_AVAILABILITY_TOPIC) {
          const a = payloadText(msg.payload).trim();
          if (a !== ONLINE && a !== OFFLINE) throw new Error(`${topic} payload must be "online" or "offline", got "${a.slice(0, 20)}"`);
          sourceOnline = a === ONLINE;
          if (initialDone) setAvailability();
          return done();
        }
        // The sensor table, P1 telegrams and board news share the wire: not for this node, not errors.
        if (isDeviceConfigTopic(topic) || topic.startsWith('p1/') || topic.startsWith('board/')) return done();
        const t = parseSensorTopic(topic);
        if (!t) {
          throw new Error(`not a reading, ${P1_AVAILABILITY_TOPIC}, ${BOARD_AVAILABILITY_TOPIC} or ${prefix}/status message: topic "${topic.slice(0, 80)}"`);
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
        rejects.fail(done, err);
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
        origin: { name: packageInfo.name, ...(packageInfo.version ? { sw_version: packageInfo.version } : {}) },
      };
      const set = ctx.sensors;
      registry = new DiscoveryRegistry({ ...device, sensors: set.all() }, (await loadAnnounced(filePath))[device.id], (s) => set.isLive(s));
      // Sensors a source derived (a P1 meter's) are announced as they come.
      res.on(set, 'change', () => {
        registry!.setSensors(set.all());
        if (initialDone && !closed) announceAll(announced);
      });
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
