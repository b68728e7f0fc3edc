import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { serverTls } from '../../core/server/bridge/server-tls';
import { startCluster, type TestCluster } from '../support/cluster';
import { runFlm } from '../support/cli';
import { FlmEmulator } from '../support/flm-emulator/emulator';
import { fleetIdentity, runFleet, wrongKey, type FleetIdentity } from '../support/flm-emulator/fleet';
import { MariaDb } from '../support/mariadb';
import { tempDir } from '../support/temp-dir';
import { TmpoPyClient } from '../support/tmpo-py-client';
import { countingSubscriber, settle, type CountingSubscriber } from '../support/live-subscribers';

/**
 * Issue #18, "How it is shown", for the Flukso server: Redis, MariaDB, HAProxy and three
 * `FLM_MODE=server npm start` instances on one FLM_SERVER_DB_URL and FLM_REDIS_URL (README
 * "Several server instances on one database"). Devices are registered once with
 * `flm server ... --db`; 50 emulated FLMs (HTTP, bridge or both; some with a wrong key) upload
 * through the balancer at speed; one instance is killed with SIGKILL mid-load and its devices
 * carry on through the others. Afterwards every reading is in the database exactly once, the
 * wrong-key devices stored nothing and a tmpo-py client gets the same samples from every instance.
 *
 * The fleet belongs to ten users. Each has two subscribers on the bridge port through the
 * balancer (TLS, user name and master token; one persistent QoS 1 session, one clean session)
 * following their sensors' live counters (docs/protocols/server-bridge.md#live-readings), and a
 * witness connected straight to an instance that is not killed: what the witness saw is what
 * was published. Every subscriber must have got every reading published after its subscription
 * (the clean ones: after their last one, as they subscribe again on each connection), and the
 * retained counters read from each instance directly are the same.
 *
 * Twelve hours of data rather than the single-server fleet test's day: three instances, MariaDB
 * and HAProxy share the two cores, and the point here is the move between instances, not the length.
 */

const DEVICES = 50;
const HOUR = 3600;
const SPAN = 12 * HOUR;
const FROM = Math.floor((Date.now() / 1000 - SPAN - HOUR) / 4096) * 4096;
const TO = FROM + SPAN;
const CHUNK = 300;
const KILL_AT = FROM + 6 * HOUR;
const KILLED = 1;
const USERS = 10;
/** a message reaches the witness and a subscriber through different instances: what the witness got this soon after a SUBACK may have been published before it */
const SLACK_MS = 1000;

/** The retained counters a user gets from one instance, topic -> payload. */
async function retainedAt(url: string, ca: string, user: string, token: string, expect: number) {
  const c = await mqtt.connectAsync(url, { ca, username: user, password: token, reconnectPeriod: 0 });
  const got = new Map<string, string>();
  c.on('message', (t, p, packet) => packet.retain && got.set(t, p.toString()));
  await c.subscribeAsync('/sensor/+/counter', { qos: 1 });
  await settle(() => got.size >= expect, 15_000);
  await new Promise((r) => setTimeout(r, 300)); // any further ones
  await c.endAsync(true);
  return got;
}

