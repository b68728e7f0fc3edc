import { PassThrough } from 'node:stream';
import { runCli } from '../../core/cli/main';

/** Run `flm <args>` in-process with `stdin` fed in; what it printed and its exit code. */
export async function runFlm(
  args: string[],
  stdin: Buffer | string = '',
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const input = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  input.end(stdin);
  const code = await runCli(args, { stdout, stderr, stdin: input });
  return { code, out, err };
}
