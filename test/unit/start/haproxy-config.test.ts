import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleInstances, haproxyConfig } from '../../../scripts/haproxy-config';
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
  await withTempDir(async (dir) => {
    const file = join(dir, 'h.cfg');
    writeFileSync(file, cfg);
    const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
