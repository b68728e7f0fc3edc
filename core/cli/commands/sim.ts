import { z } from 'zod';
import type { Command, Options } from '../command';
import { parseFlags } from '../command';
import { Household, DEFAULT_HOUSEHOLD } from '../../sim/household';
import { ReadingComputer } from '../../readings/computer';
import { parseDevice } from '../../config/device';
import { encodeReading } from '../../mqtt/payload';
import { sensorTopic } from '../../mqtt/topics';

const flagsSchema = z.object({
  seed: z.coerce.number().int().default(1),
  seconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(31 * 86400)
    .default(60),
  start: z.string().default(''),
  phase: z.enum(['1', '3']).default('1'),
  readings: z.boolean().default(false),
});

/** The default flow's sensor table, on a device id fixed for the CLI's output to be reproducible. */
const SIM_DEVICE = {
  id: '00000000000000000000000000000000',
  key: '00000000000000000000000000000000',
};

const options: Options = {
  seconds: { type: 'string', value: 'N', help: 'how many seconds to simulate (default 60)' },
  seed: { type: 'string', value: 'N', help: 'the seed: the same seed gives the same household (default 1)' },
  start: { type: 'string', value: 'TIME', help: 'the first second, ISO 8601, e.g. 2026-06-21T12:00:00Z (default now)' },
  phase: { type: 'string', value: '1|3', help: 'a single-phase or a three-phase mains clamp (default 1)' },
  readings: {
    type: 'boolean',
    help: 'print FLM readings (topic and payload, as mosquitto_sub -v shows them) instead of board batches',
  },
};

export const simCommand: Command = {
  path: ['sim'],
  summary: 'print a simulated household: board batches, or FLM readings with --readings',
  options,
  details: [
    'The household of the default flow: a mains clamp, solar on a pulse input, gas and water. ' +
      'One JSON line per simulated second, printed as fast as it is computed.',
  ],
  examples: ['flm sim --seconds 5 --readings', 'flm sim --seconds 3600 --seed 7 --phase 3 > hour.jsonl'],
  async run(args, io) {
    const { flags } = parseFlags(args, options, flagsSchema);
    const start = flags.start ? Date.parse(flags.start) : Date.now();
    if (!Number.isFinite(start))
      throw new Error(`--start: "${flags.start}" is not a date (use ISO 8601, e.g. 2026-06-21T12:00:00Z)`);
    const phase = Number(flags.phase) as 1 | 3;
    const house = new Household({ ...DEFAULT_HOUSEHOLD, seed: flags.seed, phase }, start);
    const computer = flags.readings
      ? new ReadingComputer(
          parseDevice({
            ...SIM_DEVICE,
            sensors: [
              { n: 1, name: 'main', type: 'electricity', class: 'analog', port: phase === 3 ? [1, 2, 3] : [1] },
              {
                n: 2,
                name: 'solar',
                type: 'electricity',
                class: 'pulse',
                port: [4],
                constant: DEFAULT_HOUSEHOLD.solarConstant,
              },
              { n: 3, name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: DEFAULT_HOUSEHOLD.gasConstant },
              {
                n: 4,
                name: 'water',
                type: 'water',
                class: 'pulse',
                port: [6],
                constant: DEFAULT_HOUSEHOLD.waterConstant,
              },
            ],
          }),
        )
      : undefined;
    for (let i = 0; i < flags.seconds; i++) {
      const batch = house.step();
      if (!computer) {
        io.stdout.write(JSON.stringify(batch) + '\n');
        continue;
      }
      for (const r of computer.process(batch).readings) {
        io.stdout.write(`${sensorTopic(r.sid, r.kind)} ${encodeReading(r.ts, r.value, r.unit)}\n`);
      }
    }
    return 0;
  },
};
