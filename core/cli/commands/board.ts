import { z } from 'zod';
import type { CliIo, Command, Options } from '../command';
import { parseFlags, UsageError } from '../command';
import { serialPortConnector, describeSerial, type SerialSettings } from '../../link/serial-port';
import type { Connection } from '../../link/reconnecting';
import { Flm03Decoder } from '../../flx/flm03-decoder';
import { flm03TypeName } from '../../flx/flm03-messages';
import { flm03ToJson } from '../../flx/flm03-json';
import { BoardEmulator, type ClampLoad, type KubeNode, type PulseTrain } from '../../flx/emulator';
import { EmulatorPort, type EmulatedBoard } from '../../flx/emulator-port';
import { Flm02Emulator } from '../../flx/flm02-emulator';
import { boardProtocolSchema, DEFAULT_BAUD, type BoardProtocol } from '../../flx/board-link';
import { sniffFlm02 } from './board-flm02';

const serialFlags = {
  protocol: z.string().toLowerCase().pipe(boardProtocolSchema).default('flm03'),
  port: z.string().min(1),
  /** default: the protocol's (FLM03 460800, FLM02 115200) */
  baud: z.coerce.number().int().min(300).max(4_000_000).optional(),
  seconds: z.coerce
    .number()
    .positive()
    .max(31 * 86400)
    .optional(),
};
const baudOf = (flags: { protocol: BoardProtocol; baud?: number | undefined }): number =>
  flags.baud ?? DEFAULT_BAUD[flags.protocol];

const settingsFor = (baud: number): SerialSettings => ({ baudRate: baud, dataBits: 8, parity: 'none', stopBits: 1 });

/** Resolves with why a run should end: the time is up, a signal, or what the caller reports. */
export function endings(seconds: number | undefined): {
  ended: Promise<string>;
  end: (why: string) => void;
  dispose: () => void;
} {
  let end!: (why: string) => void;
  const ended = new Promise<string>((resolve) => (end = resolve));
  const timer = seconds ? setTimeout(() => end('time is up'), seconds * 1000) : undefined;
  const onSignal = () => end('interrupted');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    ended,
    end,
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

const serialOptions: Options = {
  port: { type: 'string', value: 'DEV', help: 'the serial device, e.g. /dev/serial0 (required)' },
  protocol: { type: 'string', value: 'flm03|flm02', help: 'the board (default flm03)' },
  baud: { type: 'string', value: 'N', help: 'baud rate (default: FLM03 460800, FLM02 115200)' },
  seconds: { type: 'string', value: 'N', help: 'stop after N seconds (default: Ctrl-C)' },
};

export const boardSniffCommand: Command = {
  path: ['board', 'sniff'],
  summary: 'read an FLM sensor board port: a JSON line per decoded frame',
  args: '--port DEV',
  options: serialOptions,
  details: [
    'FLM03: a JSON line per frame (seen: the host time). FLM02: the board speaks when asked, so this ' +
      'polls it read only (gh, then gd once a second), a line per reply. Statistics at the end; exit code 1 ' +
      'when nothing was decoded.',
  ],
  examples: [
    'flm board sniff --port /dev/serial0 --seconds 10',
    'flm board sniff --port /dev/ttyUSB0 --protocol flm02',
  ],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, serialOptions, z.object(serialFlags));
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const settings = settingsFor(baudOf(flags));
    if (flags.protocol === 'flm02') return sniffFlm02(io, flags.port, settings, flags.seconds);
    const what = `${flags.port} ${describeSerial(settings)}`;
    const t0 = Date.now();
    const run = endings(flags.seconds);
    const decoder = new Flm03Decoder({
      onMalformed: (typeId, reason) =>
        io.stdout.write(
          JSON.stringify({
            seen: new Date().toISOString(),
            type: 'malformed',
            typeId,
            name: flm03TypeName(typeId) ?? null,
            reason,
          }) + '\n',
        ),
    });
    let conn: Connection;
    try {
      conn = await serialPortConnector({ path: flags.port, settings })(
        {
          data: (chunk) => {
            // `seen`: host time of arrival; a message's own `time` is the board's clock.
            const seen = new Date().toISOString();
            for (const m of decoder.push(chunk)) io.stdout.write(JSON.stringify({ seen, ...flm03ToJson(m) }) + '\n');
          },
          closed: (err) => run.end(err ? `connection lost: ${err.message}` : 'connection closed'),
        },
        { attempt: 1, previous: 'first' },
      );
    } catch (err) {
      run.dispose();
      throw new Error(`cannot open ${what}: ${(err as Error).message}`);
    }
    io.stderr.write(`reading ${conn.label}${flags.seconds ? ` for ${flags.seconds} s` : ' (Ctrl-C to stop)'}\n`);
    const why = await run.ended;
    run.dispose();
    await conn.close();
    const s = decoder.stats;
    const stats = { seconds: Math.round((Date.now() - t0) / 100) / 10, ...s, pending: decoder.bufferedBytes };
    io.stdout.write(JSON.stringify({ stats, end: why }) + '\n');
    if (s.frames === 0) {
      io.stderr.write(
        `flm board sniff: no frame from ${what}: check the port and the baud rate (the FLM03 board talks at 460800)\n`,
      );
      return 1;
    }
    return 0;
  },
};

