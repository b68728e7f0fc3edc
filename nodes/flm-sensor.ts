import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SensorEngine } from '../core/readings/sensor-engine';
import { DEFAULT_P1_LIMITS } from '../core/readings/p1-totals-guard';
import { deviceNodeParts } from './lib/device-node-parts';
import { onCloseBounded } from './lib/close';
import { setting, parseSettings } from './lib/settings';
import type { Send, Done } from './lib/startup-queue';
import { asMessage, logTo } from './lib/controller';

export { readingMessage } from '../core/readings/sensor-engine';

type SensorDef = NodeDef & Record<string, unknown> & { device: string };

/** Counters, with reservations ahead of them, are saved this often while they move. */
const SAVE_INTERVAL_MS = 5000;

/** P1: the grid connection, kW, and the most gas and water flow, m³/h (empty: the defaults) */
const schema = z.object({
  p1MaxPowerKw: setting.number(DEFAULT_P1_LIMITS.maxPowerW / 1000, 'P1 connection (kW)', (n) => n > 0),
  p1MaxGasM3h: setting.number(DEFAULT_P1_LIMITS.maxGasM3h, 'P1 gas flow (m³/h)', (n) => n > 0),
  p1MaxWaterM3h: setting.number(DEFAULT_P1_LIMITS.maxWaterM3h, 'P1 water flow (m³/h)', (n) => n > 0),
});

export default function (RED: NodeAPI): void {
  function FlmSensor(this: Node, def: SensorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(
      RED,
      node,
      def.device,
      'the reading computation',
    );
    let engine: SensorEngine | undefined;
    let flowsStarted = false;
    let configSent = false;

    /** The table goes out once the flows run, and again whenever a source derives new sensors. */
    const sendConfig = (again = false) => {
      if (!engine || !flowsStarted || (configSent && !again)) return;
      configSent = true;
      node.send(asMessage(engine.configMessage()));
    };
    res.on(RED.events as never, 'flows:started', () => {
      flowsStarted = true;
      sendConfig();
    });

    const handle = (e: SensorEngine) => (msg: NodeMessageInFlow, send: Send, done: Done) => {
      e.process(msg.topic, msg.payload, (out) => send([out.map(asMessage)])).then(
        (view) => {
          if (view) status.show(view);
          done();
        },
        (err: unknown) => {
          rejects.fail(done, err);
          status.show(e.errorView(err));
        },
      );
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    if (!deviceNode) {
      gate.fail(new Error('no flm-device configured: pick or add one in the node settings'));
      status.error(status.say('noDevice', 'no device'));
    } else {
      status.idle(status.say('starting', 'starting'));
      (async () => {
        const s = parseSettings(schema, def);
        const ctx = await deviceNode.ready;
        if (!deviceNode.claimCounters(node.id)) {
          throw new Error(`device ${ctx.device.id} already has an flm-sensor node; one device, one sensor node`);
        }
        const e = await SensorEngine.open({
          ...ctx,
          p1Limits: { maxPowerW: s.p1MaxPowerKw * 1000, maxGasM3h: s.p1MaxGasM3h, maxWaterM3h: s.p1MaxWaterM3h },
          log: logTo(node),
          rejects: () => rejects.total,
        });
        if (res.isDisposed) return;
        engine = e;
        status.show(e.startView);
        res.on(ctx.sensors, 'change', () => sendConfig(true));
        res.interval(
          SAVE_INTERVAL_MS,
          () => e.save(),
          (err) => status.failed(err),
        );
        sendConfig();
        gate.ready(handle(e));
      })().catch((err: unknown) => {
        gate.fail(err instanceof Error ? err : new Error(String(err)));
        status.failed(err);
      });
    }

    onCloseBounded(node, async () => {
      res.dispose();
      deviceNode?.releaseCounters(node.id);
      await engine?.close();
    });
  }

  RED.nodes.registerType('flm-sensor', FlmSensor as never);
}
