import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { SerialPortMock } from 'serialport';
import {
  ReconnectingSource,
  type ConnectContext,
  type ConnectionHandlers,
  type SourceState,
} from '../../../core/link/reconnecting';
import { ManualClock } from '../../support/clock';
import { Watchdog } from '../../../core/link/watchdog';
import { parseHostPort, tcpConnector } from '../../../core/p1/source/tcp';
import { serialConnector, SerialSettingsChooser } from '../../../core/p1/source/serial';

const flush = () => new Promise((r) => setImmediate(r));

/** A transport under the test's control: each attempt fails or opens as scripted. */
function fakeTransport(script: Array<'fail' | 'open'>) {
  const attempts: ConnectContext[] = [];
  const open: Array<{ handlers: ConnectionHandlers; closed: boolean }> = [];
  const connect = async (handlers: ConnectionHandlers, ctx: ConnectContext) => {
    attempts.push(ctx);
    const step = script[attempts.length - 1] ?? 'open';
    if (step === 'fail') throw Object.assign(new Error('no such device'), { code: 'ENOENT' });
    const c = { handlers, closed: false };
    open.push(c);
    return { label: `fake#${attempts.length}`, close: async () => void (c.closed = true) };
  };
  return { connect, attempts, open };
}

function sourceWith(script: Array<'fail' | 'open'>, extra: { probeMs?: number; idleMs?: number } = {}) {
  const clock = new ManualClock();
  const t = fakeTransport(script);
  const data: string[] = [];
  const states: SourceState[] = [];
  const src = new ReconnectingSource({
    connect: t.connect,
    onData: (c) => data.push(c.toString()),
    onState: (s) => states.push(s),
    backoff: { initialMs: 1000, maxMs: 8000, jitter: 0 },
    clock,
    ...extra,
  });
  return { clock, t, data, states, src };
}

test('failed connects are retried after 1, 2, 4, 8, 8 s; a connection that delivers frames resets the delay', async () => {
  const { clock, t, states, src } = sourceWith(['fail', 'fail', 'fail', 'fail', 'fail', 'open', 'open']);
  src.start();
  await flush();
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const w = states.at(-1)!;
    assert.equal(w.state, 'waiting');
    if (w.state !== 'waiting') return;
    assert.equal(w.error?.message, 'no such device');
    delays.push(w.delayMs);
    clock.advance(w.delayMs - 1);
    await flush();
    assert.equal(t.attempts.length, i + 1, 'no attempt before the delay is over');
    clock.advance(1);
    await flush();
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
  assert.deepEqual(states.at(-1), { state: 'connected', label: 'fake#6' });
  assert.equal(t.attempts[5]!.attempt, 6);
  src.frameSeen();
  t.open[0]!.handlers.closed(new Error('peer went away'));
  const w = states.at(-1)!;
  assert.equal(w.state === 'waiting' && w.delayMs, 1000, 'a productive connection starts the backoff over');
  clock.advance(1000);
  await flush();
  assert.equal(src.connected, true);
  assert.equal(t.attempts[6]!.previous, 'productive');
  await src.stop();
  assert.equal(t.open[1]!.closed, true);
});

test('a connection that opens but frames nothing does not reset the backoff', async () => {
  const { clock, states, src, t } = sourceWith(['open', 'open', 'open']);
  src.start();
  await flush();
  for (const expected of [1000, 2000]) {
    src.reconnect('no data');
    const w = states.at(-1)!;
    assert.equal(w.state === 'waiting' && w.delayMs, expected);
    clock.advance(expected);
    await flush();
  }
  assert.deepEqual(
    t.attempts.map((a) => a.previous),
    ['first', 'silent', 'silent'],
  );
  await src.stop();
});

