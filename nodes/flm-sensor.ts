import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ReadingComputer, type Reading } from '../core/readings/computer';
import { CounterStateFile } from '../core/readings/counter-state';
import { boardBatchSchema, BOARD_BATCH_TOPIC } from '../core/mqtt/board-batch';
import { P1ReadingMapper, isP1Telegram } from '../core/readings/p1-mapper';
import { DEFAULT_P1_LIMITS } from '../core/readings/p1-totals-guard';
import { numberSetting } from './lib/settings';
import { KubeReadingMapper, kubeMessageSchema, describeControl, describeFields } from '../core/readings/kube-mapper';
import { RateLimiter } from '../core/link/rate-limit';
import { describeZodError } from '../core/config/schema';
import { sensorTopic, deviceConfigTopic, P1_TELEGRAM_TOPIC, BOARD_KUBE_TOPIC } from '../core/mqtt/topics';
import { buildDeviceConfig } from '../core/mqtt/device-config';
import type { FlmDeviceNode, DeviceContext } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText } from './lib/close';
import { StartupQueue, type Send, type Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

interface SensorDef extends NodeDef {
  device: string;
  /** P1: the grid connection, kW, and the most gas and water flow, m³/h (empty: the defaults) */
  p1MaxPowerKw?: string | number;
  p1MaxGasM3h?: string | number;
  p1MaxWaterM3h?: string | number;
}

/** P1 totals held for plausibility are said in the log at most this often. */
const P1_HELD_WARN_MS = 60_000;

/** Counters, with reservations ahead of them, are saved this often while they move. */
const SAVE_INTERVAL_MS = 5000;

const isSourceNews = (topic: unknown): boolean =>
  typeof topic === 'string' &&
  ((topic.startsWith('p1/') && topic !== P1_TELEGRAM_TOPIC) ||
    (topic.startsWith('board/') && topic !== BOARD_BATCH_TOPIC && topic !== BOARD_KUBE_TOPIC));

export function readingMessage(r: Reading, deviceId: string, qos: 0 | 1 = 0): NodeMessage {
  const flm: Record<string, unknown> = {
    sid: r.sid, kind: r.kind, name: r.sensor.name, type: r.sensor.type, class: r.sensor.class, unit: r.unit, deviceId,
  };
  if (r.sensor.subtype) flm.subtype = r.sensor.subtype;
  return { topic: sensorTopic(r.sid, r.kind), payload: [r.ts, r.value, r.unit], retain: true, qos, flm } as NodeMessage;
}

export default function (RED: NodeAPI): void {
  function FlmSensor(this: Node, def: SensorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    const stats = { readings: 0, held: 0, p1Held: 0 };
    const rejects = new Rejects(node);
    const p1Warnings = new RateLimiter(P1_HELD_WARN_MS);
    let p1Why = '';
    let engine: { computer: ReadingComputer; p1: P1ReadingMapper; kube: KubeReadingMapper; file: CounterStateFile; ctx: DeviceContext } | undefined;
    // A Kube reports every minute or so, for years: what it lacks is said once an hour, not each time.
    const kubeNotes = new RateLimiter(3_600_000);
    const noteOnce = (key: string, text: string) => {
      const t = kubeNotes.take(key, text);
      if (t) node.warn(t);
    };
    let flowsStarted = false;
    let configSent = false;
    const gate = new StartupQueue('the reading computation');

    const reportError = (err: unknown) => status.failed(err);

    /** Counters, and the P1 registers' last published values, as one file. */
    const snapshot = (e: NonNullable<typeof engine>) => {
      const state = e.computer.snapshot();
      for (const [sid, p1] of Object.entries(e.p1.guard.snapshot())) state.sensors[sid] = { ...state.sensors[sid], p1 };
      return state;
    };
    const dirty = (e: NonNullable<typeof engine>) => e.computer.dirty || e.p1.guard.dirty;

    /** Periodic save: counters, and reservations moved ahead of them (counter-reservation.ts). */
    const save = async () => {
      if (!engine) return;
      if (engine.computer.dirty) engine.computer.reserve();
      if (dirty(engine)) await engine.file.save(snapshot(engine));
    };

    // One message at a time: counters that wait for their reservation to be saved hold back what follows.
    let queue: Promise<void> = Promise.resolve();
    const serial = (msg: NodeMessageInFlow, send: Send, done: Done) => {
      queue = queue.then(() => handle(msg, send, done));
    };

    /** The table goes out once the flows run, and again whenever a source derives new sensors. */
    const sendConfig = (again = false) => {
      if (!engine || !flowsStarted || (configSent && !again)) return;
      configSent = true;
      const { device, sensors } = engine.ctx;
      node.send({ topic: deviceConfigTopic(device.id), payload: buildDeviceConfig(sensors.published()), retain: true, qos: 0 } as NodeMessage);
    };

    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      sendConfig();
    });

    const handle = async (msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> => {
      if (!engine) return done(new Error('the reading computation is closed'));
      try {
        // flm-p1 and flm-board also report availability (and clock, Kube) on the same wire: news, not input.
        if (isSourceNews(msg.topic)) return done();
        if (msg.topic === BOARD_KUBE_TOPIC) {
          const p = kubeMessageSchema.safeParse(msg.payload);
          if (!p.success) throw new Error(`not a Kube packet: ${describeZodError(p.error)}`);
          const k = p.data;
          if (k.kind === 'control') noteOnce(`ctl:${k.nid}`, `Kube ${k.nid} asks ${describeControl(k.payload)}; pairing and upgrades are not done here: a Kube paired with an FLM keeps its node id, so add its fields as kube sensors with kid ${k.nid}`);
          const r = engine.kube.process(k, Math.floor(Date.now() / 1000));
          if (r.problem) throw new Error(`Kube ${k.nid}: ${r.problem}`);
          if (r.heldBack) throw new Error(`clock not valid: Kube ${k.nid} readings dropped, as on the FLM`);
          if (r.unclaimed.length) {
            const add = engine.kube.knows(k.nid) ? 'add kube sensors for the fields you want' : `add kube sensors with kid ${k.nid} to the device's sensor table`;
            noteOnce(`unclaimed:${k.nid}`, `Kube ${k.nid} sends ${describeFields(r.unclaimed)}, which no sensor takes: ${add}`);
          }
          stats.readings += r.readings.length;
          if (r.readings.length) send([r.readings.map((x) => readingMessage(x, engine!.ctx.device.id, r.qos))]);
          return done();
        }
        if (msg.topic === P1_TELEGRAM_TOPIC) {
          if (!isP1Telegram(msg.payload)) throw new Error('p1/telegram payload is not a parsed P1 telegram (use flm-p1 to parse raw telegrams)');
          const r = engine.p1.process(msg.payload, Math.floor(Date.now() / 1000));
          // Registered before the readings leave, so every consumer knows their sensors.
          if (r.derived.length) engine.ctx.sensors.register(r.derived, 'p1');
          stats.readings += r.readings.length;
          if (r.readings.length) send([r.readings.map((x) => readingMessage(x, engine!.ctx.device.id))]);
          if (r.heldBack && r.readings.length === 0) throw new Error(`clock not valid: the telegram's time is at or before ${engine.ctx.device.validAfter}`);
          for (const n of r.notices) node.log(n);
          if (r.held) {
            stats.p1Held++;
            const warning = r.reasons.length ? p1Warnings.take('held', r.reasons.join('; ')) : null;
            if (warning) node.warn(warning);
            if (r.reasons.length) p1Why = r.reasons[0]!;
            status.warn(`P1 · ${stats.readings} out · ${stats.p1Held} held: ${p1Why}`.slice(0, 60));
          } else status.ok(`P1 · ${stats.readings} out${stats.p1Held ? ` · ${stats.p1Held} held` : ''}${rejects.total ? ` · ${rejects.total} rejects` : ''}`);
          return done();
        }
        const parsed = boardBatchSchema.safeParse(msg.payload);
        if (!parsed.success) throw new Error(`not a board batch: ${describeZodError(parsed.error)}`);
        const { computer, file } = engine;
        const result = computer.process(parsed.data);
        // A counter goes out only once a crash could not bring it back lower.
        if (!computer.covers(result.readings) && computer.reserve()) await file.save(snapshot(engine));
        if (result.readings.length) {
          stats.readings += result.readings.length;
          send([result.readings.map((r) => readingMessage(r, engine!.ctx.device.id))]);
        }
        if (result.heldBack) {
          stats.held++;
          const ts = Math.floor(parsed.data.time / 1000);
          throw new Error(`clock not valid: ${ts} is at or before ${engine.ctx.device.validAfter}; readings held back until the clock is set (counters keep counting)`);
        }
        // A board that restarted, or was replaced: worth a line in the log, not an error.
        for (const n of result.notices) node.log(n);
        if (result.errors.length) throw new Error(result.errors.join('; '));
        status.ok(`${engine.ctx.device.sensors.length} sensors · ${stats.readings} out${rejects.total ? ` · ${rejects.total} rejects` : ''}`);
        done();
      } catch (err) {
        rejects.fail(done, err);
        const text = stats.held && /clock/.test(errorText(err)) ? `clock invalid · ${stats.held} held` : `${rejects.total} rejects: ${errorText(err)}`;
        status.error(text.slice(0, 60));
      }
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    if (!deviceNode) {
      gate.fail(new Error('no flm-device configured: pick or add one in the node settings'));
      status.error('no device');
    } else {
      status.idle('starting');
      (async () => {
        const p1Limits = {
          maxPowerW: numberSetting(def.p1MaxPowerKw, DEFAULT_P1_LIMITS.maxPowerW / 1000, 'P1 connection (kW)', (n) => n > 0) * 1000,
          maxGasM3h: numberSetting(def.p1MaxGasM3h, DEFAULT_P1_LIMITS.maxGasM3h, 'P1 gas flow (m³/h)', (n) => n > 0),
          maxWaterM3h: numberSetting(def.p1MaxWaterM3h, DEFAULT_P1_LIMITS.maxWaterM3h, 'P1 water flow (m³/h)', (n) => n > 0),
        };
        const ctx = await deviceNode.ready;
        if (!deviceNode.claimCounters(node.id)) {
          throw new Error(`device ${ctx.device.id} already has an flm-sensor node; one device, one sensor node`);
        }
        const file = new CounterStateFile(join(ctx.dataDir, `counters-${ctx.device.id}.json`));
        const loaded = await file.load();
        if (loaded.warning) node.warn(loaded.warning);
        if (res.isDisposed) return;
        engine = {
          computer: new ReadingComputer(ctx.device, loaded.state),
          p1: new P1ReadingMapper(ctx.device, { limits: p1Limits }),
          kube: new KubeReadingMapper(ctx.device),
          file,
          ctx,
        };
        engine.p1.guard.restore(loaded.state.sensors);
        status.ok(`${ctx.device.sensors.length} sensors`);
        res.on(ctx.sensors, 'change', () => sendConfig(true));
        res.interval(SAVE_INTERVAL_MS, save, reportError);
        sendConfig();
        gate.ready(serial);
      })().catch((err: unknown) => {
        gate.fail(err instanceof Error ? err : new Error(String(err)));
        reportError(err);
      });
    }

    onCloseBounded(node, async () => {
      res.dispose();
      deviceNode?.releaseCounters(node.id);
      await queue;
      if (!engine) return;
      engine.computer.releaseReservations();
      if (dirty(engine)) await engine.file.save(snapshot(engine));
    });
  }

  RED.nodes.registerType('flm-sensor', FlmSensor as never);
}