/** `1:2300` (constant W, negative for export) or `1:200-5200@900` (between 200 and 5200 W over 900 s); `,pf=0.9` after either. */
export function parseClamp(spec: string): ClampLoad {
  const m = /^([1-3]):(-?\d+(?:\.\d+)?)(?:-(-?\d+(?:\.\d+)?)@(\d+(?:\.\d+)?))?(?:,pf=(0?\.\d+|1(?:\.0+)?))?$/.exec(
    spec.trim(),
  );
  if (!m)
    throw new UsageError(
      `--clamp "${spec}": use PORT:WATTS or PORT:MIN-MAX@PERIOD_S, e.g. 1:2300 or 1:200-5200@900 (ports 1-3), optionally ,pf=0.9`,
    );
  const pf = m[5] === undefined ? {} : { pf: Number(m[5]) };
  if (m[3] === undefined) return { port: Number(m[1]), watts: Number(m[2]), ...pf };
  if (Number(m[4]) <= 0) throw new UsageError(`--clamp "${spec}": the period must be above 0 s`);
  return { port: Number(m[1]), min: Number(m[2]), max: Number(m[3]), periodS: Number(m[4]), ...pf };
}

/** `4:2.5` (pulses a second, for ever) or `4:3x10000` (3 a second, 10,000 in all); ports 4-6. */
export function parsePulses(spec: string, jitterMs = 0): PulseTrain {
  const m = /^([4-6]):(\d+(?:\.\d+)?)(?:x(\d+))?$/.exec(spec.trim());
  if (!m || !(Number(m[2]) > 0 && Number(m[2]) <= 1000)) {
    throw new UsageError(
      `--pulses "${spec}": use PORT:RATE or PORT:RATExCOUNT, e.g. 4:2.5 or 4:3x10000 (ports 4-6, up to 1000 a second)`,
    );
  }
  return {
    port: Number(m[1]),
    rate: Number(m[2]),
    ...(m[3] !== undefined ? { count: Number(m[3]) } : {}),
    ...(jitterMs ? { jitterMs } : {}),
  };
}

const KUBE_KEYS = ['every', 'temperature', 'humidity', 'battery', 'pressure', 'light', 'motion'] as const;