test('reconnect() is a no-op unless connected; stop() while waiting ends the loop; late bytes are ignored', async () => {
  const { clock, t, data, states, src } = sourceWith(['open', 'fail']);
  src.start();
  await flush();
  const first = t.open[0]!;
  first.handlers.data(Buffer.from('a'));
  src.reconnect('no data');
  assert.equal(first.closed, true);
  first.handlers.data(Buffer.from('late'));
  first.handlers.closed();
  src.reconnect('again'); // waiting: nothing to drop
  assert.equal(states.filter((s) => s.state === 'waiting').length, 1);
  clock.advance(1000);
  await flush();
  assert.equal(t.attempts.length, 2);
  await src.stop();
  clock.advance(1e6);
  await flush();
  assert.equal(t.attempts.length, 2);
  assert.deepEqual(data, ['a']);
  assert.deepEqual(states.at(-1), { state: 'stopped' });
  assert.equal(clock.timers, 0);
});

test('stop() during a connect that is still pending closes what it opens', async () => {
  let finish!: () => void;
  let closed = false;
  const src = new ReconnectingSource({
    connect: () =>
      new Promise((resolve) => (finish = () => resolve({ label: 'slow', close: async () => void (closed = true) }))),
    onData: () => undefined,
    clock: new ManualClock(),
  });
  src.start();
  const stopping = src.stop();
  finish();
  await stopping;
  await flush();
  assert.equal(closed, true);
  assert.equal(src.connected, false);
});

test('probe: a connection that frames nothing within probeMs is replaced; a frame cancels the probe', async () => {
  const { clock, t, src } = sourceWith(['open', 'open', 'open'], { probeMs: 11_000 });
  src.start();
  await flush();
  clock.advance(11_000);
  await flush();
  assert.equal(t.open[0]!.closed, true);
  clock.advance(1000);
  await flush();
  assert.equal(t.attempts.length, 2);
  assert.equal(t.attempts[1]!.previous, 'silent');
  src.frameSeen();
  clock.advance(100_000);
  await flush();
  assert.equal(t.attempts.length, 2);
  await src.stop();
});

test('idle limit: a connection that keeps framing stays; one that goes quiet for idleMs is replaced', async () => {
  const { clock, t, src, states } = sourceWith(['open', 'open'], { idleMs: 10_000 });
  src.start();
  await flush();
  for (let i = 0; i < 10; i++) {
    clock.advance(5000);
    src.frameSeen();
  }
  assert.equal(t.attempts.length, 1, 'framing every 5 s keeps the connection');
  clock.advance(9999);
  assert.equal(src.connected, true);
  clock.advance(1);
  assert.equal(src.connected, false);
  assert.deepEqual(states.at(-1), { state: 'waiting', delayMs: 1000, reason: 'no data for 10 s' });
  clock.advance(1000);
  await flush();
  assert.deepEqual(
    t.attempts.map((a) => a.previous),
    ['first', 'productive'],
  );
  await src.stop();
});

test('staleness is counted from the last telegram, not from connects: a flapping connection still goes offline', async () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const w = new Watchdog(30_000, (silent) => fired.push(silent), clock);
  let conns = 0;
  const src = new ReconnectingSource({
    // Every connection opens and is dropped by the peer 2 s later.
    connect: async (h) => {
      conns++;
      clock.setTimeout(() => h.closed(), 2000);
      return { label: 'flappy', close: async () => undefined };
    },
    onData: () => undefined,
    backoff: { initialMs: 1000, maxMs: 4000, jitter: 0 },
    clock,
  });
  w.start();
  src.start();
  for (let i = 0; i < 400; i++) {
    clock.advance(100);
    await flush();
  }
  assert.ok(conns >= 6, `${conns} connections in 40 s`);
  assert.deepEqual(fired, [30_000]);
  assert.equal(w.stale, true);
  w.stop();
  await src.stop();
});

