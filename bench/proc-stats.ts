/** CPU time of another process, from /proc (Linux). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** user + system CPU seconds used so far by every thread of `pid`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the state (field 3); utime and stime are fields 14 and 15
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Wait until `pid` has used no CPU for `quietMs` (the work it was given is done). */
export async function untilIdle(pid: number, quietMs = 400, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = cpuSeconds(pid);
  let since = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    const now = cpuSeconds(pid);
    if (now - last > 0.02) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}
