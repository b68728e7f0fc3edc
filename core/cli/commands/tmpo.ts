import { promises as fs } from 'node:fs';
import { z } from 'zod';
import type { CliIo, Command, Options } from '../command';
import { parseFlags, UsageError } from '../command';
import { TmpoFormatError, type Series, type TmpoBlock } from '../../tmpo/block';
import { blockToSeries, decodeBlock } from '../../tmpo/codec';
import { keyText, type BlockKey } from '../../tmpo/ids';
import { formatLuaNumber } from '../../tmpo/lua-number';
import { verifyBlock } from '../../tmpo/verify';
import { latestRid, overlapping, timeline } from '../../api/blocks';
import { TmpoDirReader } from '../../api/store-reader';
import { isoSeconds, parseTime } from '../../api/time';
import { sidOption, storeSensors } from '../store-sensors';

/**
 * `flm tmpo decode|ls|export`: look at TMPO blocks and stores without Node-RED. Output shapes
 * (stable; numbers printed as the FLM prints them, %.14g, so no float noise):
 *
 * - decode, JSON: `{"head":[t,v],"tail":[t,v],"vsn":1|null,"cfg":{...}|null,"samples":n,"series":[[t,v],...]}`
 * - decode/export, --csv: a `ts,value` header, then one `t,v` line per sample
 * - ls, --json: one line per block, `{"sid","name","rid","lvl","bid","samples","bytes","first","last"}`
 *   (name: the sensor's name, null when the store does not know it; first/last: sample times);
 *   a damaged block has samples/first/last null and an `error`
 * - ls: the same as a table, with ISO times
 * - export, JSON: `{"sid":"…","rid":0,"from":F,"to":T,"series":[[t,v],...]}` (samples with
 *   from <= t <= to, inclusive as tmpo-py's series())
 */

const num = formatLuaNumber;
const PAIRS_PER_CHUNK = 4096;

/**
 * stdout with backpressure (a slow terminal or pipe is waited for) and a quiet end when the reader
 * goes away (`| head`): further output is dropped rather than failing with EPIPE.
 */
class Output {
  private closed = false;
  private failure: Error | undefined;
  private readonly onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') this.closed = true;
    else this.failure = err;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', this.onError);
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed || this.out.write(text)) return;
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        this.out.removeListener('drain', settle);
        this.out.removeListener('close', settle);
        this.out.removeListener('error', settle);
        resolve();
      };
      this.out.once('drain', settle);
      this.out.once('close', settle);
      this.out.once('error', settle);
    });
    if (this.failure) throw this.failure;
  }

  /** Stop listening, once everything is written. */
  done(): void {
    this.out.removeListener('error', this.onError);
  }
}

/** Run with an Output on stdout, released however the command ends. */
async function withOutput(io: CliIo, fn: (out: Output) => Promise<number>): Promise<number> {
  const out = new Output(io.stdout);
  try {
    return await fn(out);
  } finally {
    out.done();
  }
}

/**
 * Samples as JSON pairs or CSV lines, in chunks; `keep` picks the samples wanted. `list.empty`
 * says whether a JSON pair was written before (then the next needs a comma) and is kept up to date.
 */
function* sampleChunks(
  series: Series,
  format: 'json' | 'csv',
  list: { empty: boolean },
  keep: (t: number) => boolean = () => true,
): Generator<string> {
  const { times, values } = series;
  let parts: string[] = [];
  const flush = (): string => {
    const text = format === 'csv' ? parts.join('') : (list.empty ? '' : ',') + parts.join(',');
    list.empty = false;
    parts = [];
    return text;
  };
  for (let i = 0; i < times.length; i++) {
    if (!keep(times[i]!)) continue;
    parts.push(format === 'csv' ? `${num(times[i]!)},${num(values[i]!)}\n` : `[${num(times[i]!)},${num(values[i]!)}]`);
    if (parts.length === PAIRS_PER_CHUNK) yield flush();
  }
  if (parts.length > 0) yield flush();
}

