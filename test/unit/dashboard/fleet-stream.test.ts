/**
 * The server dashboard's live stream (core/dashboard/fleet-stream.ts) over real HTTP on
 * loopback: who gets which reading when a share is withdrawn or a token stops being anyone's,
 * the power from the previous counter, late readings, and the readings a new page gets first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FleetCounter, FleetSensor, FleetSource, Viewer } from '../../../core/dashboard/fleet';
import { FleetStream } from '../../../core/dashboard/fleet-stream';

const S1 = '51000000000000000000000000000001';
const S2 = '52000000000000000000000000000002';
type Reading = { sid: string; kind: string; ts: number; value: number; unit: string };

const sensor = (sid: string, owner: string): FleetSensor => ({
  sid,
  did: 'd'.repeat(32),
  owner,
  name: sid,
  type: 'electricity',
});

/** A server of two sensors: alice owns S1, bob S2; `shared` says whether bob may see S1 too. */
function fakeServer() {
  const listeners = new Set<(r: FleetCounter) => void>();
  const state = { shared: true, bobKnown: true, now: 0 };
  const fleet: FleetSource = {
    sensors: async (v: Viewer) => {
      if ('admin' in v) return [sensor(S1, 'alice'), sensor(S2, 'bob')];
      if (v.token !== 'bob' || !state.bobKnown) return undefined;
      return state.shared ? [sensor(S1, 'alice'), sensor(S2, 'bob')] : [sensor(S2, 'bob')];
    },
    access: async () => 200,
    reader: undefined as never,
    live: {
      subscribe: (fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
    },
  };
  const offer = (sid: string, ts: number, value: number, before?: { ts: number; value: number }) => {
    for (const fn of listeners)
      fn({ sid, ts, value, unit: 'Wh', gaugeUnit: 'W', perSeconds: 3600, ...(before ? { before } : {}) });
  };
  return { fleet, state, offer, listeners };
}

async function serve(stream: FleetStream, fleet: FleetSource): Promise<{ http: Server; url: string }> {
  const http = createServer((req, res) => {
    const token = req.headers['x-token'];
    const viewer: Viewer = typeof token === 'string' ? { token } : { admin: true };
    void fleet.sensors(viewer).then((list) => {
      if (!list) return void res.writeHead(401).end();
      stream.open(req, res, viewer, list);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/` };
}

function reader(url: string, token?: string) {
  const got: Reading[] = [];
  const state = { ended: false };
  const ctl = new AbortController();
  const done = (async () => {
    const r = await fetch(url, { signal: ctl.signal, headers: token ? { 'X-Token': token } : {} });
    let buf = '';
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString('utf8');
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
        buf = buf.slice(i + 2);
        if (data) got.push(JSON.parse(data) as Reading);
      }
    }
    state.ended = true;
  })().catch(() => undefined);
  return { got, state, stop: () => ctl.abort(), done };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a share withdrawn stops the readings once the list is asked again; a token nobody has ends the stream', async () => {
  const srv = fakeServer();
  const stream = new FleetStream(srv.fleet, { visibleForMs: 1000, now: () => srv.state.now });
  const { http, url } = await serve(stream, srv.fleet);
  const admin = reader(url);
  const bob = reader(url, 'bob');
  try {
    await until('two pages', () => stream.size === 2);
    srv.offer(S1, 100, 1000, { ts: 40, value: 990 }); // 600 W
    srv.offer(S2, 100, 2000); // no reading before: a counter alone
    await until('bob got S1 and S2', () => bob.got.length === 3);
    assert.deepEqual(bob.got, [
      { sid: S1, kind: 'counter', ts: 100, value: 1000, unit: 'Wh' },
      { sid: S1, kind: 'gauge', ts: 100, value: 600, unit: 'W' },
      { sid: S2, kind: 'counter', ts: 100, value: 2000, unit: 'Wh' },
    ]);
    // The share goes; within the list's age bob still gets S1, after it no more.
    srv.state.shared = false;
    srv.state.now = 2000;
    srv.offer(S1, 160, 1005); // 300 W from the last counter the stream took
    srv.offer(S2, 160, 2010); // 600 W
    await until('admin got both', () => admin.got.length === 7);
    await until('bob got S2', () => bob.got.length === 5);
    assert.deepEqual(admin.got.slice(3, 5), [
      { sid: S1, kind: 'counter', ts: 160, value: 1005, unit: 'Wh' },
      { sid: S1, kind: 'gauge', ts: 160, value: 300, unit: 'W' },
    ]);
    assert.deepEqual(
      bob.got.slice(3).map((r) => r.sid),
      [S2, S2],
    );
    // A late reading changes nothing for anyone.
    srv.offer(S2, 130, 2005);
    // Bob's token is nobody's now: his stream ends at the next reading after the list's age.
    srv.state.bobKnown = false;
    srv.state.now = 4000;
    srv.offer(S2, 220, 2020);
    await until("bob's stream ended", () => bob.state.ended);
    await until('admin got the next one', () => admin.got.length === 9);
    assert.equal(bob.got.length, 5);
    assert.deepEqual(
      admin.got.map((r) => r.ts),
      [100, 100, 100, 160, 160, 160, 160, 220, 220],
    );
    // A page opened now gets the newest of each sensor at once.
    const late = reader(url);
    await until('the late page got the newest', () => late.got.length === 4);
    assert.deepEqual(
      late.got.map((r) => [r.sid, r.kind, r.ts]),
      [
        [S1, 'counter', 160],
        [S1, 'gauge', 160],
        [S2, 'counter', 220],
        [S2, 'gauge', 220],
      ],
    );
    late.stop();
  } finally {
    admin.stop();
    bob.stop();
    stream.close();
    assert.equal(srv.listeners.size, 0, 'closing unsubscribes');
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  }
});