/** `3:flk01b` or `3:flk01a,every=300,temperature=19.5,motion=2,ack`: a Kube with node id 3 (1-30). */
export function parseKube(spec: string): KubeNode {
  const [head, ...rest] = spec.trim().split(',');
  const m = /^(\d{1,2}):(flk01a|flk01b)$/i.exec(head ?? '');
  const usage = `--kube "${spec}": use NID:MODEL[,every=S][,temperature=C][,humidity=%][,battery=V][,pressure=Pa][,light=lx][,motion=N][,ack], e.g. 3:flk01b,every=60 (node id 1-30, model flk01a or flk01b)`;
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 30) throw new UsageError(usage);
  const node: KubeNode = { nid: Number(m[1]), model: m[2]!.toLowerCase() as KubeNode['model'] };
  for (const part of rest) {
    if (part === 'ack') {
      node.ack = true;
      continue;
    }
    const [key, value] = part.split('=');
    const n = Number(value);
    if (!KUBE_KEYS.includes(key as never) || value === undefined || value === '' || !Number.isFinite(n))
      throw new UsageError(usage);
    if (key === 'every') node.everyS = n;
    else node[key as Exclude<(typeof KUBE_KEYS)[number], 'every'>] = n;
  }
  if (!((node.everyS ?? 60) > 0) || (node.motion !== undefined && !(Number.isInteger(node.motion) && node.motion >= 0)))
    throw new UsageError(usage);
  return node;
}

const emulateFlags = z.object({
  ...serialFlags,
  'avr-ms': z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  speed: z.coerce.number().positive().max(100_000).default(1),
  clamp: z.array(z.string()).default([]),
  pulses: z.array(z.string()).default([]),
  kube: z.array(z.string()).default([]),
  jitter: z.coerce.number().int().min(0).max(10_000).default(0),
  for: z.coerce
    .number()
    .positive()
    .max(366 * 86400)
    .optional(),
  start: z.string().optional(),
  'stamp-every': z.coerce.number().min(0).max(86400).default(0),
  voltage: z.coerce.number().positive().max(1000).default(230),
  seed: z.coerce.number().int().default(1),
  history: z.boolean().default(false),
  configured: z.boolean().default(false),
});

const emulateOptions: Options = {
  ...serialOptions,
  seconds: { type: 'string', value: 'N', help: 'stop after N seconds of wall time (default: Ctrl-C)' },
  speed: { type: 'string', value: 'X', help: 'clock speed: 10 plays ten seconds a second (default 1)' },
  clamp: {
    type: 'string',
    value: 'SPEC',
    multiple: true,
    help: 'a clamp load: PORT:WATTS or PORT:MIN-MAX@PERIOD_S (ports 1-3, negative W for export), ,pf=0.9 after either',
  },
  pulses: {
    type: 'string',
    value: 'SPEC',
    multiple: true,
    help: 'a pulse train: PORT:RATE or PORT:RATExCOUNT, pulses a second (ports 4-6)',
  },
  kube: {
    type: 'string',
    value: 'SPEC',
    multiple: true,
    help:
      'a FluksoKube on the radio: NID:flk01a|flk01b with ,every=S ,temperature=C ,humidity=% ,battery=V ' +
      ',pressure=Pa ,light=lx ,motion=N ,ack',
  },
  jitter: { type: 'string', value: 'MS', help: 'each pulse moves by up to ± MS ms, seeded (default 0)' },
  for: {
    type: 'string',
    value: 'S',
    help: "loads stop and pulse trains end S seconds of the board's time after it is configured (default: never)",
  },
  configured: { type: 'boolean', help: 'configure itself instead of waiting for a host to send the port config' },
  seed: { type: 'string', value: 'N', help: 'the seed of the random parts (default 1)' },
  start: { type: 'string', value: 'TIME', help: "FLM03: the board clock's start, ISO 8601 (default now)" },
  history: { type: 'boolean', help: "FLM03: the truth keeps each second's average power per clamp" },
  'stamp-every': {
    type: 'string',
    value: 'S',
    help: 'FLM03: a time_stamp every S seconds (default 0: only when configured)',
  },
  voltage: { type: 'string', value: 'V', help: 'FLM03: the mains voltage (default 230)' },
  'avr-ms': { type: 'string', value: 'MS', help: "FLM02: the board's ms clock at the start (default 0)" },
};