async function readInput(file: string, io: CliIo): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function notABlock(where: string, err: unknown): Error {
  if (err instanceof TmpoFormatError) return new Error(`not a TMPO block: ${where}: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

const pair = (s: readonly number[]): string => `[${num(s[0]!)},${num(s[1]!)}]`;

const csvOption = { type: 'boolean', help: 'print the samples as CSV (ts,value) instead of JSON' } as const;

const tmpoDecodeCommand: Command = {
  path: ['tmpo', 'decode'],
  summary: 'print a TMPO block file (- for stdin) as JSON, or its samples as CSV',
  args: 'BLOCK|-',
  options: { csv: csvOption },
  details: [
    'JSON: {"head","tail","vsn","cfg","samples","series":[[t,v],...]}, numbers printed as the FLM prints them.',
  ],
  examples: ['flm tmpo decode .flm/data/tmpo/sensor/<sid>/0/8/1467985920 --csv'],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, { csv: csvOption }, z.object({ csv: z.boolean().default(false) }));
    if (positionals.length !== 1) throw new UsageError('give exactly one block file, or - to read it from stdin');
    const file = positionals[0]!;
    const bytes = await readInput(file, io);
    let block: TmpoBlock;
    try {
      block = decodeBlock(bytes);
    } catch (err) {
      throw notABlock(file === '-' ? 'stdin' : file, err);
    }
    const series = blockToSeries(block);
    return withOutput(io, async (out) => {
      if (flags.csv) {
        await out.write('ts,value\n');
        for (const chunk of sampleChunks(series, 'csv', { empty: true })) await out.write(chunk);
        return 0;
      }
      const h = block.h;
      await out.write(
        `{"head":${pair(h.head)},"tail":${pair(h.tail)},"vsn":${h.vsn === undefined ? 'null' : num(h.vsn)},` +
          `"cfg":${h.cfg === undefined ? 'null' : JSON.stringify(h.cfg)},"samples":${series.times.length},"series":[`,
      );
      for (const chunk of sampleChunks(series, 'json', { empty: true })) await out.write(chunk);
      await out.write(']}\n');
      return 0;
    });
  },
};

interface LsRow {
  key: BlockKey;
  bytes: number;
  samples: number | null;
  first: number | null;
  last: number | null;
  error?: string;
}

const lsOptions: Options = {
  json: { type: 'boolean', help: 'one JSON object a line instead of a table' },
};

const tmpoLsCommand: Command = {
  path: ['tmpo', 'ls'],
  summary: "list every block of a TMPO store (data dir, or a copy of an FLM's tmpo folder)",
  args: 'DIR',
  options: lsOptions,
  details: [
    "DIR is a data dir (FLM_DATA_DIR, .flm/data under npm start) or a copy of an FLM's /usr/share/tmpo. " +
      "NAME is the sensor's name: from its newest block, or from the data dir's derived-sensors.json. " +
      'A damaged block is listed as such and makes the exit code 1.',
  ],
  examples: ['flm tmpo ls .flm/data', 'flm tmpo ls .flm/data --json | head'],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, lsOptions, z.object({ json: z.boolean().default(false) }));
    if (positionals.length !== 1) throw new UsageError('give exactly one data dir');
    const reader = await TmpoDirReader.open(positionals[0]!);
    const names = new Map((await storeSensors(reader)).map((s) => [s.id, s.name]));
    const rows: LsRow[] = [];
    for (const key of await reader.list()) {
      const bytes = await reader.read(key);
      if (!bytes) continue; // removed since the listing (a running compaction)
      try {
        const block = verifyBlock(key, bytes);
        rows.push({ key, bytes: bytes.length, samples: block.t.length, first: block.h.head[0], last: block.h.tail[0] });
      } catch (err) {
        const error = notABlock(reader.path(key), err).message;
        rows.push({ key, bytes: bytes.length, samples: null, first: null, last: null, error });
        io.stderr.write(`${error}\n`);
      }
    }
    return withOutput(io, async (out) => {
      if (flags.json) {
        for (const r of rows) {
          const { sid, rid, lvl, bid } = r.key;
          await out.write(
            JSON.stringify({
              sid,
              name: names.get(sid) ?? null,
              rid,
              lvl,
              bid,
              samples: r.samples,
              bytes: r.bytes,
              first: r.first,
              last: r.last,
              ...(r.error ? { error: r.error } : {}),
            }) + '\n',
          );
        }
      } else {
        await out.write(table(rows, names));
      }
      return rows.some((r) => r.error) ? 1 : 0;
    });
  },
};

function table(rows: LsRow[], names: ReadonlyMap<string, string>): string {
  const header = ['SID', 'NAME', 'RID', 'LVL', 'BID', 'SAMPLES', 'BYTES', 'FIRST', 'LAST'];
  const lines = rows.map((r) => [
    r.key.sid,
    names.get(r.key.sid) ?? '-',
    String(r.key.rid),
    String(r.key.lvl),
    String(r.key.bid),
    r.samples === null ? 'damaged' : String(r.samples),
    String(r.bytes),
    r.first === null ? '-' : isoSeconds(r.first),
    r.last === null ? '-' : isoSeconds(r.last),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const right = new Set([2, 3, 4, 5, 6]);
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const samples = rows.reduce((n, r) => n + (r.samples ?? 0), 0);
  const bytes = rows.reduce((n, r) => n + r.bytes, 0);
  return (
    [fmt(header), ...lines.map(fmt), `${rows.length} blocks, ${samples} samples, ${bytes} bytes`].join('\n') + '\n'
  );
}

const timeFlag = z.string().transform((s, ctx) => {
  const t = parseTime(s);
  if (t === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not a time (Unix seconds or ISO 8601, e.g. 2016-07-08T20:00:00Z)`,
    });
    return z.NEVER;
  }
  return t;
});

