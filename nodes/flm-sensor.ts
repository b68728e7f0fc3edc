import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ReadingComputer, type Reading } from '../core/readings/computer';
import { CounterStateFile } from '../core/readings/counter-state';
import { boardBatchSchema } from '../core/readings/records';
import { describeZodError } from '../core/config/schema';
import { sensorTopic, deviceConfigTopic } from '../core/mqtt/topics';
import { buildDeviceConfig } from '../core/mqtt/device-config';
import type { FlmDeviceNode, DeviceContext } from './flm-device';
import { Status } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText, statusText } from './lib/close';

interface SensorDef extends NodeDef {
  device: string;
}

type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
type Done = (err?: Error) => void;

/** Counters are saved this often while they move; a kill -9 loses at most this much. */
const SAVE_INTERVAL_MS = 5000;
const MAX_QUEUED = 1000;

export function readingMessage(r: Reading, deviceId: string): NodeMessage {
  const flm: Record<string, unknown> = {
    sid: r.sid, kind: r.kind, name: r.sensor.name, type: r.sensor.type, unit: r.unit, deviceId,
  };
  if (r.sensor.subtype) flm.subtype = r.sensor.subtype;
  return { topic: sensorTopic(r.sid, r.kind), payload: [r.ts, r.value, r.unit], retain: true, qos: 0, flm } as NodeMessage;
}

export default function (RED: NodeAPI): void {
  function FlmSensor(this: Node, def: SensorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    const res = new Resources();
    const deviceNode = RED.nodes.getNode(def.device) as FlmDeviceNode | null;
    const stats = { readings: 0, rejects: 0, held: 0 };
    let engine: { computer: ReadingComputer; file: CounterStateFile; ctx: DeviceContext } | undefined;
    let failed: Error | undefined;
    let flowsStarted = false;
    let configSent = false;
    const queue: Array<[NodeMessageInFlow, Send, Done]> = [];

    const reportError = (err: unknown) => {
      status.error(statusText(err));
      node.error(errorText(err));
    };

    const save = async () => {
      if (engine && engine.computer.dirty) await engine.file.save(engine.computer.snapshot());
    };

    const sendConfig = () => {
      if (!engine || !flowsStarted || configSent) return;
      configSent = true;
      const { device } = engine.ctx;
      node.send({ topic: deviceConfigTopic(device.id), payload: buildDeviceConfig(device), retain: true, qos: 0 } as NodeMessage);
    };

    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      sendConfig();
    });

    const handle = (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (failed) return done(failed);
      if (!engine) {
        if (queue.length >= MAX_QUEUED) return done(new Error('not started yet and the input queue is full'));
        queue.push([msg, send, done]);
        return;
      }
      try {
        const parsed = boardBatchSchema.safeParse(msg.payload);
        if (!parsed.success) throw new Error(`not a board batch: ${describeZodError(parsed.error)}`);
        const result = engine.computer.process(parsed.data);
        if (result.readings.length) {
          stats.readings += result.readings.length;
          send([result.readings.map((r) => readingMessage(r, engine!.ctx.device.id))]);
        }
        if (result.heldBack) {
          stats.held++;
          const ts = Math.floor(parsed.data.time / 1000);
          throw new Error(`clock not valid: ${ts} is at or before ${engine.ctx.device.validAfter}; readings held back until the clock is set (counters keep counting)`);
        }
        if (result.errors.length) throw new Error(result.errors.join('; '));
        status.ok(`${engine.ctx.device.sensors.length} sensors · ${stats.readings} out${stats.rejects ? ` · ${stats.rejects} rejects` : ''}`);
        done();
      } catch (err) {
        stats.rejects++;
        const text = stats.held && /clock/.test(errorText(err)) ? `clock invalid · ${stats.held} held` : `${stats.rejects} rejects: ${errorText(err)}`;
        status.error(text.slice(0, 60));
        done(err instanceof Error ? err : new Error(String(err)));
      }
    };

    node.on('input', handle);

    if (!deviceNode) {
      failed = new Error('no flm-device configured: pick or add one in the node settings');
      status.error('no device');
    } else {
      status.idle('starting');
      (async () => {
        const ctx = await deviceNode.ready;
        if (!deviceNode.claimCounters(node.id)) {
          throw new Error(`device ${ctx.device.id} already has an flm-sensor node; one device, one sensor node`);
        }
        const file = new CounterStateFile(join(ctx.dataDir, `counters-${ctx.device.id}.json`));
        const loaded = await file.load();
        if (loaded.warning) node.warn(loaded.warning);
        if (res.isDisposed) return;
        engine = { computer: new ReadingComputer(ctx.device, loaded.state), file, ctx };
        status.ok(`${ctx.device.sensors.length} sensors`);
        res.interval(SAVE_INTERVAL_MS, save, reportError);
        sendConfig();
        for (const [m, s, d] of queue.splice(0)) handle(m, s, d);
      })().catch((err: unknown) => {
        failed = err instanceof Error ? err : new Error(String(err));
        reportError(err);
        for (const [, , d] of queue.splice(0)) d(failed);
      });
    }

    onCloseBounded(node, async () => {
      res.dispose();
      deviceNode?.releaseCounters(node.id);
      await save();
    });
  }

  RED.nodes.registerType('flm-sensor', FlmSensor as never);
}
