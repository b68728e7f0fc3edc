/**
 * A child process for the upload drain crash test: opens the queue the parent filled and
 * drains it into the test server with the Uploader (deferred acknowledgements, the pointer
 * limits the parent gives), printing "ready" once it runs. It never appends; the parent
 * SIGKILLs it at random moments and starts it again on the same data dir.
 */
import { UploadClient } from '../../../core/upload/client';
import { UploadQueue } from '../../../core/upload/queue';
import { Uploader } from '../../../core/upload/uploader';

export interface DrainerArgs {
  dataDir: string;
  url: string;
  key: string;
  batchSize: number;
  commitMaxRecords: number;
  commitIntervalMs: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as DrainerArgs;
  const queue = await UploadQueue.open({
    dir: args.dataDir,
    commitMaxRecords: args.commitMaxRecords,
    commitIntervalMs: args.commitIntervalMs,
    onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
  });
  const client = new UploadClient({ baseUrl: args.url, deviceKey: args.key, timeoutMs: 5000 });
  const up = new Uploader({
    queue,
    client,
    filters: false,
    intervalMs: 20,
    batchSize: args.batchSize,
    backoff: { initialMs: 10, maxMs: 100 },
  });
  up.start();
  process.stdout.write('ready\n');
  // Runs until killed; the timer keeps the process alive between rounds.
  setInterval(() => undefined, 1000);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