const exportSchema = z.object({
  dir: z.string({ error: 'the data dir is required' }).min(1, 'the data dir is required'),
  sid: z.string({ error: 'the sensor (its id or name) is required' }).min(1, 'the sensor (its id or name) is required'),
  rid: z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .optional(),
  from: timeFlag.optional(),
  to: timeFlag.optional(),
  csv: z.boolean().default(false),
});

const exportOptions: Options = {
  dir: { type: 'string', value: 'DIR', help: "the data dir, or a copy of an FLM's tmpo folder (required)" },
  sid: { type: 'string', value: 'SID', help: 'the sensor: its 32-hex id or its name, e.g. main (required)' },
  from: { type: 'string', value: 'T', help: 'first time: Unix seconds or ISO 8601 (default: the first sample)' },
  to: { type: 'string', value: 'T', help: 'last time, included (default: the last sample)' },
  rid: { type: 'string', value: 'N', help: "the sensor's recycle id (default: its latest)" },
  csv: csvOption,
};

const tmpoExportCommand: Command = {
  path: ['tmpo', 'export'],
  summary: "print a sensor's samples between two times, as JSON or CSV",
  args: '--dir DIR --sid SID',
  options: exportOptions,
  details: [
    'JSON: {"sid","rid","from","to","series":[[t,v],...]}, samples with from <= t <= to. ' +
      'The sensor is its 32-hex id or its name (flm tmpo ls shows both).',
  ],
  examples: [
    'flm tmpo export --dir .flm/data --sid main --from 2026-12-01 --csv',
    'flm tmpo export --dir .flm/data --sid 0123456789abcdef0123456789abcdef',
  ],
  async run(args, io) {
    const { flags, positionals } = parseFlags(args, exportOptions, exportSchema);
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument "${positionals[0]}" (the data dir goes after --dir)`);
    const from = flags.from ?? 0;
    const to = flags.to ?? 2147483647;
    if (to < from) throw new UsageError(`--to (${to}) is before --from (${from})`);
    const reader = await TmpoDirReader.open(flags.dir);
    const sid = sidOption(flags.sid, await storeSensors(reader));
    const keys = await reader.list({ sid });
    if (keys.length === 0) throw new Error(`no TMPO blocks of sensor ${sid} in ${flags.dir}`);
    const rid = flags.rid ?? latestRid(keys)!;
    const blocks = overlapping(timeline(keys.filter((k) => k.rid === rid)), from, to);
    const keep = (t: number): boolean => t >= from && t <= to;
    const format = flags.csv ? 'csv' : 'json';
    return withOutput(io, async (out) => {
      await out.write(
        flags.csv ? 'ts,value\n' : `{"sid":${JSON.stringify(sid)},"rid":${rid},"from":${from},"to":${to},"series":[`,
      );
      const list = { empty: true };
      for (const key of blocks) {
        const bytes = await reader.read(key);
        if (!bytes)
          throw new Error(
            `block ${keyText(key)} went away while reading (is a running flm-tmpo compacting this store?); run again`,
          );
        let series: Series;
        try {
          series = blockToSeries(decodeBlock(bytes));
        } catch (err) {
          throw notABlock(reader.path(key), err);
        }
        for (const chunk of sampleChunks(series, format, list, keep)) await out.write(chunk);
      }
      if (!flags.csv) await out.write(']}\n');
      return 0;
    });
  },
};

export const tmpoCommands: Command[] = [tmpoDecodeCommand, tmpoLsCommand, tmpoExportCommand];
