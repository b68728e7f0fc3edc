import { z } from 'zod';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Household, DEFAULT_HOUSEHOLD } from '../core/sim/household';
import { BOARD_BATCH_TOPIC } from '../core/mqtt/board-batch';
import { Status, statusTranslator } from './lib/status';
import { formatPower } from '../core/util/status-view';
import { Resources } from './lib/resources';
import { onCloseBounded } from './lib/close';
import { textSetting, setting, parseSettings } from './lib/settings';
import { standbyPhrase } from './lib/source-switch';
import { Rejects } from './lib/rejects';

type SimulatorDef = NodeDef & Record<string, unknown>;

const schema = z.object({
  speed: setting.number(1, 'speed', (n) => n > 0 && n <= 100_000),
  seed: setting.number(1, 'seed', Number.isInteger),
  phase: setting.number(1, 'phase', (n) => n === 1 || n === 3).transform((n) => n as 1 | 3),
  solarPeakW: setting.number(DEFAULT_HOUSEHOLD.solarPeakW, 'solar peak', (n) => n >= 0),
  /** blank: now */
  start: setting.read((v) => {
    const text = textSetting(v);
    const start = text ? Date.parse(text) : Date.now();
    if (!Number.isFinite(start))
      throw new Error(`start: "${text}" is not a date (use ISO 8601, e.g. 2026-06-21T12:00:00Z)`);
    return start;
  }),
});

/** Real-time tick: at speed 1 one batch a second; faster clocks emit several batches a tick. */
const MIN_TICK_MS = 20;
/** Bound the work of one tick whatever the speed or a stalled event loop asks for. */
const MAX_BATCHES_PER_TICK = 2000;

export default function (RED: NodeAPI): void {
  function FlmSimulator(this: Node, def: SimulatorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-simulator'));
    const res = new Resources();
    onCloseBounded(node, () => res.dispose());

    let household: Household;
    let speed: number;
    try {
      const standby = standbyPhrase(def.when, 'simulator');
      if (standby) return status.idle(status.phrase(standby));
      const { seed, phase, solarPeakW, start, ...rest } = parseSettings(schema, def);
      speed = rest.speed;
      household = new Household({ ...DEFAULT_HOUSEHOLD, seed, phase, solarPeakW }, start);
    } catch (err) {
      status.failed(err);
      return;
    }

    const realStart = Date.now();
    const simStart = household.time;
    const tickMs = Math.max(MIN_TICK_MS, Math.floor(1000 / speed));

    const tick = () => {
      const target = simStart + (Date.now() - realStart) * speed;
      const out: NodeMessage[] = [];
      while (household.time + 1000 <= target && out.length < MAX_BATCHES_PER_TICK) {
        out.push({ topic: BOARD_BATCH_TOPIC, payload: household.step() } as NodeMessage);
      }
      if (out.length === 0) return;
      node.send([out]);
      const clock = new Date(household.time).toISOString().slice(11, 19);
      const power = formatPower(household.mainsW);
      const at = `${speed === 1 ? '' : `×${speed} · `}${clock} UTC`;
      status.ok(status.say('running', `mains ${power} · ${at}`, { power, at }));
    };
    // A tick that fails fails again on the next one: once a minute in the log, not each tick.
    const failures = new Rejects(node);
    res.interval(tickMs, tick, (err) => {
      status.error(status.say('failed', 'simulator failed'));
      failures.error(err);
    });
    status.idle(status.say('seed', `seed ${household.opts.seed}`, { seed: household.opts.seed }));
  }

  RED.nodes.registerType('flm-simulator', FlmSimulator as never);
}
