import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfig, exampleInstances, haproxyConfig, haproxyConfigCli } from '../../../scripts/haproxy-config';
import { repoRoot } from '../../support/paths';
import { withTempDir } from '../../support/temp-dir';

const deployed = () => readFileSync(join(repoRoot, 'deploy', 'haproxy.cfg'), 'utf8');

test('deploy/haproxy.cfg is what the generator makes for three instances, and HAProxy accepts it', () => {
  const made = haproxyConfig({ bind: '0.0.0.0', mqttPort: 1883, apiPort: 8080, instances: exampleInstances(3) });
  assert.equal(deployed(), made);
  const r = spawnSync('haproxy', ['-c', '-f', join(repoRoot, 'deploy', 'haproxy.cfg')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('every instance is checked on its /health, MQTT in TCP mode and the API in HTTP mode', async () => {
  const cfg = haproxyConfig({ bind: '127.0.0.1', mqttPort: 2000, apiPort: 2001, instances: exampleInstances(5) });
  assert.equal(cfg.match(/check port 1808\d/g)?.length, 5);
  assert.match(cfg, /backend flm_mqtt\n {2}mode tcp/);
  assert.match(cfg, /backend flm_api\n {2}mode http/);
  assert.equal(cfg.match(/option httpchk GET \/health/g)?.length, 2);
  await assertHaproxyTakes(cfg);
});

async function assertHaproxyTakes(cfg: string): Promise<void> {
  await withTempDir(async (dir) => {
    const file = join(dir, 'h.cfg');
    writeFileSync(file, cfg);
    const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

/** Runs the command line in-process: exit code, stdout, stderr. */
function cli(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true) }) as NodeJS.WritableStream;
  const code = haproxyConfigCli(args, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

test("--server: FLMs on 8883 reach each instance's bridge port in TCP mode (TLS through), checked on its API /health", async () => {
  const r = cli('--server', '4');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, exampleConfig(4, true));
  assert.match(r.out, /frontend bridge\n {2}mode tcp\n {2}bind 0\.0\.0\.0:8883\n/);
  assert.match(r.out, /backend flm_bridge\n {2}mode tcp/);
  for (let i = 0; i < 4; i++) {
    assert.ok(r.out.includes(`server flm${i + 1} 127.0.0.1:${18883 + i} check port ${18080 + i}\n`), r.out);
    assert.ok(r.out.includes(`server flm${i + 1} 127.0.0.1:${18080 + i} check\n`), r.out);
  }
  assert.match(r.out, /backend flm_api\n {2}mode http/);
  assert.doesNotMatch(r.out, /ssl|flm_mqtt|:1883/);
  assert.equal(r.out.match(/option httpchk GET \/health/g)?.length, 2);
  await assertHaproxyTakes(r.out);
});

test('--server --api-tls: the HTTPS API passes through in TCP mode and /health is asked over TLS', async () => {
  const r = cli('--server', '--api-tls', '2');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /backend flm_api\n {2}mode tcp/);
  assert.match(r.out, /frontend api\n {2}mode tcp/);
  assert.equal(r.out.match(/check-ssl verify none/g)?.length, 4);
  await assertHaproxyTakes(r.out);
});

test('without flags the command line prints deploy/haproxy.cfg; usage errors exit 2 naming what was wrong', () => {
  assert.deepEqual(cli(), { code: 0, out: deployed(), err: '' });
  const wrong: Array<[string[], RegExp]> = [
    [['--sever'], /unknown option --sever/],
    [['0'], /instances must be a whole number from 1 to 64, not "0"/],
    [['65'], /not "65"/],
    [['three'], /not "three"/],
    [['2', '3'], /one number of instances, not 2 3/],
    [['--api-tls'], /--api-tls goes with --server/],
    [['--server=yes'], /option --server takes no value/],
  ];
  for (const [args, message] of wrong) {
    const r = cli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '');
    assert.match(r.err, /^haproxy-config: .* \(usage: node dist\/scripts\/haproxy-config\.js /);
    assert.match(r.err, message);
  }
  const help = cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--server .*\n.*--api-tls/);
});
