// The tests use real system parts (mosquitto_sub, socat ptys, Chromium, a private MariaDB, openssl).
// On a fresh machine they are missing; install what is missing from Debian's packages, once, before
// any test runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SYSTEM_PACKAGES = [
  { pkg: 'mosquitto-clients', probe: '/usr/bin/mosquitto_sub' },
  // the broker itself, run as an FLM's bridge against the server's bridge endpoint (test/integration/server-bridge-mosquitto.test.ts)
  { pkg: 'mosquitto', probe: '/usr/sbin/mosquitto' },
  { pkg: 'socat', probe: '/usr/bin/socat' },
  { pkg: 'chromium', probe: '/usr/bin/chromium' },
  { pkg: 'mariadb-server', probe: '/usr/sbin/mariadbd' },
  // throwaway CA and server certificates for the MQTT bridge tests (test/support/tls.ts)
  { pkg: 'openssl', probe: '/usr/bin/openssl' },
];

export function ensureSystemPackages(list = SYSTEM_PACKAGES) {
  const missing = list.filter((p) => !existsSync(p.probe)).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`missing system packages: ${missing.join(' ')} (run: sudo apt-get install ${missing.join(' ')})`);
    process.exit(1);
  }
  console.log(`installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env });
  run(['update', '-qq']);
  const r = run(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (r.status !== 0) {
    console.error(`apt-get install ${missing.join(' ')} failed`);
    process.exit(1);
  }
  // Debian starts the mosquitto service on install; on port 1883 it would stand in flm-broker's way.
  if (missing.includes('mosquitto') && existsSync('/usr/bin/systemctl'))
    spawnSync('systemctl', ['disable', '--now', 'mosquitto'], { stdio: 'ignore' });
}
