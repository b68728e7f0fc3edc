/** socat pseudo-terminal pairs: a real serial line between a reader and a writer in one test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitFor } from './nodered';

export interface Pty {
  /** the end the node reads */
  a: string;
  /** the end the test writes (the meter) */
  b: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** A pty pair whose ends are the links `a` and `b`; stopped by pid. */
export async function startSocat(a: string, b: string, cleanups?: Array<() => Promise<void> | void>): Promise<Pty> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    await waitFor(`socat to create ${a} and ${b}`, () => (proc.exitCode !== null ? (() => { throw new Error(`socat exited: ${log}`); })() : existsSync(a) && existsSync(b)), 5000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  cleanups?.push(stop);
  return { a, b, proc, stop };
}

