/**
 * A child process for the upload crash test: queues readings for a few sensors as fast as
 * the disk takes them while an Uploader sends them to the test server, and prints
 * "a <sensor index> <ts>" once each append() has resolved (the reading is on disk). The parent
 * SIGKILLs it at random moments and starts it again on the same data dir; it resumes after the
 * newest reading the queue holds.
 */
import { UploadClient } from '../../../core/upload/client';
import { UploadQueue } from '../../../core/upload/queue';
import { Uploader } from '../../../core/upload/uploader';

export interface WriterArgs {
  dataDir: string;
  url: string;
  key: string;
  sids: string[];
}

const WRITER_T0 = 1449986400;

/** The counter every reading carries, so the parent can check what the server stored. */
export function writerCounter(sensor: number, ts: number): number {
  return sensor * 1_000_000 + (ts - WRITER_T0);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as WriterArgs;
  const queue = await UploadQueue.open({
    dir: args.dataDir,
    onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
  });
  const client = new UploadClient({ baseUrl: args.url, deviceKey: args.key, timeoutMs: 2000 });
  const up = new Uploader({
    queue,
    client,
    filters: false,
    intervalMs: 25,
    batchSize: 40,
    backoff: { initialMs: 10, maxMs: 100 },
  });
  up.start();
  const next = args.sids.map((sid) => (queue.lastTs(sid) ?? WRITER_T0) + 1);
  process.stdout.write('ready\n');
  // Runs until killed; the bound is only there so no loop is unbounded.
  for (let round = 0; round < 10_000_000; round++) {
    const results = await Promise.all(
      args.sids.map((sid, i) => queue.append(sid, [next[i]!, writerCounter(i, next[i]!)])),
    );
    let out = '';
    results.forEach((r, i) => {
      if (r !== 'queued') throw new Error(`append ${args.sids[i]} ${next[i]}: ${r}`);
      out += `a ${i} ${next[i]}\n`;
      next[i]!++;
    });
    process.stdout.write(out);
    if (round % 4 === 3) await new Promise((r) => setTimeout(r, 1));
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
