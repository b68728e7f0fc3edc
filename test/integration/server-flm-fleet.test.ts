import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { FlmEmulator } from '../support/flm-emulator/emulator';
import { fleetIdentity, runFleet, wrongKey, type FleetIdentity } from '../support/flm-emulator/fleet';
import { expectedSeries, seriesDiff, type RestPoint } from '../support/flm-emulator/rest-reference';
import {
  bridgeCaFile,
  flmCli,
  flmCliInProcess,
  killHard,
  serverPlace,
  startServerMode,
  untilHealthy,
} from '../support/flm-emulator/server-mode';
import type { Running } from '../support/processes';
import { TmpoPyClient } from '../support/tmpo-py-client';

/**
 * Issue #17, "How it is shown": 50 emulated FLMs (FLM02 and FLM03; HTTP, bridge or both; six with
 * a wrong key) upload a day of data at high speed to `FLM_MODE=server npm start`, which is killed
 * with SIGKILL and started again twice during the run. Afterwards every reading is stored exactly
 * once, the wrong-key devices stored nothing, the REST API answers what was sent at minute, 15min,
 * hour and day resolution, and a tmpo-py client syncs every sensor and gets the same samples.
 */

const DEVICES = 50;
const HOUR = 3600;
const DAY = 86400;
/** a day ending about an hour ago, on a level-12 boundary */
const FROM = Math.floor((Date.now() / 1000 - DAY - HOUR) / 4096) * 4096;
const TO = FROM + DAY;
const CHUNK = 300;
const KILL_AT = [FROM + 8 * HOUR, FROM + 17 * HOUR];
const RESOLUTIONS: Array<[string, number]> = [
  ['minute', 60],
  ['15min', 900],
  ['hour', 3600],
  ['day', DAY],
];

interface Member {
  id: FleetIdentity;
  emu: FlmEmulator;
  wrong: boolean;
}

/** Device n's part: FLM03 on the bridge; FLM02 on HTTP only or on HTTP and the bridge. */
function plan(n: number): { flavour: 'FLM02' | 'FLM03'; http: boolean; bridge: boolean; wrong: boolean } {
  const flavour = n % 3 === 2 ? 'FLM03' : 'FLM02';
  const both = n % 2 === 0;
  return { flavour, http: flavour === 'FLM02', bridge: flavour === 'FLM03' || both, wrong: n % 8 === 5 };
}

const sorted = (m: Map<number, number>): Array<[number, number]> => [...m].sort((a, b) => a[0] - b[0]);

/**
 * What the server should hold for a sensor: readings acknowledged over HTTP, and the samples of
 * every block tmpod wrote when the device has a bridge (without one the blocks stay on the FLM).
 */
function delivered(emu: FlmEmulator, sid: string): Array<[number, number]> {
  const all = new Map<number, number>(emu.uploader?.acked.get(sid) ?? []);
  if (emu.bridge) for (const [t, v] of emu.disk.written.get(sid) ?? []) all.set(t, v);
  return sorted(all);
}

