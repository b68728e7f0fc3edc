/**
 * flm-p1 on real pseudo-terminals (socat) and a real TCP server on 127.0.0.1: telegrams written
 * in random chunk sizes arrive whole; killing the writer side trips the watchdog; restarting it
 * reconnects with no telegram lost; a TCP peer that drops mid-telegram is reconnected to without
 * a corrupted telegram getting through. Also `flm p1 sniff` on a pty.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, realpathSync, writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { helper, flmNodes, onTab, waitFor, collect, tempDir } from '../support/nodered';
import { fixture, telegramOf, VALID_CRC } from '../unit/p1/fixtures';
import { runCli } from '../../core/cli/main';
import { socatPair, fdsOn, type Pty } from '../support/pty';
import { callsOf, lastStatusOf as lastStatus } from '../support/node-calls';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A pty pair whose ends are the links `a` and `b`; stopped by pid after the test. */
async function startSocat(a: string, b: string): Promise<Pty> {
  const pty = await socatPair(a, b);
  cleanups.push(pty.stop);
  return pty;
}

/** The meter: writes telegrams into the pty in random chunk sizes. */
function meterOn(path: string, seed = 1) {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOCTTY);
  const rnd = lcg(seed);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  cleanups.push(close);
  return {
    async write(text: string | Buffer): Promise<void> {
      const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
      for (let i = 0; i < bytes.length;) {
        const n = 1 + Math.floor(rnd() * 200);
        writeSync(fd, bytes.subarray(i, i + n));
        i += n;
        if (rnd() < 0.3) await sleep(Math.floor(rnd() * 4));
      }
    },
    close,
  };
}

const connects = (node: any, label: string) =>
  callsOf(node, 'log').filter(([t]) => t === `reading P1 from ${label}`).length;

