import type { CliIo, Command } from './command';
import { UsageError } from './command';
import { COMMANDS } from './commands';

function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return (
    [
      'flm: look at Fluksometer data without wiring a flow',
      '',
      'usage:',
      ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
      '',
      'JSON output is stable: scripts may rely on it.',
    ].join('\n') + '\n'
  );
}

/** Run `flm <args>`; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(
  args: string[],
  io: CliIo,
  commands: Command[] = COMMANDS,
  version = '0.0.0',
): Promise<number> {
  if (args.length === 0 || args[0] === 'help' || args[0] === '--help' || args[0] === '-h') {
    io.stdout.write(help(commands));
    return 0;
  }
  if (args[0] === '--version' || args[0] === 'version') {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  const cmd = commands
    .filter((c) => c.path.every((w, i) => args[i] === w))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!cmd) {
    io.stderr.write(`flm: unknown command "${args.join(' ')}"\n\n${help(commands)}`);
    return 2;
  }
  try {
    return await cmd.run(args.slice(cmd.path.length), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`flm ${cmd.path.join(' ')}: ${err.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    io.stderr.write(`flm ${cmd.path.join(' ')}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
