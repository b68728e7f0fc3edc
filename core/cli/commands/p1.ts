import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { CliIo, Command, Options } from '../command';
import { parseFlags, UsageError } from '../command';
import { P1Stream, type P1StreamEvent } from '../../p1/source/stream';
import { serialConnector, describeSerial, type SerialSettings } from '../../p1/source/serial';
import { tcpConnector, parseHostPort } from '../../p1/source/tcp';
import type { Connection, Connector } from '../../link/reconnecting';
import { meterIdOf } from '../../p1/flm-readings';
import type { SmartyKeys } from '../../p1/smarty';
import type { CrcMode, CrcVariant } from '../../p1/check';
import { meterZone, type MeterZone } from '../../p1/time';
import type { P1Telegram, Quantity } from '../../p1/types';

const checkFlags = {
  mode: z.enum(['strict', 'warn', 'off']).default('strict'),
  variant: z.enum(['arc', 'x25', 'auto']).default('arc'),
  key: z
    .string()
    .regex(/^[0-9A-Fa-f]{32}$/, 'a Smarty key is 32 hex characters')
    .optional(),
  'auth-key': z
    .string()
    .regex(/^([0-9A-Fa-f]{32}|none)$/, 'an authentication key is 32 hex characters, or "none"')
    .optional(),
  zone: z.string().min(1).optional(),
};
const checkOptions: Options = {
  mode: {
    type: 'string',
    value: 'strict|warn|off',
    help: 'CRC check: strict drops a bad telegram, warn decodes it and says so, off skips it (default strict)',
  },
  variant: { type: 'string', value: 'arc|x25|auto', help: 'the CRC-16 variant: x25 for Holley meters (default arc)' },
  key: { type: 'string', value: 'HEX32', help: "a Luxembourg Smarty meter's decryption key" },
  'auth-key': { type: 'string', value: 'HEX32|none', help: "the Smarty meter's authentication key (with --key)" },
  zone: { type: 'string', value: 'ZONE', help: "the meter's time zone, an IANA name (default Europe/Brussels)" },
};

/** The P1Stream a command reads with: CRC mode and variant, Smarty keys, the meter's time zone. */
function streamOf(flags: {
  mode: CrcMode;
  variant: CrcVariant;
  key?: string;
  'auth-key'?: string;
  zone?: string;
}): P1Stream {
  let zone: MeterZone | undefined;
  try {
    zone = flags.zone === undefined ? undefined : meterZone(flags.zone);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return new P1Stream({
    mode: flags.mode,
    variant: flags.variant,
    smarty: smartyKeys(flags),
    ...(zone ? { zone } : {}),
    latestOnly: false,
  });
}

function smartyKeys(flags: { key?: string; 'auth-key'?: string }): SmartyKeys | undefined {
  if (!flags.key) {
    if (flags['auth-key']) throw new UsageError('--auth-key needs --key');
    return undefined;
  }
  const auth = flags['auth-key'];
  return auth === undefined ? { key: flags.key } : { key: flags.key, authKey: auth === 'none' ? null : auth };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.from(c));
  return Buffer.concat(chunks);
}

export const p1DecodeCommand: Command = {
  path: ['p1', 'decode'],
  summary: 'check and parse P1 telegrams in a file (- for stdin) as JSON lines',
  args: 'FILE|-',
  options: checkOptions,
  details: [
    'One JSON line per telegram (its registers and the CRC check); each telegram that fails is said on stderr ' +
      'and makes the exit code 1. Luxembourg Smarty frames are decrypted with --key.',
  ],
  examples: ['flm p1 decode telegram.txt', 'cat capture.bin | flm p1 decode - --mode warn'],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, checkOptions, z.object(checkFlags));
    if (positionals.length !== 1) throw new UsageError('give one FILE, or - to read stdin');
    const name = positionals[0]!;
    let bytes: Buffer;
    try {
      bytes = name === '-' ? await readAll(io.stdin) : await readFile(name);
    } catch (err) {
      throw new Error(`cannot read ${name}: ${(err as Error).message}`);
    }
    const stream = streamOf(flags);
    const events = stream.pushMessage(bytes);
    let failures = 0;
    events.forEach((e, i) => {
      if (e.type === 'telegram') {
        io.stdout.write(JSON.stringify({ ...e.telegram, check: e.check }) + '\n');
        return;
      }
      failures++;
      const where = events.length > 1 ? ` telegram ${i + 1} of ${events.length}` : '';
      const hint = e.kind === 'crc' ? ' (--mode warn decodes it anyway; --variant x25 for Holley meters)' : '';
      io.stderr.write(
        `flm p1 decode: ${name === '-' ? 'stdin' : name}${where}: ${e.message.replace(/^telegram rejected: /, '')}${hint}\n`,
      );
    });
    return failures ? 1 : 0;
  },
};

const sniffFlags = z.object({
  port: z.string().min(1).optional(),
  tcp: z.string().min(1).optional(),
  baud: z.coerce.number().int().min(300).max(4_000_000).default(115200),
  parity: z.enum(['none', 'even']).default('none'),
  seconds: z.coerce
    .number()
    .positive()
    .max(31 * 86400)
    .optional(),
  json: z.boolean().default(false),
  ...checkFlags,
});

