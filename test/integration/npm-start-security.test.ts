/**
 * Attacks on `npm start`'s editor, each the exact attempt that used to work, now refused: a
 * deploy of an `exec` node that reads the device key, with no login and through DNS rebinding
 * (a page whose own name points at 127.0.0.1 sends its name in Host); secret files readable by
 * others; the editor on the address the broker is opened to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { wsStatus } from '../support/ws-open';
import { repoRoot } from '../support/paths';
import { freePort, tempDir, waitFor } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';
import type { Running } from '../support/processes';
import { login } from '../support/e2e/admin-api';
import { ADMIN_PASSWORD_FILE } from '../../scripts/start-auth';
import { NODE_RED_SECRET_FILES, DATA_SECRET_FILES } from '../../scripts/start-secrets';

const KEY = '0123456789abcdef0123456789abcdef';
/** What the attack deployed: an exec node printing the identity file, key included. */
const EXEC_FLOW = [
  { id: 'evil.tab', type: 'tab', label: 'x' },
  {
    id: 'evil.inject',
    type: 'inject',
    z: 'evil.tab',
    once: true,
    onceDelay: 0.1,
    x: 100,
    y: 100,
    wires: [['evil.exec']],
  },
  {
    id: 'evil.exec',
    type: 'exec',
    z: 'evil.tab',
    command: 'cat device.json',
    addpay: false,
    append: '',
    useSpawn: 'false',
    x: 300,
    y: 100,
    wires: [[], [], []],
  },
];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request with the Host header we choose (fetch does not let a caller set it). */
function http(
  port: number,
  method: string,
  path: string,
  opts: { host?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        timeout: 10_000,
        headers: {
          Host: opts.host ?? `127.0.0.1:${port}`,
          ...(body
            ? {
                'Content-Type': 'application/json',
                'Content-Length': String(Buffer.byteLength(body)),
                'Node-RED-API-Version': 'v2',
                'Node-RED-Deployment-Type': 'full',
              }
            : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (text += d))
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The status a websocket upgrade to the editor's /comms gets with this Host (101: opened). */
const commsUpgrade = (port: number, host: string): Promise<number> =>
  wsStatus(`ws://127.0.0.1:${port}/comms`, undefined, { headers: { Host: host }, handshakeTimeout: 10_000 });

/** The editor is up: `npm start` prints its address once Node-RED has started. */
async function untilEditorUp(run: Running): Promise<void> {
  await waitFor(
    '"flm: editor on" in the npm start output',
    () => {
      if (run.proc.exitCode !== null) assert.fail(`npm start exited with ${run.proc.exitCode}:\n${run.output()}`);
      return run.output().includes('flm: editor on');
    },
    60_000,
    50,
  );
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** The mode of every secret file that exists, keyed by its path. */
function secretModes(user: string, data: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [
    ...NODE_RED_SECRET_FILES.map((f) => join(user, f)),
    ...DATA_SECRET_FILES.map((f) => join(data, f)),
  ]) {
    try {
      out[p] = modeOf(p);
    } catch {
      /* not written (yet) */
    }
  }
  return out;
}

test(
  'npm start: the editor is locked, refuses rebinding Hosts, and keeps every secret file 0600',
  { timeout: 180_000 },
  async () => {
    const dir = await tempDir('flm-sec-');
    const user = join(dir.path, 'user');
    const data = join(dir.path, 'data');
    // What an older version left: the identity and Node-RED's credential secret readable by all.
    mkdirSync(user, { recursive: true });
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'device.json'), JSON.stringify({ id: 'a'.repeat(32), key: KEY }) + '\n', { mode: 0o644 });
    writeFileSync(join(user, '.config.runtime.json'), JSON.stringify({ _credentialSecret: 'b'.repeat(64) }) + '\n', {
      mode: 0o644,
    });
    let p = await startPipeline(
      {},
      { dir, ui: await freePort(), mqttPort: await freePort(), ws: await freePort(), api: await freePort() },
    );
    try {
      await untilEditorUp(p.run);
      const password = readFileSync(join(data, ADMIN_PASSWORD_FILE), 'utf8').trim();
      assert.ok(password.length >= 16, 'a generated password of at least 16 characters');
      // the login lines follow the editor's in a write of their own
      await waitFor('the password line', () => p.run.output().includes(password));
      assert.equal(
        p.run.output().split(password).length - 1,
        1,
        `the new password is printed once:\n${p.run.output()}`,
      );
      assert.equal(modeOf(join(data, ADMIN_PASSWORD_FILE)), '600');

      // 1. No login: the exec deploy, on /flows and on the issue's /flow, is refused.
      for (const path of ['/flows', '/flow']) {
        const r = await http(p.ui, 'POST', path, {
          body: path === '/flows' ? { flows: EXEC_FLOW } : { id: 'evil.tab', label: 'x', nodes: EXEC_FLOW.slice(1) },
        });
        assert.equal(r.status, 401, `POST ${path} without a login: ${r.status} ${r.text}`);
      }
      assert.equal((await http(p.ui, 'GET', '/flows')).status, 401, 'reading the flows needs the login too');

      // 2. With a valid token but a foreign Host (DNS rebinding): refused, even the login itself.
      const token = await login(`http://127.0.0.1:${p.ui}`, 'admin', password);
      const auth = { Authorization: `Bearer ${token}` };
      const rebound = await http(p.ui, 'POST', '/flows', {
        host: `rebind.attacker.example:${p.ui}`,
        headers: auth,
        body: { flows: EXEC_FLOW },
      });
      assert.equal(
        rebound.status,
        403,
        `POST /flows with Host rebind.attacker.example: ${rebound.status} ${rebound.text}`,
      );
      assert.match(rebound.text, /FLM_ALLOWED_HOSTS/);
      assert.equal(
        (await http(p.ui, 'GET', '/', { host: 'rebind.attacker.example' })).status,
        403,
        'the editor page itself',
      );
      assert.equal(
        (
          await http(p.ui, 'POST', '/auth/token', {
            host: 'rebind.attacker.example',
            body: { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password },
          })
        ).status,
        403,
      );
      assert.equal(await commsUpgrade(p.ui, 'rebind.attacker.example'), 403, "the editor's websocket (/comms) too");
      assert.equal(await commsUpgrade(p.ui, `127.0.0.1:${p.ui}`), 101, 'while the editor itself opens it');
      const flows = await http(p.ui, 'GET', '/flows', { headers: auth });
      assert.equal(flows.status, 200);
      assert.ok(!flows.text.includes('evil.exec'), 'no attempt got the exec node deployed');
      for (const host of ['localhost', `localhost:${p.ui}`, '[::1]:1']) {
        assert.equal(
          (await http(p.ui, 'GET', '/flows', { host, headers: auth })).status,
          200,
          `loopback name ${host} is allowed`,
        );
      }

      // 3. Routes under /api (httpNodeRoot: a dashboard, an http-in node) want the same login.
      const anon = await http(p.ui, 'GET', '/api/anything');
      assert.equal(anon.status, 401);
      assert.match(String(anon.headers['www-authenticate']), /^Basic /, 'a browser is asked for the login');
      const basic = { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
      assert.equal(
        (await http(p.ui, 'GET', '/api/anything', { headers: basic })).status,
        404,
        'past the login: no such route',
      );
      assert.equal(
        (await http(p.ui, 'GET', '/api/anything', { headers: auth })).status,
        404,
        'the editor token is a login too',
      );
      const wrong = { Authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` };
      assert.equal((await http(p.ui, 'GET', '/api/anything', { headers: wrong })).status, 401);

      // 4. Secret files: private after start (old ones closed), and after a deploy with credentials.
      const afterStart = secretModes(user, data);
      for (const f of ['.config.runtime.json', '.sessions.json', 'device.json', ADMIN_PASSWORD_FILE]) {
        assert.ok(
          Object.keys(afterStart).some((k) => k.endsWith(`/${f}`)),
          `${f} exists after start`,
        );
      }
      assert.deepEqual(
        Object.values(afterStart).filter((m) => m !== '600'),
        [],
        `after start: ${JSON.stringify(afterStart)}`,
      );
      assert.match(p.run.output(), /device\.json was readable by others; now 0600/);
      const flow = JSON.parse(readFileSync(join(repoRoot, 'flows', 'flm.json'), 'utf8')) as Array<
        Record<string, unknown>
      >;
      for (const round of [1, 2]) {
        const withCreds = flow.map((n) =>
          n.type === 'flm-tmpo' ? { ...n, credentials: { apiToken: `${round}`.repeat(32) } } : n,
        );
        const deployed = await http(p.ui, 'POST', '/flows', { headers: auth, body: { flows: withCreds } });
        assert.equal(deployed.status, 200, `deploy ${round}: ${deployed.text}`);
        await waitFor(
          `flows_cred.json written by deploy ${round}`,
          () => {
            try {
              return (
                readFileSync(join(user, 'flows_cred.json'), 'utf8').length > 0 &&
                (round === 1 || secretModes(user, data)[join(user, '.flows_cred.json.backup')])
              );
            } catch {
              return false;
            }
          },
          20_000,
          50,
        );
        const modes = secretModes(user, data);
        assert.deepEqual(
          Object.values(modes).filter((m) => m !== '600'),
          [],
          `after deploy ${round}: ${JSON.stringify(modes)}`,
        );
      }
      assert.ok(
        join(user, '.flows_cred.json.backup') in secretModes(user, data),
        'the credentials backup was checked too',
      );
      assert.equal(await p.run.stop(), 0, p.run.output());

      // 5. The next start does not print the password again; FLM_ADMIN_PASSWORD replaces it.
      p = await startPipeline({ FLM_ADMIN_PASSWORD: 'correct horse battery staple' }, p);
      await untilEditorUp(p.run);
      // the login line follows the editor's in its own write: wait for it, then look at everything printed
      await waitFor('the login line', () => /editor login .*password from FLM_ADMIN_PASSWORD/.test(p.run.output()));
      assert.ok(!p.run.output().includes(password), 'the kept password is not printed again');
      await login(`http://127.0.0.1:${p.ui}`, 'admin', 'correct horse battery staple');
      await assert.rejects(login(`http://127.0.0.1:${p.ui}`, 'admin', password), /HTTP 40[13]/);
    } finally {
      await p.run.stop(5000);
      await dir.remove();
    }
  },
);
