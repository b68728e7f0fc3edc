import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { waitFor } from './nodered';

export interface Pty {
  /** one end (the node reads it) */
  a: string;
  /** the other end (the meter or board writes it) */
  b: string;
  proc: ChildProcess;
  /** stop socat by its pid; both links go away */
  stop(): Promise<void>;
}

/** A socat pty pair whose ends are the links `a` and `b`. */
export async function socatPair(a: string, b: string): Promise<Pty> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    await waitFor(
      `socat to create ${a} and ${b}`,
      () =>
        proc.exitCode !== null
          ? (() => {
              throw new Error(`socat exited: ${log}`);
            })()
          : existsSync(a) && existsSync(b),
      5000,
    );
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
  return { a, b, proc, stop };
}

/** File descriptors of this process open on `device` (a realpath). */
export function fdsOn(device: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === device;
    } catch {
      return false;
    }
  }).length;
}
