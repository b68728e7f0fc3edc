import { spawn, type ChildProcess } from 'node:child_process';

export interface Running {
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop: (graceMs?: number) => Promise<number | null>;
  exited: Promise<number | null>;
}

/** Start a process whose output we keep, for tests that need to read it or stop it. */
export function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Running {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const stop = async (graceMs = 20_000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { proc, output: () => out, stop, exited };
}

/** Lines a process prints until `count` lines arrived or `timeoutMs` passed, then it is stopped. */
export function collectLines(
  cmd: string,
  args: string[],
  count: number,
  timeoutMs: number,
): Promise<{ lines: string[]; ms: number[] }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const ms: number[] = [];
    let buf = '';
    let err = '';
    const finish = () => {
      clearTimeout(timer);
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve({ lines, ms });
      // mosquitto_sub -C N sometimes sleeps after its count with SIGTERM blocked (seen in
      // /proc/<pid>/status): a child left alive keeps the test process from ever exiting.
      const kill = setTimeout(() => proc.kill('SIGKILL'), 1000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve({ lines, ms });
      });
      proc.kill('SIGTERM');
    };
    const timer = setTimeout(finish, timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.stderr!.on('data', (d) => (err += d));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        ms.push(Date.now() - t0);
        buf = buf.slice(i + 1);
        if (lines.length >= count) return finish();
      }
    });
    proc.on('exit', (code) => {
      if (lines.length === 0 && code && code !== 143) reject(new Error(`${cmd} exited ${code}: ${err}`));
    });
  });
}