/** Net power in W, import positive, export negative; null when the meter sends no power. */
function netPowerW(t: P1Telegram): number | null {
  const toW = (q?: Quantity): number | null => {
    if (!q) return null;
    const f = q.unit === 'kW' ? 1000 : q.unit === 'W' || q.unit === null ? 1 : q.unit === 'MW' ? 1e6 : NaN;
    return Number.isFinite(f) ? q.value * f : null;
  };
  const d = toW(t.electricity.power.delivered);
  const r = toW(t.electricity.power.returned);
  if (d === null && r === null) return null;
  return Math.round((d ?? 0) - (r ?? 0));
}

const sniffOptions: Options = {
  port: { type: 'string', value: 'DEV', help: 'the serial device of the P1 cable, e.g. /dev/ttyUSB0' },
  tcp: { type: 'string', value: 'HOST:PORT', help: 'a P1 Wi-Fi dongle or ser2net instead of --port' },
  baud: { type: 'string', value: 'N', help: 'baud rate (default 115200)' },
  parity: { type: 'string', value: 'none|even', help: 'parity; even means 7 data bits (default none)' },
  seconds: { type: 'string', value: 'N', help: 'stop after N seconds (default: Ctrl-C)' },
  json: { type: 'boolean', help: 'one JSON object a line, and the statistics as JSON' },
  ...checkOptions,
};

export const p1SniffCommand: Command = {
  path: ['p1', 'sniff'],
  summary: 'read a P1 port (or a P1 dongle over TCP) live: a line per telegram',
  args: '--port DEV|--tcp HOST:PORT',
  options: sniffOptions,
  details: [
    'A line per telegram (meter id, net power, CRC), statistics at the end; exit code 1 when no good telegram came. ' +
      'DSMR 2.2 and 3 meters talk 9600 7E1: --baud 9600 --parity even.',
  ],
  examples: ['flm p1 sniff --port /dev/ttyUSB0 --seconds 30', 'flm p1 sniff --tcp 192.168.1.20:2001 --json'],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, sniffOptions, sniffFlags);
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (!flags.port === !flags.tcp) throw new UsageError('give --port DEV or --tcp HOST:PORT');
    const stream = streamOf(flags);
    let connector: Connector;
    let what: string;
    if (flags.port) {
      const settings: SerialSettings = {
        baudRate: flags.baud,
        dataBits: flags.parity === 'even' ? 7 : 8,
        parity: flags.parity,
        stopBits: 1,
      };
      connector = serialConnector({ path: flags.port, mode: settings });
      what = `${flags.port} ${describeSerial(settings)}`;
    } else {
      connector = tcpConnector(parseHostPort(flags.tcp!));
      what = flags.tcp!;
    }
    return sniff(io, stream, connector, what, flags.seconds, flags.json);
  },
};

async function sniff(
  io: CliIo,
  stream: P1Stream,
  connector: Connector,
  what: string,
  seconds: number | undefined,
  json: boolean,
): Promise<number> {
  const t0 = Date.now();
  let finish!: (why: string) => void;
  const finished = new Promise<string>((resolve) => (finish = resolve));
  const print = (events: P1StreamEvent[]) => {
    const time = new Date().toISOString();
    for (const e of events) {
      if (e.type === 'telegram') {
        const line = {
          time,
          meterId: meterIdOf(e.telegram),
          netPowerW: netPowerW(e.telegram),
          crc: e.check.status,
          accepted: true,
        };
        io.stdout.write(
          json
            ? JSON.stringify(line) + '\n'
            : `${time}  ${line.meterId}  net ${line.netPowerW ?? '?'} W  crc ${line.crc}\n`,
        );
      } else {
        const line = {
          time,
          meterId: null,
          netPowerW: null,
          crc: e.check?.status ?? e.kind,
          accepted: false,
          error: e.message,
        };
        io.stdout.write(json ? JSON.stringify(line) + '\n' : `${time}  -  -  ${e.message}\n`);
      }
    }
  };
  let conn: Connection;
  try {
    conn = await connector(
      {
        data: (chunk) => print(stream.push(chunk)),
        closed: (err) => finish(err ? `connection lost: ${err.message}` : 'connection closed'),
      },
      { attempt: 1, previous: 'first' },
    );
  } catch (err) {
    throw new Error(`cannot open ${what}: ${(err as Error).message}`);
  }
  if (!json) io.stderr.write(`reading ${conn.label}${seconds ? ` for ${seconds} s` : ' (Ctrl-C to stop)'}\n`);
  const timer = seconds ? setTimeout(() => finish('time is up'), seconds * 1000) : undefined;
  const onSignal = () => finish('interrupted');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const why = await finished;
  clearTimeout(timer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await conn.close();
  print(stream.end());
  const s = stream.stats;
  const elapsed = Math.round((Date.now() - t0) / 100) / 10;
  const stats = { seconds: elapsed, telegrams: s.frames, ...s };
  if (json) io.stdout.write(JSON.stringify({ stats, end: why }) + '\n');
  else {
    io.stdout.write(
      `stats: ${s.frames} telegrams in ${elapsed} s: ${s.good} ok, ${s.badCrc} bad CRC, ${s.unparsable} unreadable, ` +
        `${s.decryptFailed} not decrypted, ${s.garbageBytes} garbage bytes (${why})\n`,
    );
  }
  if (s.good === 0) {
    io.stderr.write(
      `flm p1 sniff: no good telegram from ${what}: check the port, and the baud rate and parity (DSMR 2.2/3: --baud 9600 --parity even)\n`,
    );
    return 1;
  }
  return 0;
}