export const boardEmulateCommand: Command = {
  path: ['board', 'emulate'],
  summary: 'play an FLM03 (or FLM02) sensor board on a serial device',
  args: '--port DEV',
  options: emulateOptions,
  details: [
    'Clamp loads, pulse trains and Kubes, in real or accelerated time. It pings until a host sends ' +
      'its port config (or configures itself with --configured), and prints its truth (energy, pulses, ' +
      'totals) as JSON when it ends; exit code 1 when no host configured it.',
  ],
  examples: [
    'socat pty,raw,echo=0,link=/tmp/flmA pty,raw,echo=0,link=/tmp/flmB &',
    'flm board emulate --port /tmp/flmB --clamp 1:200-3000@600 --pulses 4:0.5',
  ],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, emulateOptions, emulateFlags);
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const start = flags.start === undefined ? Date.now() : Date.parse(flags.start);
    if (!Number.isFinite(start))
      throw new UsageError(`--start: "${flags.start}" is not a date (ISO 8601, e.g. 2026-06-21T12:00:00Z)`);
    const clamps = flags.clamp.map(parseClamp);
    const pulses = flags.pulses.map((p) => parsePulses(p, flags.jitter));
    for (const list of [clamps, pulses] as const) {
      const ports = list.map((x) => x.port);
      const twice = ports.find((p, i) => ports.indexOf(p) !== i);
      if (twice !== undefined) throw new UsageError(`port ${twice} is given twice`);
    }
    const kubes = flags.kube.map(parseKube);
    const nids = kubes.map((k) => k.nid);
    const twiceKube = nids.find((n, i) => nids.indexOf(n) !== i);
    if (twiceKube !== undefined) throw new UsageError(`Kube ${twiceKube} is given twice`);
    const durationS = flags.for !== undefined ? { durationS: flags.for } : {};
    let emulator: BoardEmulator | Flm02Emulator;
    try {
      emulator =
        flags.protocol === 'flm02'
          ? new Flm02Emulator({ clamps, pulses, kubes, seed: flags.seed, avrMsStart: flags['avr-ms'], ...durationS })
          : new BoardEmulator({
              start,
              clamps,
              pulses,
              kubes,
              voltage: flags.voltage,
              seed: flags.seed,
              history: flags.history,
              stampEveryS: flags['stamp-every'],
              ...durationS,
            });
    } catch (err) {
      throw err instanceof RangeError ? new UsageError(err.message) : err;
    }
    const baudRate = baudOf(flags);
    const where = `${flags.port} ${describeSerial(settingsFor(baudRate))}`;
    const port = new EmulatorPort<AnyEmulator>(emulator, {
      path: flags.port,
      baudRate,
      speed: flags.speed,
      selfConfigure: flags.configured,
    });
    return emulate(io, port, flags.protocol, where, flags.seconds);
  },
};

type AnyEmulator = EmulatedBoard & {
  options: { clamps?: readonly unknown[]; pulses?: readonly unknown[]; kubes?: readonly unknown[] };
  truth(): unknown;
};

async function emulate(
  io: CliIo,
  port: EmulatorPort<AnyEmulator>,
  protocol: BoardProtocol,
  where: string,
  seconds: number | undefined,
): Promise<number> {
  const o = port.emulator.options;
  const what = `${o.clamps?.length ?? 0} clamp(s), ${o.pulses?.length ?? 0} pulse train(s)${o.kubes?.length ? `, ${o.kubes.length} Kube(s)` : ''}`;
  try {
    await port.start();
  } catch (err) {
    throw new Error(`cannot open ${where}: ${(err as Error).message}`);
  }
  io.stderr.write(
    `emulating an ${protocol.toUpperCase()} board on ${where}, ${what}, ×${port.speed}${seconds ? ` for ${seconds} s` : ' (Ctrl-C to stop)'}\n`,
  );
  const run = endings(seconds);
  const why = await Promise.race([port.done, run.ended]);
  run.dispose();
  await port.stop();
  io.stdout.write(JSON.stringify({ truth: port.emulator.truth(), stats: port.stats, end: why }) + '\n');
  if (!port.emulator.configured) {
    io.stderr.write(
      protocol === 'flm02'
        ? 'flm board emulate: no host configured the board (no ct committed a sensor table)\n'
        : 'flm board emulate: no host configured the board (nothing answered its pings with a port_config)\n',
    );
    return 1;
  }
  return /^(connection lost|write failed)/.test(why) ? 1 : 0;
}
