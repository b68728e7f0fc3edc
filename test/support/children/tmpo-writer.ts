/**
 * A child process for the crash-safety test: writes TMPO blocks into a store as fast as it
 * can and prints "written <key>" only after each put has returned (fsynced). The parent kills
 * it with SIGKILL at random moments.
 */
import { TmpoStore } from '../../../core/tmpo/store';
import { encodeSeries } from '../../../core/tmpo/codec';
import { expectedSeries, keyFor } from './tmpo-writer-data';

async function main() {
  const [dataDir, startArg] = process.argv.slice(2);
  const { store } = await TmpoStore.open(dataDir!);
  for (let i = Number(startArg); ; i++) {
    const key = keyFor(i);
    const bytes = encodeSeries(expectedSeries(i), { id: key.sid, rid: 0, data_type: 'counter' });
    const r = await store.put(key, bytes);
    process.stdout.write(`${r.status} ${i}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exit(1);
});