test('serial auto-detect: 115200 8N1 first, 9600 7E1 after a silent connection, not after a failed open', () => {
  const c = new SerialSettingsChooser('auto');
  const seen = (['first', 'open-failed', 'silent', 'silent', 'productive', 'silent'] as const).map((previous) => {
    const s = c.next({ previous });
    return `${s.baudRate} ${s.dataBits}${s.parity[0]}${s.stopBits}`;
  });
  assert.deepEqual(seen, ['115200 8n1', '115200 8n1', '9600 7e1', '115200 8n1', '115200 8n1', '9600 7e1']);
  const fixed = new SerialSettingsChooser('9600-7E1');
  assert.equal(fixed.next({ previous: 'silent' }).baudRate, 9600);
});

test('serial connector: opens without a lock at the chosen settings, passes bytes on, closes', async () => {
  const path = '/dev/FLMP1TEST';
  SerialPortMock.binding.createPort(path, { echo: false, record: false });
  const ports: SerialPortMock[] = [];
  class Capturing extends SerialPortMock {
    constructor(options: ConstructorParameters<typeof SerialPortMock>[0]) {
      super(options);
      ports.push(this);
    }
  }
  try {
    const connect = serialConnector({ path, mode: 'auto', SerialPort: Capturing as never });
    const got: Buffer[] = [];
    let closedWith: Error | undefined | null = null;
    const handlers = { data: (c: Buffer) => got.push(c), closed: (e?: Error) => void (closedWith = e) };
    const conn = await connect(handlers, { attempt: 1, previous: 'first' });
    assert.equal(conn.label, `${path} 115200 8N1`);
    const p = ports[0]!;
    assert.equal(p.isOpen, true);
    assert.equal(p.settings.lock, false);
    p.port!.emitData(Buffer.from('/ISk5 hello'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(Buffer.concat(got).toString(), '/ISk5 hello');
    await conn.close();
    assert.equal(p.isOpen, false);
    assert.equal(closedWith, null, 'our own close is not reported as the transport ending');
    const second = await connect(handlers, { attempt: 2, previous: 'silent' });
    assert.equal(second.label, `${path} 9600 7E1`);
    assert.deepEqual([ports[1]!.settings.dataBits, ports[1]!.settings.parity], [7, 'even']);
    await second.close();
    await assert.rejects(
      serialConnector({ path: '/dev/FLMP1NONE', mode: '115200-8N1', SerialPort: Capturing as never })(handlers, {
        attempt: 1,
        previous: 'first',
      }),
    );
  } finally {
    SerialPortMock.binding.reset();
  }
});

test('host:port parsing', () => {
  assert.deepEqual(parseHostPort('192.0.2.10:2001'), { host: '192.0.2.10', port: 2001 });
  assert.deepEqual(parseHostPort(' p1-dongle.local:8088 '), { host: 'p1-dongle.local', port: 8088 });
  assert.deepEqual(parseHostPort('[::1]:23'), { host: '::1', port: 23 });
  assert.throws(() => parseHostPort('p1-dongle'), /not host:port/);
  assert.throws(() => parseHostPort('::1:23'), /not host:port/);
  assert.throws(() => parseHostPort('host:0'), /port 0 is not 1–65535/);
  assert.throws(() => parseHostPort('host:70000'), /not 1–65535/);
});

test('tcp connector: data flows, the peer closing is reported, a refused connect rejects', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.write('/KFM5 part one');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const got: string[] = [];
    let ended = false;
    const conn = await tcpConnector({ host: '127.0.0.1', port })(
      { data: (c) => got.push(c.toString()), closed: () => void (ended = true) },
      { attempt: 1, previous: 'first' },
    );
    assert.equal(conn.label, `127.0.0.1:${port}`);
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.join(''), '/KFM5 part one');
    sockets[0]!.destroy();
    for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ended, true);
    await conn.close();
  } finally {
    await new Promise((r) => server.close(r));
  }
  await assert.rejects(
    tcpConnector({ host: '127.0.0.1', port })(
      { data: () => undefined, closed: () => undefined },
      { attempt: 1, previous: 'first' },
    ),
    /ECONNREFUSED/,
  );
});
