// `npm run bench`: run each compiled benchmark in its own process, one after the other, so
// they do not disturb each other. Each prints its ratio against a baseline measured in the
// same run and, through bench/support.ts, every goal with its verdict; the verdicts are
// repeated at the end. Exits non-zero only when a bench could not run (never on a slow machine).
import { spawn } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist', 'bench');
const only = process.argv.slice(2);
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.bench.js') && (only.length === 0 || only.some((o) => f.includes(o))))
      .sort()
  : [];
if (files.length === 0) {
  console.error('no benchmarks found');
  process.exit(1);
}

const VERDICT = / (MET|NOT MET)$/;
/** Runs one bench with its output passed through; resolves with its exit code and its goal lines. */
function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(dir, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: root,
    });
    const goals = [];
    let rest = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const l of lines) if (/\bgoal\b/i.test(l)) goals.push(l);
    });
    child.on('close', (code) => {
      if (/\bgoal\b/i.test(rest)) goals.push(rest);
      resolve({ code, goals });
    });
  });
}

let failed = 0;
const summary = [];
for (const f of files) {
  const name = f.replace(/\.bench\.js$/, '');
  console.log(`\n== ${name}`);
  const { code, goals } = await run(f);
  if (code !== 0) {
    failed++;
    summary.push(`${name}: could not run (exit ${code})`);
    continue;
  }
  if (goals.length === 0) summary.push(`${name}: states no goal NOT MET`);
  // A line that speaks of a goal must end with its verdict: one that does not is itself a failed goal.
  for (const g of goals)
    summary.push(`${name}: ${VERDICT.test(g) ? g.replace(/^goal: /, '') : `${g} -- no verdict NOT MET`}`);
}
console.log('\n== verdicts');
for (const line of summary) console.log(line);
const notMet = summary.filter((l) => / NOT MET$/.test(l)).length;
console.log(`${summary.length - notMet - failed} MET, ${notMet} NOT MET${failed ? `, ${failed} could not run` : ''}`);
process.exit(failed ? 1 : 0);
