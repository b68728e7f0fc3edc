import mqtt from 'mqtt';
import type { BoardBatch, PortRecord } from '../core/mqtt/board-batch';
import type { SensorInput } from '../core/config/schema';

/** A house with `n` sensors: half analog clamps (ports 1..n/2), half pulse meters. */
export function bigHouse(n: number): SensorInput[] {
  return Array.from({ length: n }, (_, i) =>
    i < n / 2
      ? { n: i + 1, name: `clamp${i + 1}`, type: 'electricity' as const, class: 'analog' as const, port: [i + 1] }
      : {
          n: i + 1,
          name: `pulse${i + 1}`,
          type: 'water' as const,
          class: 'pulse' as const,
          port: [i + 1],
          constant: 1,
        },
  );
}

/** One second of that house: every clamp reports power, every pulse meter one pulse. */
export function secondOf(n: number, time: number): BoardBatch {
  const records: PortRecord[] = [];
  for (let i = 0; i < n; i++) {
    records.push(
      i < n / 2
        ? { kind: 'analog', port: i + 1, power: 100 + ((time / 1000 + i) % 50) }
        : { kind: 'pulse', port: i + 1, pulses: 1, time: time - 10 * i },
    );
  }
  return { time, records };
}

/** A subscriber that resolves when `expected` messages arrived. */
export async function counter(port: number, topic: string) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  let got = 0;
  let want = Infinity;
  let release: () => void = () => undefined;
  client.on('message', () => {
    got++;
    if (got >= want) release();
  });
  await client.subscribeAsync(topic, { qos: 0 });
  return {
    client,
    get count() {
      return got;
    },
    until(expected: number): Promise<void> {
      want = expected;
      return got >= expected ? Promise.resolve() : new Promise((r) => (release = r));
    },
  };
}

export const fmt = (n: number, d = 2) => n.toFixed(d);

type Comparison = '<' | '<=' | '>=' | '>';
const holds: Record<Comparison, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
};

/**
 * A goal line: what was measured, the goal, and the verdict last. Every goal of every bench is
 * printed here, so none can go without its MET / NOT MET (`npm run bench` calls out a bench
 * that states none, and any line that speaks of a goal without a verdict).
 */
export function goal(
  what: string,
  measured: number,
  cmp: Comparison,
  target: number,
  opts: { digits?: number; unit?: string; note?: string } = {},
): boolean {
  const unit = opts.unit ?? '';
  const text = `${what}: ${fmt(measured, opts.digits ?? 2)}${unit} (goal ${cmp} ${target}${unit})${opts.note ? `; ${opts.note}` : ''}`;
  return verdict(text, holds[cmp](measured, target));
}

/** A goal that is not one number against one bound (e.g. two limits at once): the text states the goal, the verdict comes here. */
export function verdict(text: string, met: boolean): boolean {
  console.log(`goal: ${text} ${met ? 'MET' : 'NOT MET'}`);
  return met;
}