const p1Serial = (port: string, extra: Record<string, unknown> = {}) =>
  onTab([
    {
      id: 'p1',
      type: 'flm-p1',
      source: 'serial',
      port,
      serial: '115200-8N1',
      crc: 'strict',
      variant: 'arc',
      watchdog: '2.5',
      wires: [['out']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);

test(
  'serial 115200 8N1 through a socat pty: random chunks, garbage, the watchdog on a dead writer, reconnect with no telegram lost',
  { timeout: 90_000 },
  async () => {
    const dir = await tempDir('flm-p1-pty-');
    cleanups.push(() => dir.remove());
    const a = join(dir.path, 'meterA');
    const b = join(dir.path, 'meterB');
    let pty = await startSocat(a, b);
    await helper.load(flmNodes, p1Serial(a));
    const p1 = helper.getNode('p1');
    const out = collect('out');
    const caught = collect('caught');
    const telegramsOut = () => out.filter((m) => m.topic === 'p1/telegram');
    await waitFor('the port to open', () => connects(p1, `${a} 115200 8N1`) === 1, 5000);

    let meter = meterOn(b, 5);
    await meter.write('\x00\xff line noise before the first telegram\r\n');
    for (const [i, name] of VALID_CRC.entries()) {
      await meter.write(telegramOf(fixture(name)) + (i % 3 === 0 ? 'garbage between telegrams\r\n' : ''));
      await waitFor(`${name} to arrive`, () => telegramsOut().length === i + 1, 5000);
    }
    assert.deepEqual(
      telegramsOut().map((m) => m.p1.raw),
      VALID_CRC.map((n) => telegramOf(fixture(n))),
    );
    assert.equal(out[0].topic, 'p1/availability');
    assert.equal(out[0].payload, 'online');
    await waitFor(
      'green counters',
      () => lastStatus(p1).text === `${VALID_CRC.length} ok` && lastStatus(p1).fill === 'green',
    );

    // A telegram with a changed byte is counted and reported, not passed on.
    const bad = telegramOf(fixture('dsmr5-nl.txt')).replace('(00.244*kW)', '(00.245*kW)');
    await meter.write(bad);
    const c = await waitFor('the bad CRC at Catch', () => caught[0], 5000);
    assert.match(c.error.message, /bad CRC: expected 6EEE \(carried by the telegram\), computed [0-9A-F]{4}/);
    assert.equal(c.topic, 'p1/error');
    assert.equal(c.payload, bad);
    await waitFor('the crc counter', () => lastStatus(p1).text === `${VALID_CRC.length} ok · 1 crc`);

    // The meter side goes away: a read-only port sees no error, only silence.
    meter.close();
    const t0 = Date.now();
    await pty.stop();
    const yellow = await waitFor(
      'the watchdog',
      () =>
        lastStatus(p1).fill === 'yellow' && /^no data for \d+ s/.test(lastStatus(p1).text ?? '')
          ? lastStatus(p1)
          : undefined,
      5000,
    );
    assert.ok(yellow);
    await waitFor('offline', () => out.find((m) => m.topic === 'p1/availability' && m.payload === 'offline'), 5000);
    await waitFor(
      'failed reconnect attempts',
      () => /^no data for \d+ s · ENOENT$/.test(lastStatus(p1).text ?? ''),
      10_000,
    );
    assert.ok(
      callsOf(p1, 'warn').some(([w]) => /cannot connect: .*No such file or directory.*; retrying in \d+ s/.test(w)),
      'the failure is logged',
    );
    const watchdogMs = Date.now() - t0;

    // The meter comes back on the same path: the node finds it and every telegram gets through.
    const opened = connects(p1, `${a} 115200 8N1`);
    pty = await startSocat(a, b);
    const t1 = Date.now();
    await waitFor('the port to reopen', () => connects(p1, `${a} 115200 8N1`) === opened + 1, 40_000);
    const reconnectMs = Date.now() - t1;
    meter = meterOn(b, 9);
    const before = telegramsOut().length;
    const after = ['dsmr5-nl.txt', 'dsmr5-be-fluvius.txt', 'dsmr5-hu-eon.txt', 'dsmr42-nl-kaifa.txt', 'smarty-lu.txt'];
    for (const [i, name] of after.entries()) {
      await meter.write(telegramOf(fixture(name)));
      await waitFor(`${name} after the reconnect`, () => telegramsOut().length === before + i + 1, 5000);
    }
    assert.deepEqual(
      telegramsOut()
        .slice(before)
        .map((m) => m.p1.raw),
      after.map((n) => telegramOf(fixture(n))),
    );
    await waitFor(
      'online again and green',
      () => out.filter((m) => m.payload === 'online').length === 2 && lastStatus(p1).fill === 'green',
      5000,
    );
    assert.deepEqual(
      out.filter((m) => m.topic === 'p1/availability').map((m) => m.payload),
      ['online', 'offline', 'online'],
    );

    const noticed = callsOf(p1, 'warn').some(([w]) => /device disconnected/.test(w))
      ? 'serialport reported the device gone'
      : 'only the watchdog noticed';
    // Redeploy releases the port.
    const device = realpathSync(a);
    assert.equal(fdsOn(device), 1, 'the node holds the pty open');
    const t2 = Date.now();
    await helper.unload();
    const closeMs = Date.now() - t2;
    assert.equal(fdsOn(device), 0, 'the pty is released after close');
    assert.ok(closeMs < 5000, `close took ${closeMs} ms`);
    console.log(
      `# pty: ${noticed}; yellow "no data · ENOENT" ${watchdogMs} ms after the kill, reopened ${reconnectMs} ms after socat came back, close ${closeMs} ms`,
    );
  },
);

test(
  'serial 9600 7E1 (DSMR 2.2/3) and auto-detect: CRC-less telegrams through a pty; auto switches after a silent attempt',
  { timeout: 60_000 },
  async () => {
    const dir = await tempDir('flm-p1-pty-');
    cleanups.push(() => dir.remove());
    const a = join(dir.path, 'oldA');
    const b = join(dir.path, 'oldB');
    await startSocat(a, b);
    await helper.load(flmNodes, p1Serial(a, { serial: '9600-7E1', watchdog: '30' }));
    const p1 = helper.getNode('p1');
    const out = collect('out');
    await waitFor('the port to open at 9600 7E1', () => connects(p1, `${a} 9600 7E1`) === 1, 5000);
    const meter = meterOn(b, 3);
    for (const [i, name] of ['dsmr22-nl.txt', 'dsmr3-nl.txt'].entries()) {
      await meter.write(fixture(name));
      await waitFor(`${name}`, () => out.filter((m) => m.topic === 'p1/telegram').length === i + 1, 5000);
    }
    const got = out.filter((m) => m.topic === 'p1/telegram');
    assert.deepEqual(
      got.map((m) => m.p1.check.status),
      ['no-crc', 'no-crc'],
    );
    assert.deepEqual(got[0].payload.mbus[0].reading.unit, 'm³');
    await helper.unload();

    // auto: nothing framed at 115200 8N1 within the probe time (here the 1.5 s watchdog) → 9600 7E1.
    await helper.load(flmNodes, p1Serial(a, { serial: 'auto', watchdog: '1.5' }));
    const auto = helper.getNode('p1');
    const autoOut = collect('out');
    await waitFor('first attempt at 115200 8N1', () => connects(auto, `${a} 115200 8N1`) === 1, 5000);
    await waitFor('second attempt at 9600 7E1', () => connects(auto, `${a} 9600 7E1`) === 1, 10_000);
    await meter.write(fixture('dsmr22-nl.txt'));
    await waitFor('a telegram at 9600 7E1', () => autoOut.find((m) => m.topic === 'p1/telegram'), 5000);
    const device = realpathSync(a);
    await helper.unload();
    assert.equal(fdsOn(device), 0, 'the pty is released after close');
  },
);

test(
  'flm p1 sniff reads a pty: one line per telegram and a statistics line, as text or JSON',
  { timeout: 30_000 },
  async () => {
    const dir = await tempDir('flm-p1-sniff-');
    cleanups.push(() => dir.remove());
    const a = join(dir.path, 'sniffA');
    const b = join(dir.path, 'sniffB');
    await startSocat(a, b);
    const meter = meterOn(b, 2);
    for (const json of [false, true]) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let text = '';
      let err = '';
      stdout.on('data', (d) => (text += d));
      stderr.on('data', (d) => (err += d));
      const running = runCli(['p1', 'sniff', '--port', a, '--seconds', '1.5', ...(json ? ['--json'] : [])], {
        stdout,
        stderr,
        stdin: new PassThrough(),
      });
      await sleep(300);
      await meter.write(telegramOf(fixture('dsmr5-nl.txt')));
      await sleep(100);
      await meter.write(telegramOf(fixture('be-emucs-2.1.1-spec-example.txt')));
      await sleep(100);
      await meter.write('noise' + telegramOf(fixture('dsmr5-be-fluvius.txt')));
      const code = await running;
      assert.equal(code, 0, err);
      const lines = text.trim().split('\n');
      assert.equal(lines.length, 4, text);
      if (!json) {
        assert.match(err, new RegExp(`^reading ${a} 115200 8N1 for 1.5 s`));
        assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}K8EG004046395507 {2}net 244 W {2}crc valid$/);
        assert.match(lines[1]!, /^\S+ {2}- {2}- {2}telegram rejected: bad CRC: expected 1234 .*computed 74E0$/);
        assert.match(
          lines[3]!,
          /^stats: 3 telegrams in [\d.]+ s: 2 ok, 1 bad CRC, 0 unreadable, 0 not decrypted, 5 garbage bytes \(time is up\)$/,
        );
      } else {
        const objs = lines.map((l) => JSON.parse(l));
        assert.deepEqual(objs[0], {
          time: objs[0].time,
          meterId: 'K8EG004046395507',
          netPowerW: 244,
          crc: 'valid',
          accepted: true,
        });
        assert.equal(objs[1].accepted, false);
        assert.equal(objs[1].crc, 'mismatch');
        assert.deepEqual(
          { ...objs[3].stats, seconds: 0 },
          {
            seconds: 0,
            telegrams: 3,
            good: 2,
            badCrc: 1,
            unparsable: 0,
            decryptFailed: 0,
            frames: 3,
            garbageBytes: 5,
            backlogDropped: 0,
          },
        );
        assert.equal(objs[3].end, 'time is up');
      }
    }
    // 9600 7E1 is passed on to the port; nothing sent is an exit 1 with advice.
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (d) => (err += d));
    stdout.resume();
    assert.equal(
      await runCli(['p1', 'sniff', '--port', a, '--baud', '9600', '--parity', 'even', '--seconds', '0.3'], {
        stdout,
        stderr,
        stdin: new PassThrough(),
      }),
      1,
    );
    assert.match(err, new RegExp(`reading ${a} 9600 7E1`));
    assert.match(err, /no good telegram .*--baud 9600 --parity even/);
    const missing = await runCli(['p1', 'sniff', '--port', join(dir.path, 'nothing'), '--seconds', '1'], {
      stdout,
      stderr,
      stdin: new PassThrough(),
    });
    assert.equal(missing, 1);
    assert.match(err, /cannot open .*nothing 115200 8N1: .*No such file or directory/);
  },
);

