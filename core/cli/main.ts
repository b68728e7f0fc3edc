import type { CliIo, Command } from './command';
import { UsageError } from './command';
import { COMMANDS } from './commands';
import { commandHelp, groupHelp, mainHelp } from './help';

const isHelp = (a: string | undefined): boolean => a === '--help' || a === '-h';

/** `--help` or `-h` among a command's arguments (before a `--`, after which everything is an argument). */
function asksHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some(isHelp);
}

/** The command whose words start `args`, the longest first. */
function commandOf(args: string[], commands: Command[]): Command | undefined {
  return commands.filter((c) => c.path.every((w, i) => args[i] === w)).sort((a, b) => b.path.length - a.path.length)[0];
}

/** The words of `args` that begin some command's path without naming one, e.g. ['tmpo']. */
function groupOf(args: string[], commands: Command[]): string[] | undefined {
  const words: string[] = [];
  for (const a of args) {
    const next = [...words, a];
    if (!commands.some((c) => c.path.length > next.length && next.every((w, i) => c.path[i] === w))) break;
    words.push(a);
  }
  return words.length ? words : undefined;
}

/** One line for a usage error, and where to read more; exit code 2. */
function usage(io: CliIo, where: string[], message: string): number {
  const name = ['flm', ...where].join(' ');
  io.stderr.write(`${name}: ${message} (see ${name} --help)\n`);
  return 2;
}

/** Run `flm <args>`; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(
  args: string[],
  io: CliIo,
  commands: Command[] = COMMANDS,
  version = '0.0.0',
): Promise<number> {
  if (args.length === 0 || isHelp(args[0])) {
    io.stdout.write(mainHelp(commands));
    return 0;
  }
  if (args[0] === '--version' || args[0] === 'version') {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  // `flm help tmpo export` is `flm tmpo export --help`
  if (args[0] === 'help') return runCli([...args.slice(1), '--help'], io, commands, version);
  const cmd = commandOf(args, commands);
  if (!cmd) {
    const group = groupOf(args, commands);
    if (!group) return usage(io, [], `unknown command "${args[0]}"`);
    const rest = args.slice(group.length);
    if (rest.length === 0 || isHelp(rest[0])) {
      (rest.length ? io.stdout : io.stderr).write(groupHelp(group, commands));
      return rest.length ? 0 : 2;
    }
    return usage(io, group, `unknown command "${rest[0]}"`);
  }
  const rest = args.slice(cmd.path.length);
  if (asksHelp(rest)) {
    io.stdout.write(commandHelp(cmd));
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, cmd.path, err.message);
    io.stderr.write(`flm ${cmd.path.join(' ')}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