/** `[ts,` of a counter payload */
const tsOf = (payload: string): number => Number(/^\[(\d+),/.exec(payload)?.[1]);

/** Device n's part, as in the single-server fleet test: FLM03 bridges, FLM02 posts (half also bridge). */
function plan(n: number): { flavour: 'FLM02' | 'FLM03'; http: boolean; bridge: boolean; wrong: boolean } {
  const flavour = n % 3 === 2 ? 'FLM03' : 'FLM02';
  return { flavour, http: flavour === 'FLM02', bridge: flavour === 'FLM03' || n % 2 === 0, wrong: n % 8 === 5 };
}

/** What the database should hold for a sensor: acknowledged POSTs and every block tmpod wrote. */
function delivered(emu: FlmEmulator, sid: string): Array<[number, number]> {
  const all = new Map<number, number>(emu.uploader?.acked.get(sid) ?? []);
  if (emu.bridge) for (const [t, v] of emu.disk.written.get(sid) ?? []) all.set(t, v);
  return [...all].sort((a, b) => a[0] - b[0]);
}

async function flmDb(dbUrl: string, args: string[]): Promise<string> {
  const r = await runFlm([...args, '--db', dbUrl]);
  if (r.code !== 0) throw new Error(`flm ${args.join(' ')} exited ${r.code}: ${r.out}${r.err}`);
  return r.out + r.err;
}

test(
  'three server instances on Redis and MariaDB behind HAProxy: 50 FLMs, one SIGKILL, every reading once, tmpo-py alike on every instance',
  { timeout: 600_000 },
  async () => {
    const t0 = Date.now();
    const timings: string[] = [];
    const mark = (what: string) => timings.push(`${what} ${Math.round((Date.now() - t0) / 1000)} s`);
    const db = await MariaDb.start();
    const tls = await tempDir('flm-cluster-tls-');
    let cluster: TestCluster | undefined;
    const emus: FlmEmulator[] = [];
    const subs: CountingSubscriber[] = [];
    const witnesses: CountingSubscriber[] = [];
    try {
      // One CA for every instance: an FLM trusts it whichever instance it lands on.
      const made = await serverTls({ dir: tls.path });
      assert.ok(made.caFile);
      const ca = await readFile(made.caFile, 'utf8');
      const dbUrl = db.url();
      const users = Array.from({ length: USERS }, (_, u) => `user${u}`);
      const tokens: string[] = [];
      for (const user of users) {
        const token = /\b[0-9a-f]{32}\b/.exec(await flmDb(dbUrl, ['server', 'user', 'add', user]))?.[0];
        assert.ok(token, 'a master token');
        tokens.push(token);
      }
      const ownerOf = (n: number) => n % USERS;
      const ids: FleetIdentity[] = Array.from({ length: DEVICES }, (_, n) => fleetIdentity('cluster-fleet', n));
      for (const [n, id] of ids.entries())
        await flmDb(dbUrl, [
          'server',
          'device',
          'add',
          id.did,
          id.key,
          '--user',
          users[ownerOf(n)]!,
          ...id.sids.flatMap((s) => ['--sensor', s]),
        ]);
      mark('registered');

      cluster = await startCluster(
        3,
        {
          FLM_MODE: 'server',
          FLM_SERVER_DB_URL: dbUrl,
          FLM_ADMIN_PASSWORD: 'cluster-test-password',
        },
        // the bridge's generated CA and certificate, copied: the API stays plain HTTP for the balancer
        { mqttTo: 'bridge', prepare: (data) => cp(tls.path, join(data, 'server-tls'), { recursive: true }) },
      );
      const c = cluster;
      mark('cluster up');
      assert.match(
        c.instances[0]!.run.output(),
        /MQTT bridge shared with the other instances on Redis 127\.0\.0\.1:\d+/,
      );
      const balancer = new URL(c.apiUrl);
      const http = { endpoint: { host: '127.0.0.1', port: Number(balancer.port) }, host: balancer.host };
      const bridge = { url: c.mqttUrl.replace(/^mqtt:/, 'mqtts:'), ca, restartMs: 300 };

      // Each user's witness straight on an instance that stays up, then their two subscribers through the balancer.
      const direct = (i: number) => `mqtts://127.0.0.1:${c.instances[i]!.bridge}`;
      const sidsOf = (u: number) => ids.filter((_, n) => ownerOf(n) === u).flatMap((id) => id.sids);
      for (const [u, user] of users.entries()) {
        const login = { username: user, password: tokens[u]!, ca };
        const counters = sidsOf(u).map((sid) => `/sensor/${sid}/counter`);
        witnesses.push(
          await countingSubscriber({
            url: direct(0),
            clientId: `witness-${u}`,
            persistent: false,
            filters: ['/sensor/+/counter'],
            ...login,
          }),
        );
        // persistent sessions name each sensor (a `+` is refused them); half the clean ones follow `+`
        for (const persistent of [true, false])
          subs.push(
            await countingSubscriber({
              url: bridge.url,
              clientId: `${persistent ? 'keep' : 'clean'}-${u}`,
              persistent,
              filters: persistent || u % 2 === 1 ? counters : ['/sensor/+/counter'],
              ...login,
            }),
          );
      }
      mark('subscribers in');

      const wrong = new Set<number>();
      ids.forEach((id, n) => {
        const p = plan(n);
        if (p.wrong) wrong.add(n);
        emus.push(
          new FlmEmulator({
            flavour: p.flavour,
            did: id.did,
            keyHex: p.wrong ? wrongKey(id.key) : id.key,
            sids: id.sids,
            seed: 300 + n,
            start: FROM + (n % 60),
            stepSec: 60,
            ...(p.http ? { http } : {}),
            ...(p.bridge ? { bridge } : {}),
            bridgeAddress: '127.0.0.1',
          }),
        );
      });

      let killed = false;
      let killedAt = 0;
      await runFleet(emus, {
        from: FROM,
        to: TO,
        chunkSec: CHUNK,
        paceMs: 10,
        onChunk: (t) => {
          if (!killed && t >= KILL_AT) {
            killed = true;
            killedAt = Date.now();
            c.kill(KILLED);
          }
        },
      });
      assert.ok(killed);
      for (const e of emus) await e.flush();
      mark('load done');
      assert.equal(await c.health(KILLED), 0, 'the killed instance stays down during the load');

      // the killed instance had bridged FLMs: they logged in again, on another instance
      const movedBridges = emus.filter(
        (e, n) => !wrong.has(n) && (e.bridge?.connacks.filter((c) => c === 0).length ?? 0) > 1,
      );
      assert.ok(movedBridges.length > 0, 'some bridged FLMs logged in again after the kill');
      const problems: string[] = [];
      let balancerErrors = 0;
      for (const [n, e] of emus.entries()) {
        if (wrong.has(n)) {
          // 401 from an instance; 502/503 only from the balancer while an instance dies (never 200)
          const statuses = (e.uploader?.posts ?? []).map((p) => p.status);
          if (statuses.some((s) => s === 200)) problems.push(`wrong key ${ids[n]!.did}: a POST taken`);
          if (e.uploader && !statuses.includes(401)) problems.push(`wrong key ${ids[n]!.did}: no 401`);
          balancerErrors += statuses.filter((s) => s === 502 || s === 503).length;
          if (e.bridge?.connacks.includes(0)) problems.push(`wrong key ${ids[n]!.did}: bridge login accepted`);
          continue;
        }
        const up = e.uploader;
        balancerErrors += (up?.posts ?? []).filter((p) => p.status === 502 || p.status === 503).length;
        if (up && up.buffered() !== 0) problems.push(`${ids[n]!.did}: ${up.buffered()} readings still buffered`);
      }

      // the database: exactly what was delivered, no (sid, ts) twice, nothing of a wrong-key device
      const sensors = ids.flatMap((id, n) => id.sids.map((sid) => ({ n, sid })));
      const want = new Map(sensors.map(({ n, sid }) => [sid, wrong.has(n) ? [] : delivered(emus[n]!, sid)]));
      const total = [...want.values()].reduce((a, w) => a + w.length, 0);
      const counts = async () => ({
        rows: Number(await db.scalar('SELECT COUNT(*) FROM flm_srv_readings')),
        distinct: Number(await db.scalar('SELECT COUNT(*) FROM (SELECT DISTINCT sid, ts FROM flm_srv_readings) x')),
      });
      // blocks published just before the end may still be on their way into the store
      let stored = await counts();
      for (let end = Date.now() + 30_000; stored.rows < total && Date.now() < end; stored = await counts())
        await new Promise((r) => setTimeout(r, 1000));
      assert.equal(stored.rows, total, 'every delivered reading is in the database');
      assert.equal(stored.distinct, stored.rows, 'no reading stored twice');
      const wrongSids = sensors.filter(({ n }) => wrong.has(n)).map(({ sid }) => `'${sid}'`);
      assert.equal(await db.scalar(`SELECT COUNT(*) FROM flm_srv_readings WHERE sid IN (${wrongSids.join(',')})`), '0');
      mark('database checked');

      // tmpo-py on every instance, the killed one started again, gets the same samples
      await c.restart(KILLED);
      mark('restarted');
      const outOfOrder = new Set<string>();
      for (const [i, inst] of c.instances.entries()) {
        const py = new TmpoPyClient(`http://127.0.0.1:${inst.api}`);
        for (const { n, sid } of sensors) py.add(sid, tokens[ownerOf(n)]!);
        await py.sync();
        for (const { sid } of sensors) {
          const s = py.rows.some((r) => r.sid === sid) ? py.series(sid) : { times: [], values: [] };
          const pairs = s.times.map((t, k): [number, number] => [t, s.values[k]!]);
          // A late reading goes into an early-starting block after the sensor's last one (the FLM's
          // rule, docs/protocols/server.md#store), and tmpo-py joins blocks in the order of their
          // start: readings that reach the store behind later ones (a retry after the kill) can so
          // come out of time order. Counted and reported (seen in 1 run of about 6, 8 sensors);
          // the samples themselves must be the same.
          if (pairs.some((p, k) => k > 0 && p[0] <= pairs[k - 1]![0])) outOfOrder.add(sid);
          const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
          const w = want.get(sid)!;
          if (JSON.stringify(sorted) !== JSON.stringify(w)) {
            const k = w.findIndex(([t, v], j) => sorted[j]?.[0] !== t || sorted[j]?.[1] !== v);
            problems.push(
              `instance ${i} tmpo-py ${sid}: ${s.times.length} samples, expected ${w.length}; first difference at ${k}: got ${sorted[k]?.[0]}=${sorted[k]?.[1]}, expected ${w[k]?.[0]}=${w[k]?.[1]}`,
            );
          }
        }
      }
      console.log(`# tmpo-py: ${outOfOrder.size} sensors whose series is out of time order on some instance`);
      mark('tmpo-py checked');

      // Live readings: what each user's witness saw after a subscriber's subscription, the subscriber got too.
      const liveProblems: string[] = [];
      let liveTotal = 0;
      for (const [k, s] of subs.entries()) {
        const w = witnesses[Math.floor(k / 2)]!;
        const from = (s.persistent ? s.firstSubscribedAt : s.subscribedAt) + SLACK_MS;
        const due = [...w.got].filter(([, t]) => t >= from).map(([m]) => m);
        liveTotal += due.length;
        await settle(() => due.every((m) => s.got.has(m)), 30_000);
        const missing = due.filter((m) => !s.got.has(m));
        if (due.length === 0) liveProblems.push(`${s.id}: nothing was due (no live readings?)`);
        if (missing.length > 0) {
          const at = missing.map((m) => w.got.get(m)! - killedAt);
          liveProblems.push(
            `${s.id} (${s.persistent ? 'persistent QoS 1' : 'clean'}, ${s.reconnects} reconnects at ${s.connectedAt.map((t) => t - killedAt).join(', ')} ms after the kill, ${s.sessionsLost} sessions lost): missed ${missing.length} of ${due.length}, published ${Math.min(...at)}..${Math.max(...at)} ms after the kill, e.g. ${missing.slice(0, 2).join('; ')}`,
          );
        }
      }
      const moved = subs.filter((s) => s.reconnects > 0);
      // The retained counters, read from each instance directly: the same everywhere, and the newest the witness saw.
      const views: Array<Map<string, string>> = [];
      for (const i of c.instances.keys()) {
        const view = new Map<string, string>();
        for (const [u, user] of users.entries())
          for (const [t, p] of await retainedAt(
            direct(i),
            ca,
            user,
            tokens[u]!,
            new Set([...witnesses[u]!.got.keys()].map((m) => m.split(' ')[0])).size,
          ))
            view.set(t, p);
        views.push(view);
      }
      const newest = new Map<string, string>();
      for (const w of witnesses)
        for (const m of w.got.keys()) {
          const [t = '', p = ''] = m.split(' ');
          if (!newest.has(t) || tsOf(p) > tsOf(newest.get(t)!)) newest.set(t, p);
        }
      const witnessMoves = witnesses.filter((w) => w.reconnects > 0).map((w) => w.id);
      const stale = [...views[0]!].filter(([t, p]) => newest.get(t) !== p);
      mark('live readings checked');
      console.log(
        `server cluster live readings: ${liveTotal} due over ${subs.length} subscribers, ${moved.length} moved (${moved.map((s) => s.id).join(', ')}); ${views[0]!.size} retained counters, ${stale.length} not the newest the witnesses saw (witnesses reconnected: ${witnessMoves.join(', ') || 'none'})${stale.length ? `, e.g. ${stale[0]!.join(' = ')} (newest ${newest.get(stale[0]![0])})` : ''}`,
      );
      for (const [i, v] of views.entries())
        assert.deepEqual([...v].sort(), [...views[0]!].sort(), `instance ${i}'s retained counters are instance 0's`);
      assert.equal(views[0]!.size, newest.size, 'a retained counter for every sensor that had live readings');
      assert.ok(moved.length > 0, 'the killed instance had subscribers, and they reconnected elsewhere');
      assert.deepEqual(liveProblems, [], `${liveProblems.length} subscribers missed live readings`);
      console.log(
        `server cluster test: ${timings.join(', ')}; ${total} readings, ${balancerErrors} POSTs answered 502/503 by the balancer, ${movedBridges.length} bridged FLMs moved`,
      );
      assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
      assert.ok(
        total > 10_000,
        `a real load: ${total} readings, ${balancerErrors} POSTs answered 502/503 by the balancer, ${movedBridges.length} bridged FLMs moved`,
      );
    } finally {
      for (const s of [...subs, ...witnesses]) s.client.end(true);
      for (const e of emus) await e.stop();
      await cluster?.stop();
      await db.remove();
      await tls.remove();
    }
  },
);
