import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Device } from '../core/config/schema';
import { parseSensorTopic, isDeviceConfigTopic } from '../core/mqtt/topics';
import {
  ItemNames, parseOverrides, stateText, OpenHabClient, StateCoalescer, HomieDevice, tableSensor, loadHomieAnnounced,
  saveHomieAnnounced, type CoalescerEvent, type HomieMessage, type StateFormat,
} from '../core/sinks/openhab';
import type { ReadingInfo } from '../core/sinks/homeassistant';
import type { FlmDeviceNode } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';
import { textSetting } from './lib/settings';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface OpenHabDef extends NodeDef {
  device: string;
  url: string;
  units: StateFormat;
  items: unknown;
  homie: 'on' | 'off';
  homieName: string;
}

/** What the Homie device announced, per device, so a sensor gone from the table is cleared after a restart. */
export const HOMIE_FILE = 'homie-announced.json';

export default function (RED: NodeAPI): void {
  function FlmOpenHab(this: Node<{ token?: string }>, def: OpenHabDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = def.device ? (RED.nodes.getNode(def.device) as FlmDeviceNode | null) : null;
    const gate = new StartupQueue('the openHAB sink');
    const lastMsg = new Map<string, NodeMessageInFlow>();
    let device: Device | undefined;
    let names = new ItemNames();
    let format: StateFormat = 'units';
    let client: OpenHabClient | undefined;
    let coalescer: StateCoalescer | undefined;
    let homie: HomieDevice | undefined;
    let homieFile = '';
    let homieReady = false;
    let flowsStarted = false;
    let trouble = '';
    const rejects = new Rejects(node);
    let closed = false;
    let saving: Promise<void> = Promise.resolve();

    const emit = (msgs: HomieMessage[]) => {
      if (msgs.length) node.send([msgs as unknown as NodeMessage[]]);
    };
    const showStatus = () => {
      const parts: string[] = [];
      if (coalescer) {
        const s = coalescer.stats;
        parts.push(`${s.sent} sent`);
        if (s.missing.length) parts.push(`${s.missing.length} items missing`);
      }
      if (homie) parts.push(homieReady ? `homie/${homie.id.slice(0, 8)}…` : 'homie starting');
      if (rejects.total) parts.push(`${rejects.total} rejects`);
      const text = parts.join(' · ');
      if (coalescer?.stats.mode === 'auth-failed') status.error(`authentication failed · ${text}`);
      else if (trouble) status.warn(`${trouble} · ${text}`);
      else status.ok(text);
    };
    // Errors of a state update reach Catch with the reading that caused them.
    const fail = (item: string, text: string) => {
      const m = lastMsg.get(item);
      if (m) node.error(text, m);
      else node.error(text);
    };
    const onEvent = (e: CoalescerEvent) => {
      switch (e.kind) {
        case 'sent':
          lastMsg.delete(e.item);
          break;
        case 'not-found':
          fail(e.item, `openHAB has no item "${e.item}": create item ${e.item} in openHAB or map the sensor to an existing item in this node's item table`);
          break;
        case 'refused':
          fail(e.item, `openHAB refused state "${e.state}" for item ${e.item} (HTTP ${e.status}${e.excerpt ? `: ${e.excerpt}` : ''}); is it a Number item? Try "plain numbers"`);
          break;
        case 'auth-failed':
          fail(e.item, `openHAB authentication failed (HTTP ${e.status}) at ${client!.base.origin}: check the API token; sending paused, one try every 5 minutes`);
          break;
        case 'retrying':
          trouble = `openHAB unreachable (${e.error}), retry in ${Math.ceil(e.delayMs / 1000)} s`;
          break;
        case 'recovered':
          trouble = '';
          node.log(`openHAB reachable again at ${client!.base.origin}`);
          break;
      }
      showStatus();
    };

    const persistHomie = () => {
      const s = homie!.structure();
      saving = saving.then(() => saveHomieAnnounced(homieFile, device!.id, s)).catch((err: unknown) => node.warn(`could not save ${homieFile}: ${errorText(err)}`));
    };
    const announceHomie = async () => {
      if (!homie || homieReady || !flowsStarted || closed) return;
      const previous = (await loadHomieAnnounced(homieFile))[device!.id] ?? {};
      if (homieReady || closed) return;
      homieReady = true;
      emit(homie.announce(previous));
      persistHomie();
      showStatus();
    };
    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      announceHomie().catch((err: unknown) => status.failed(err));
    });

    const toHomie = (msg: NodeMessageInFlow, sid: string, kind: 'gauge' | 'counter', value: number, unit: string) => {
      if (!homie || !homieReady) return;
      const flm = (msg as { flm?: Partial<ReadingInfo> }).flm;
      if (!homie.has(sid, kind)) {
        if (flm?.deviceId && flm.deviceId !== device!.id) return; // another device's reading
        if (!flm?.name || !flm.type) throw new Error(`sensor ${sid} is not in the table of device ${device!.id} and the reading has no msg.flm (name, type): Homie cannot describe it`);
        emit(homie.learn({ sid, name: flm.name, type: flm.type, ...(flm.subtype ? { subtype: flm.subtype } : {}) }, kind, unit));
        persistHomie();
      }
      const v = homie.value(sid, kind, value);
      if (v) emit([v]);
    };

    const handle = (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      try {
        const topic = typeof msg.topic === 'string' ? msg.topic : '';
        // The sensor table and P1 news share the wire with readings: not for this node, not errors.
        if (isDeviceConfigTopic(topic) || topic.startsWith('p1/')) return done();
        const t = parseSensorTopic(topic);
        if (!t) throw new Error(`not a reading: topic "${topic.slice(0, 80)}" (expected /sensor/<sid>/counter or /gauge)`);
        const p = msg.payload;
        if (!Array.isArray(p) || p.length !== 3 || typeof p[1] !== 'number' || typeof p[2] !== 'string') throw new Error('payload must be [ts,value,"unit"]');
        const [, value, unit] = p as [number, number, string];
        if (coalescer) {
          const flm = (msg as { flm?: Partial<ReadingInfo> }).flm;
          const row = device?.sensors.find((s) => s.id === t.sid);
          const item = names.item({ sid: t.sid, kind: t.kind, ...pick(row ?? {}, flm) });
          if (item) {
            const state = stateText(value, unit, format);
            lastMsg.set(item, msg);
            coalescer.offer(item, state);
          }
        }
        toHomie(msg, t.sid, t.kind, value, unit);
        showStatus();
        done();
      } catch (err) {
        rejects.fail(done, err);
        status.error(`${rejects.total} rejects: ${statusText(err, 40)}`);
      }
    };
    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      const url = textSetting(def.url);
      const homieOn = def.homie === 'on';
      if (!url && !homieOn) throw new Error('nothing to do: set the openHAB URL (REST) or switch Homie on');
      if (homieOn && !deviceNode) throw new Error('Homie needs an flm-device: pick or add one in the node settings');
      if (def.device && !deviceNode) throw new Error('the flm-device of this node is missing');
      names = new ItemNames(parseOverrides(def.items));
      format = def.units === 'plain' ? 'plain' : 'units';
      status.idle('starting');
      if (deviceNode) {
        const ctx = await deviceNode.ready;
        device = ctx.device;
        homieFile = join(ctx.dataDir, HOMIE_FILE);
      }
      if (closed) return;
      if (url) {
        client = new OpenHabClient({ baseUrl: url, token: textSetting(node.credentials?.token) });
        coalescer = new StateCoalescer({ put: (item, state, signal) => client!.putState(item, state, signal), onEvent });
      }
      if (homieOn) {
        const sensors = device!.sensors.filter((s) => s.enable).map(tableSensor);
        homie = new HomieDevice(device!.id, sensors, { name: textSetting(def.homieName), implementation: 'node-red-contrib-fluksometer' });
      }
      showStatus();
      gate.ready(handle);
      await announceHomie();
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      status.failed(err);
    });

    onCloseBounded(node, async () => {
      closed = true;
      res.dispose();
      await starting;
      coalescer?.close();
      client?.close();
      // A clean stop: controllers show the device disconnected, not lost.
      if (homie && homieReady) emit([homie.state('disconnected')]);
      await saving;
    });
  }

  RED.nodes.registerType('flm-openhab', FlmOpenHab as never, { credentials: { token: { type: 'password' } } });
}

/** Name, type and subtype of a reading's sensor: the table's, else what msg.flm says. */
function pick(row: { name?: string; type?: string; subtype?: string }, flm: Partial<ReadingInfo> | undefined): { name?: string; type?: string; subtype?: string } {
  const name = row.name ?? flm?.name;
  const type = row.type ?? flm?.type;
  const subtype = row.subtype ?? flm?.subtype;
  return { ...(name !== undefined ? { name } : {}), ...(type !== undefined ? { type } : {}), ...(subtype !== undefined ? { subtype } : {}) };
}