/** A P1 dongle on 127.0.0.1 whose every connection the test scripts. */
async function fakeDongle(
  port = 0,
): Promise<{ server: Server; port: number; sockets: Socket[]; connections: () => number }> {
  const sockets: Socket[] = [];
  let count = 0;
  const server = createServer((s) => {
    count++;
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { server, port: (server.address() as { port: number }).port, sockets, connections: () => count };
}

test(
  'tcp: a dongle that drops mid-telegram and goes away for a while; reconnect with backoff, nothing corrupted or lost',
  { timeout: 60_000 },
  async () => {
    let dongle = await fakeDongle();
    const port = dongle.port;
    await helper.load(
      flmNodes,
      onTab([
        {
          id: 'p1',
          type: 'flm-p1',
          source: 'tcp',
          tcp: `127.0.0.1:${port}`,
          crc: 'strict',
          watchdog: '10',
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
      ]),
    );
    const p1 = helper.getNode('p1');
    const out = collect('out');
    const telegramsOut = () => out.filter((m) => m.topic === 'p1/telegram');
    const names = [
      'dsmr5-nl.txt',
      'dsmr5-be-fluvius.txt',
      'dsmr42-nl-kaifa.txt',
      'dsmr5-hu-eon.txt',
      'smarty-lu.txt',
      'dsmr5-nl-two-mbus.txt',
    ];
    const t = names.map((n) => telegramOf(fixture(n)));
    await waitFor('a connection', () => dongle.connections() === 1, 5000);
    const send = async (s: Socket, i: number) => {
      s.write(t[i]!);
      await waitFor(`telegram ${i}`, () => telegramsOut().length === i + 1, 5000);
    };
    await send(dongle.sockets[0]!, 0);
    await send(dongle.sockets[0]!, 1);
    // Half a telegram, then the connection drops: the half must not come out, nor spoil the next.
    dongle.sockets[0]!.write(t[2]!.slice(0, 400));
    await sleep(50);
    dongle.sockets[0]!.destroy();
    const t0 = Date.now();
    await waitFor('a new connection', () => dongle.connections() === 2, 5000);
    const reconnectMs = Date.now() - t0;
    assert.ok(
      reconnectMs <= 1500,
      `the first retry after a productive connection comes within 1 s (+ slack): ${reconnectMs} ms`,
    );
    await send(dongle.sockets[1]!, 2);
    await send(dongle.sockets[1]!, 3);

    // The dongle goes away: connection refused, retried with growing delays, shown in the status.
    await new Promise<void>((r) => {
      dongle.sockets[1]!.destroy();
      dongle.server.close(() => r());
    });
    await waitFor(
      'ECONNREFUSED in the status',
      () => /^ECONNREFUSED · retry in \d+ s$/.test(lastStatus(p1).text ?? ''),
      10_000,
    );
    const retries = callsOf(p1, 'status')
      .map(([s]) => s.text)
      .filter((x: string) => /^ECONNREFUSED/.test(x));
    assert.equal(lastStatus(p1).fill, 'yellow');
    dongle = await fakeDongle(port);
    await waitFor('the node back on the same port', () => dongle.connections() === 1, 20_000);
    await send(dongle.sockets[0]!, 4);
    await send(dongle.sockets[0]!, 5);
    assert.deepEqual(
      telegramsOut().map((m) => m.p1.raw),
      t,
    );
    assert.deepEqual(
      out.filter((m) => m.topic === 'p1/availability').map((m) => m.payload),
      ['online'],
    );
    await waitFor('green', () => lastStatus(p1).text === `${names.length} ok` && lastStatus(p1).fill === 'green');
    assert.ok(retries.length >= 1);
    console.log(
      `# tcp: reconnect after a drop in ${reconnectMs} ms; retry statuses while refused: ${retries.join(' | ')}`,
    );
  },
);

test(
  'tcp: a dongle that accepts but stays silent is dropped by the watchdog and connected to again',
  { timeout: 30_000 },
  async () => {
    const dongle = await fakeDongle();
    await helper.load(
      flmNodes,
      onTab([
        { id: 'p1', type: 'flm-p1', source: 'tcp', tcp: `127.0.0.1:${dongle.port}`, watchdog: '0.8', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
    );
    const p1 = helper.getNode('p1');
    const out = collect('out');
    await waitFor('a second connection after the silence', () => dongle.connections() >= 2, 10_000);
    await waitFor(
      'the silent connection closed by the node',
      () => dongle.sockets[0]!.destroyed || dongle.sockets[0]!.readableEnded,
      3000,
    );
    assert.deepEqual(
      out.map((m) => `${m.topic} ${m.payload}`),
      ['p1/availability offline'],
    );
    assert.equal(lastStatus(p1).fill, 'yellow');
    dongle.sockets.at(-1)!.write(telegramOf(fixture('dsmr5-nl.txt')));
    await waitFor('online', () => out.some((m) => m.payload === 'online'), 5000);
  },
);
