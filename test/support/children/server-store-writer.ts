/**
 * A child process for the server store's kill test: adds readings to a FileReadingStore as fast as
 * it can and prints "acked <i>" only after addReadings resolved (the point where the server
 * answers 200). The parent kills it with SIGKILL at random moments. Reading i is sensor
 * `SIDS[i % 3]`, time 1_700_000_000 + i, value i * 2; every tenth batch repeats the previous one.
 */
import { FileReadingStore } from '../../../core/server/store/file-store';

const SIDS = ['aa01', 'aa02', 'aa03'];

async function main() {
  const [dir, startArg] = process.argv.slice(2);
  const store = await FileReadingStore.open({ dir: dir!, checkpointMs: 20, maxPendingSamples: 500 });
  for (let i = Number(startArg); ; i += 5) {
    const batch = [0, 1, 2, 3, 4].map((k) => i + k);
    for (const sid of SIDS) {
      const mine = batch.filter((n) => SIDS[n % 3] === sid);
      if (mine.length === 0) continue;
      await store.addReadings(sid, 0, { times: mine.map((n) => 1_700_000_000 + n), values: mine.map((n) => n * 2) });
      if (i % 50 === 0)
        await store.addReadings(sid, 0, { times: mine.map((n) => 1_700_000_000 + n), values: mine.map(() => -1) });
    }
    process.stdout.write(`acked ${i + 4}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exit(1);
});
