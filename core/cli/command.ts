import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { describeZodError } from '../config/schema';

/** What a command may touch: its arguments and the streams, so tests can run it in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface Command {
  /** words after `flm`, e.g. ['sim'] or ['p1', 'decode'] */
  path: string[];
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Parse flags with node's parseArgs, then validate them once with a zod schema. */
export function parseFlags<T extends z.ZodType>(
  args: string[],
  options: ParseArgsConfig['options'],
  schema: T,
): { flags: z.output<T>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new UsageError(describeZodError(r.error).replace(/^(\w+):/, '--$1:'));
  return { flags: r.data, positionals: parsed.positionals };
}