async function getJson(url: string, token: string): Promise<unknown> {
  const r = await fetch(url, { headers: { 'X-Version': '1.0', 'X-Token': token, Accept: 'application/json' } });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${text}`);
  return JSON.parse(text);
}

// About 3 to 5 minutes on a shared 2-core machine: a day of 50 FLMs is some 23,000 POSTs and
// 28,000 block publishes, so this test sets its own limit above the runner's 300 s default.
test(
  '50 emulated FLMs, a day at speed, two SIGKILLs: every reading once, wrong keys nothing, REST and tmpo-py match what was sent',
  { timeout: 900_000 },
  async () => {
    const place = await serverPlace();
    let run: Running | undefined;
    const members: Member[] = [];
    const t0 = Date.now();
    const timings: string[] = [];
    try {
      // accounts and devices first: the CLI works while the server is stopped
      const userOut = await flmCli(place, ['server', 'user', 'add', 'fluksonian']);
      const token = /\b[0-9a-f]{32}\b/.exec(userOut)?.[0];
      assert.ok(token, `a master token in: ${userOut}`);
      const ids = Array.from({ length: DEVICES }, (_, n) => fleetIdentity('server-fleet', n));
      // the same CLI in this process: 50 node start-ups would take most of a minute
      for (const id of ids)
        await flmCliInProcess(place, [
          'server',
          'device',
          'add',
          id.did,
          id.key,
          '--user',
          'fluksonian',
          ...id.sids.flatMap((s) => ['--sensor', s]),
        ]);

      timings.push(`registered ${Math.round((Date.now() - t0) / 1000)} s`);
      run = startServerMode(place);
      await untilHealthy(place, run);
      const ca = await readFile(await bridgeCaFile(place, run.output), 'utf8');
      const http = { endpoint: { host: '127.0.0.1', port: place.api }, host: `127.0.0.1:${place.api}` };
      const bridge = { url: `mqtts://127.0.0.1:${place.bridge}`, ca, restartMs: 300 };

      ids.forEach((id, n) => {
        const p = plan(n);
        const emu = new FlmEmulator({
          flavour: p.flavour,
          did: id.did,
          keyHex: p.wrong ? wrongKey(id.key) : id.key,
          sids: id.sids,
          seed: 100 + n,
          // one sample a minute, each device at its own second
          start: FROM + (n % 60),
          stepSec: 60,
          ...(p.http ? { http } : {}),
          ...(p.bridge ? { bridge } : {}),
          ...(n % 7 === 1 ? { networkDown: [{ from: FROM + 5 * HOUR, to: FROM + 6.5 * HOUR }] } : {}),
          ...(n % 7 === 3 ? { powerOff: [{ from: FROM + 13 * HOUR, to: FROM + 15 * HOUR }] } : {}),
          bridgeAddress: '127.0.0.1',
        });
        members.push({ id, emu, wrong: p.wrong });
      });

      // SIGKILL while the fleet is sending; emulated time waits for the restart before going on
      let crash: Promise<void> | undefined;
      const kills: number[] = [];
      await runFleet(
        members.map((m) => m.emu),
        {
          from: FROM,
          to: TO,
          chunkSec: CHUNK,
          paceMs: 10,
          onChunk: async (t) => {
            if (crash) {
              await crash;
              crash = undefined;
            }
            if (KILL_AT.some((k) => t >= k && t < k + CHUNK)) {
              crash = (async () => {
                await new Promise((r) => setTimeout(r, 20));
                await killHard(run!);
                kills.push(t);
                run = startServerMode(place);
                await untilHealthy(place, run);
              })();
            }
          },
        },
      );
      if (crash) await crash;
      assert.equal(kills.length, 2);
      for (const m of members) await m.emu.flush();

      const good = members.filter((m) => !m.wrong);
      const bad = members.filter((m) => m.wrong);
      const problems: string[] = [];
      timings.push(`run ${Math.round((Date.now() - t0) / 1000)} s`);
      /** a device's part in the run, for the failure text */
      const describe = (m: Member): string =>
        `${m.wrong ? 'wrong key ' : ''}${m.emu.opts.flavour} ${m.emu.uploader ? 'HTTP' : ''}${m.emu.uploader && m.emu.bridge ? '+' : ''}${m.emu.bridge ? 'bridge' : ''}`;
      /** a sample's time against the kills, and which way it was sent */
      const where = (m: Member, sid: string, ts: number): string => {
        const ways = [
          m.emu.uploader?.acked.get(sid)?.has(ts) ? 'acknowledged POST' : '',
          m.emu.disk.written.get(sid)?.has(ts) ? 'block' : '',
        ]
          .filter(Boolean)
          .join(' and ');
        const post = m.emu.uploader?.posts.find(
          (p) => p.sid === sid && p.status === 200 && p.points.some(([t]) => t === ts),
        );
        return `ts ${ts} (run + ${ts - FROM} s; kills at chunk ends ${kills.map((k) => k - FROM).join(', ')}) by ${ways}${post ? ` in the round at run + ${post.at - FROM} s` : ''}`;
      };

      // HTTP: every reading put on the wire was acknowledged in the end, nothing is left buffered
      for (const m of good) {
        const up = m.emu.uploader;
        if (!up) continue;
        if (up.buffered() !== 0) problems.push(`${m.id.did}: ${up.buffered()} readings still buffered`);
        for (const sid of m.id.sids) {
          const a = up.attempted.get(sid)?.size ?? 0;
          const k = up.acked.get(sid)?.size ?? 0;
          if (a !== k) problems.push(`${sid}: ${a} readings sent, ${k} acknowledged`);
        }
        if (m.emu.heartbeats.some((h) => !h.ok && h.reason === 'digest'))
          problems.push(`${m.id.did}: heartbeat reply digest wrong`);
        if (!m.emu.heartbeats.some((h) => h.ok)) problems.push(`${m.id.did}: no heartbeat answered`);
      }
      for (const m of bad) {
        const statuses = new Set(m.emu.uploader?.posts.map((p) => p.status) ?? []);
        for (const s of statuses) if (s !== 401 && s !== 0) problems.push(`wrong key ${m.id.did}: a POST got ${s}`);
        if (m.emu.bridge && m.emu.bridge.connacks.includes(0))
          problems.push(`wrong key ${m.id.did}: bridge login accepted`);
      }

      // tmpo-py syncs every sensor; wait until the server has taken all blocks
      const sensors = members.flatMap((m) => m.id.sids.map((sid) => ({ m, sid })));
      const want = new Map(sensors.map(({ m, sid }) => [sid, m.wrong ? [] : delivered(m.emu, sid)]));
      // fresh clients until every sensor is complete, or nothing more came for 20 s
      let py = new TmpoPyClient(`http://127.0.0.1:${place.api}`);
      let have = -1;
      let progressAt = Date.now();
      for (;;) {
        py = new TmpoPyClient(`http://127.0.0.1:${place.api}`);
        for (const { sid } of sensors) py.add(sid, token);
        await py.sync();
        const counts = sensors.map(({ sid }) => (py.rows.some((r) => r.sid === sid) ? py.series(sid).times.length : 0));
        const total = counts.reduce((a, b) => a + b, 0);
        if (total !== have) progressAt = Date.now();
        have = total;
        if (sensors.every(({ sid }, i) => counts[i]! >= want.get(sid)!.length) || Date.now() - progressAt > 20_000)
          break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      timings.push(`synced ${Math.round((Date.now() - t0) / 1000)} s`);
      for (const { m, sid } of sensors) {
        const s = py.rows.some((r) => r.sid === sid) ? py.series(sid) : { times: [], values: [] };
        const got = s.times.map((t, i) => [t, s.values[i]!] as [number, number]);
        const w = want.get(sid)!;
        if (new Set(s.times).size !== s.times.length) problems.push(`tmpo-py ${sid}: a sample twice`);
        if (JSON.stringify(got) !== JSON.stringify(w)) {
          const gotSet = new Map(got);
          const lacking = w.filter(([t, v]) => gotSet.get(t) !== v);
          const sent = new Set(w.map(([t]) => t));
          const extra = got.filter(([t]) => !sent.has(t)).length;
          problems.push(
            `tmpo-py ${sid} (${describe(m)}): ${got.length} samples, expected ${w.length}; ${lacking.length} missing or different, ${extra} not sent` +
              (lacking.length ? `; first missing ${where(m, sid, lacking[0]![0])}` : ''),
          );
        }
      }

      // REST at four resolutions, watt for electricity, lperday for gas and water
      for (const { m, sid } of sensors) {
        const kind = m.emu.sensors.find((s) => s.sid === sid)!.kind;
        const [unit, factor] = kind === 'gas' || kind === 'water' ? ['lperday', 86400] : ['watt', 3600];
        for (const [name, r] of RESOLUTIONS) {
          const start = Math.floor(FROM / r) * r;
          const end = Math.ceil((TO + HOUR) / r) * r;
          const got = (await getJson(
            `http://127.0.0.1:${place.api}/sensor/${sid}?start=${start}&end=${end}&resolution=${name}&unit=${unit}`,
            token,
          )) as RestPoint[];
          const expected = expectedSeries(want.get(sid)!, start, r, (end - start) / r, factor);
          const diff = seriesDiff(got, expected);
          if (diff.length)
            problems.push(
              `REST ${sid} (${describe(m)}) ${name}: ${diff.length} points differ, first ${diff.slice(0, 3).join('; ')}`,
            );
        }
      }
      timings.push(`checked ${Math.round((Date.now() - t0) / 1000)} s`);
      console.log(`fleet test: ${timings.join(', ')}`);
      assert.deepEqual(problems.slice(0, 40), [], `${problems.length} problems`);
      // the run covered what it should
      assert.ok(good.some((m) => sorted(new Map(delivered(m.emu, m.id.sids[0]!))).length > 1000));
    } finally {
      for (const m of members) await m.emu.stop();
      if (run) await run.stop(10_000);
      await place.dir.remove();
    }
  },
);
