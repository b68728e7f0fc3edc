import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { describeZodError } from '../config/schema';

/** What a command may touch: its arguments and the streams, so tests can run it in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** One option of a command: how node's parseArgs reads it, and the line its help shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** may be given more than once (the values are collected) */
  multiple?: boolean;
  /** the value's placeholder in the help, e.g. `N` in `--seconds N` */
  value?: string;
  /** what it does, and its default; wrapped by the help to fit 80 columns */
  help: string;
}

export type Options = Record<string, OptionSpec>;

/**
 * One entry of the `flm` command table (core/cli/commands/index.ts): its words, its own help and
 * its options. `flm <path> --help`, the usage errors and the main help are all made from it.
 */
export interface Command {
  /** words after `flm`, e.g. ['sim'] or ['p1', 'decode'] */
  path: string[];
  /** one line for the command list */
  summary: string;
  /** what comes after the words in the usage line besides `[options]`, e.g. `FILE|-` or `--port DEV` */
  args?: string;
  options: Options;
  /** paragraphs for `--help` after the summary (plain text, wrapped to 80 columns) */
  details?: string[];
  /** command lines for `--help`, each under 80 columns */
  examples?: string[];
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage error: one line naming what was wrong, exit code 2. */
export class UsageError extends Error {}

/** The exit codes every command keeps to; the help and the README list them. */
export const EXIT_CODE_LINES = [
  '0  done',
  '1  failed: a file or port that cannot be opened, bad data, nothing received',
  '2  usage error: an unknown command or option, a missing or bad argument',
];

function parseArgsOptions(options: Options): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries(options))
    out[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}) };
  return out;
}

/** node's parseArgs errors, said the way a person reads them: the option and what is wrong with it. */
function friendlyParseError(err: Error & { code?: string }, options: Options): string {
  const option = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
  const name = option.replace(/^-+/, '').replace(/=.*/, '');
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const spec = options[name];
    if (spec?.type === 'boolean') return `option --${name} takes no value`;
    return `option --${name} needs a value${spec?.value ? ` (--${name} ${spec.value})` : ''}`;
  }
  return err.message;
}

/**
 * Parse flags with node's parseArgs (strict: an unknown option is a usage error), then validate
 * them once with a zod schema. `--help` is taken out before a command runs (see main.ts).
 */
export function parseFlags<T extends z.ZodType>(
  args: string[],
  options: Options,
  schema: T,
): { flags: z.output<T>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: parseArgsOptions(options), allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(friendlyParseError(err as Error, options));
  }
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new UsageError(describeZodError(r.error).replace(/^([\w-]+):/, '--$1:'));
  return { flags: r.data, positionals: parsed.positionals };
}
