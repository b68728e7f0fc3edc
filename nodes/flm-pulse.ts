import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  PulseInput,
  eventTime,
  PULSE_TRIGGERS,
  type PulseTarget,
  type PulseTrigger,
} from '../core/readings/pulse-input';
import { pulseStatusView } from '../core/readings/pulse-status';
import { BOARD_BATCH_TOPIC } from '../core/mqtt/board-batch';
import { Status, statusTranslator, rejectsWhy } from './lib/status';
import { Resources } from './lib/resources';
import { onCloseBounded, errorText } from './lib/close';
import { numberSetting, textSetting, setting, parseSettings } from './lib/settings';
import type { Send, Done } from './lib/startup-queue';
import { Rejects } from './lib/rejects';

type PulseDef = NodeDef & Record<string, unknown>;

const SID = /^[0-9a-f]{32}$/;

/** The pulse sensor: by its port in the flm-device table (`port`) or by its sensor id (`sid`). */
function pulseTarget(def: { port?: unknown; sid?: unknown }): PulseTarget {
  const sid = textSetting(def.sid).toLowerCase();
  const portText = textSetting(def.port);
  if (sid && portText) throw new Error('give a port or a sensor id, not both');
  if (sid) {
    if (!SID.test(sid)) throw new Error(`sensor id "${sid}" is not 32 hex characters`);
    return { sid };
  }
  if (!portText) throw new Error('no port set: the port of a pulse sensor in the flm-device table (e.g. 7)');
  return { port: numberSetting(portText, 0, 'port', (n) => Number.isInteger(n) && n >= 1 && n <= 255) };
}

const schema = z.preprocess(
  (d) => ({ ...(d as object), target: d }),
  z.object({
    target: setting.read((v) => pulseTarget(v as { port?: unknown; sid?: unknown })),
    trigger: setting.oneOf<PulseTrigger>(
      PULSE_TRIGGERS,
      'falling',
      (t) => `trigger "${t}" is not falling, rising or message`,
    ),
    /** ms */
    debounce: setting.number(0, 'debounce', (n) => n >= 0 && n <= 60_000),
    /** s between idle batches, so gauges fall when pulses stop; 0: none */
    tick: setting
      .number(1, 'idle tick', (n) => n === 0 || (n >= 0.1 && n <= 3600))
      .transform((t) => Math.round(t * 1000)),
  }),
);

function readSettings(def: PulseDef): { input: PulseInput; tickMs: number; label: string } {
  const { target, trigger, debounce, tick } = parseSettings(schema, def);
  const label = 'port' in target ? `port ${target.port}` : `sensor ${target.sid.slice(0, 8)}…`;
  return { input: new PulseInput({ trigger, debounceMs: debounce, target }), tickMs: tick, label };
}

export default function (RED: NodeAPI): void {
  function FlmPulse(this: Node, def: PulseDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-pulse'));
    const res = new Resources();
    onCloseBounded(node, () => res.dispose());
    let settings: ReturnType<typeof readSettings>;
    try {
      settings = readSettings(def);
    } catch (err) {
      status.failed(err);
      const failure = err instanceof Error ? err : new Error(String(err));
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => done(failure));
      return;
    }
    const { input, tickMs, label } = settings;
    const rejects = new Rejects(node);
    let lastSent = Date.now();

    const render = () => status.show(pulseStatusView(label, input.stats, rejects.total));

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      try {
        const now = Date.now();
        const time = eventTime((msg as { timestamp?: unknown }).timestamp, now);
        if (input.event(msg.payload, time) === 'counted') {
          lastSent = now;
          send({ topic: BOARD_BATCH_TOPIC, payload: input.batch(1, now) } as NodeMessage);
        }
        render();
        done();
      } catch (err) {
        rejects.fail(done, err);
        status.error(rejectsWhy(status, rejects.total, errorText(err)).slice(0, 60));
      }
    });

    if (tickMs > 0) {
      // A batch with no pulse now and then: flm-sensor lowers the gauge as the silence grows.
      res.interval(
        tickMs,
        () => {
          const now = Date.now();
          if (now - lastSent < tickMs || input.lastPulseTime === undefined) return;
          lastSent = now;
          node.send({ topic: BOARD_BATCH_TOPIC, payload: input.batch(0, now) } as NodeMessage);
        },
        (err) => status.failed(err),
      );
    }
    render();
  }

  RED.nodes.registerType('flm-pulse', FlmPulse as never);
}
