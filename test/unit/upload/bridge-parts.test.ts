import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bridgeRoute, coveredBySync } from '../../../core/upload/bridge-routes';
import { BridgeOutbox } from '../../../core/upload/bridge-outbox';
import { loadCa } from '../../../core/upload/bridge-ca';
import { classify } from '../../../core/upload/bridge-failure';
import { bridgeStatus, httpStatus, joinStatus, type StatusLine } from '../../../core/upload/status';
import type { BridgeState } from '../../../core/upload/bridge';
import { parseTmpoBlockTopic } from '../../../core/mqtt/topics';
import { testPki } from '../../support/tls';
import { DEVICE, SID_A, withTempDir } from './support';

test('routing: what the FLM bridges and nothing else', () => {
  const cases: Array<[string, string | null]> = [
    [`/device/${DEVICE}/config/sensor`, 'config'],
    [`/device/${DEVICE}/config/kube`, 'config'],
    [`/device/${DEVICE}/config/flx`, 'config'],
    [`/device/${DEVICE}/tmpo/sync`, 'tmpo-sync'],
    [`/sensor/${SID_A}/tmpo/0/8/1449986560/gz`, 'tmpo-block'],
    [`/sensor/${SID_A}/tmpo/3/20/1449132032/gz`, 'tmpo-block'],
    // live readings go by HTTP, never over the bridge
    [`/sensor/${SID_A}/gauge`, null],
    [`/sensor/${SID_A}/counter`, null],
    // another device's topics, the inbound reply, wildcards
    [`/device/${'f'.repeat(32)}/config/sensor`, null],
    [`/device/${'f'.repeat(32)}/tmpo/sync`, null],
    [`/d/device/${DEVICE}/tmpo/sync`, null],
    [`/device/${DEVICE}/config/`, null],
    [`/device/${DEVICE}/config/#`, null],
    // blocks the server would refuse (docs/protocols/tmpo.md#topics): level, bid alignment, extension
    [`/sensor/${SID_A}/tmpo/0/9/1449986560/gz`, null],
    [`/sensor/${SID_A}/tmpo/0/8/1449986561/gz`, null],
    [`/sensor/${SID_A}/tmpo/0/8/1449986560/json`, null],
    [`/sensor/${SID_A}/tmpo/0/8/1449986560`, null],
    ['tmpo/flush', null],
    ['', null],
  ];
  for (const [topic, route] of cases) assert.equal(bridgeRoute(topic, DEVICE), route, topic);
  assert.equal(coveredBySync('tmpo-block'), true);
  assert.equal(coveredBySync('tmpo-sync'), true);
  assert.equal(coveredBySync('config'), false);
  assert.deepEqual(parseTmpoBlockTopic(`/sensor/${SID_A}/tmpo/2/12/1449984000/gz`), {
    sid: SID_A,
    rid: 2,
    lvl: 12,
    bid: 1449984000,
    ext: 'gz',
  });
});

test('outbox: retained kept per topic and repeated on every drain; the rest bounded, oldest dropped and counted', () => {
  const o = new BridgeOutbox(3, 2);
  const m = (topic: string, payload: string, retain = false) => ({ topic, payload, qos: 0 as const, retain });
  o.remember(m('/a', '1', true));
  o.remember(m('/a', '2', true));
  for (let i = 0; i < 5; i++) o.hold(m('/x', String(i)));
  assert.equal(o.held, 3);
  assert.equal(o.dropped, 2);
  assert.deepEqual(
    o.drain().map((x) => x.payload),
    ['2', '2', '3', '4'],
  );
  assert.deepEqual(
    o.drain().map((x) => x.payload),
    ['2'],
    'retained again on the next connect, the queue is empty',
  );
  o.remember(m('/a', '', true));
  assert.deepEqual(o.drain(), [], 'an empty retained payload clears the topic');
  o.remember(m('/b', 'b', true));
  o.remember(m('/c', 'c', true));
  o.remember(m('/d', 'd', true));
  assert.deepEqual(
    o.drain().map((x) => x.topic),
    ['/c', '/d'],
  );
  assert.equal(o.dropped, 3);
});

test('CA: PEM text, a file, blank for the public CAs; clear errors otherwise', async () => {
  const pki = await testPki();
  assert.equal(await loadCa(''), undefined);
  assert.equal((await loadCa(pki.caPem))!.toString(), pki.caPem.trim());
  assert.equal((await loadCa(`  ${pki.caFile}  `))!.toString(), pki.caPem);
  await assert.rejects(loadCa('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----'), /not a PEM certificate/);
  await assert.rejects(
    loadCa('/nonexistent/flukso.ca.crt'),
    /cannot read the CA file \/nonexistent\/flukso\.ca\.crt: ENOENT/,
  );
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'junk.crt'), 'not a cert');
    await assert.rejects(loadCa(join(dir, 'junk.crt')), /holds no PEM certificate/);
  });
});

test('failures: CONNACK codes, TLS and network errors', () => {
  const err = (message: string, code?: string | number) =>
    Object.assign(new Error(message), code === undefined ? {} : { code });
  assert.equal(classify(err('Connection refused: Unacceptable protocol version', 1)), 'protocol');
  assert.equal(classify(err('Connection refused: Bad username or password', 4)), 'auth');
  assert.equal(classify(err('Connection refused: Not authorized', 5)), 'auth');
  assert.equal(classify(err('Connection refused: Server unavailable', 3)), 'network');
  assert.equal(classify(err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')), 'tls');
  assert.equal(classify(err('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'tls');
  assert.equal(
    classify(err("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID')),
    'tls',
  );
  assert.equal(classify(err('connect ECONNREFUSED 127.0.0.1:8883', 'ECONNREFUSED')), 'network');
  assert.equal(classify(err('connack timeout')), 'network');
});

const hhmm = () => '13:05';
const bridge = (over: Partial<BridgeState>): BridgeState => ({
  phase: 'connected',
  url: 'mqtts://x:8883',
  refused: false,
  held: 0,
  dropped: 0,
  leftToSync: 0,
  sent: 0,
  received: 0,
  connects: 1,
  ...over,
});

/** A status line as the node translates it: colour, and each part's catalog key with its parameters. */
const keyed = (l: StatusLine) => ({ level: l.level, phrases: l.phrases.map((p) => [p.key, p.params ?? {}]) });
/** The same line in English, as a node shows it without a catalog. */
const english = (l: StatusLine) => ({ level: l.level, text: l.text });

test('status: HTTP as before, the bridge beside it, the worst colour wins', () => {
  const http = { depth: 12, authFailed: false, retrying: false, fractional: 0, notUploaded: {} };
  const ok = httpStatus({ ...http, lastSuccess: 1 }, hhmm);
  assert.deepEqual(keyed(ok), {
    level: 'ok',
    phrases: [
      ['queued', { count: 12 }],
      ['lastOk', { time: '13:05' }],
    ],
  });
  assert.deepEqual(english(ok), { level: 'ok', text: '12 queued · ok 13:05' });
  const retrying = httpStatus({ ...http, retrying: true, lastError: 'connect ECONNREFUSED 127.0.0.1:443' }, hhmm);
  assert.deepEqual(keyed(retrying), {
    level: 'warn',
    phrases: [
      ['queued', { count: 12 }],
      ['retryingWhy', { why: 'connect ECONNREFUSED 127.0.0.1:443' }],
    ],
  });
  assert.deepEqual(english(retrying), {
    level: 'warn',
    text: '12 queued · retrying: connect ECONNREFUSED 127.0.0.1:443',
  });
  assert.deepEqual(english(httpStatus({ ...http, retrying: true }, hhmm)), {
    level: 'warn',
    text: '12 queued · retrying',
  });
  const refused = httpStatus({ ...http, authFailed: true, fractional: 2 }, hhmm);
  assert.deepEqual(keyed(refused), {
    level: 'error',
    phrases: [
      ['queued', { count: 12 }],
      ['authFailed', {}],
      ['fractional', { count: 2 }],
    ],
  });
  assert.deepEqual(english(refused), { level: 'error', text: '12 queued · authentication failed · 2 fractional' });
  // counters passed over, by reason, in a fixed order, and what the heartbeat offered
  const passedOver = httpStatus(
    {
      ...http,
      depth: 0,
      fractional: 1,
      notUploaded: { badSid: 4, unknownSensor: 1, notNewer: 0, badTime: 2, badCounter: 3 },
      offer: { kind: 'upgrade', version: 251 },
    },
    hhmm,
  );
  assert.deepEqual(keyed(passedOver).phrases, [
    ['queued', { count: 0 }],
    ['fractional', { count: 1 }],
    ['unknownSensor', { count: 1 }],
    ['badTime', { count: 2 }],
    ['badCounter', { count: 3 }],
    ['badSid', { count: 4 }],
    ['upgradeOffered', { version: 251 }],
  ]);
  assert.equal(
    passedOver.text,
    '0 queued · 1 fractional · 1 unknown sensor · 2 bad time · 3 bad counter · 4 bad sid · upgrade 251 offered',
  );
  assert.equal(httpStatus({ ...http, offer: { kind: 'reboot', version: 250 } }, hhmm).text, '12 queued · reboot asked');

  const up = bridgeStatus(bridge({ lastSent: 1 }), hhmm, true);
  assert.deepEqual(keyed(up), {
    level: 'ok',
    phrases: [
      ['bridgeUp', {}],
      ['lastOk', { time: '13:05' }],
    ],
  });
  assert.deepEqual(english(up), { level: 'ok', text: 'bridge up · ok 13:05' });
  assert.deepEqual(english(bridgeStatus(bridge({ lastSent: 1 }), hhmm, false)), { level: 'ok', text: 'bridge up' });
  const connecting = bridgeStatus(bridge({ phase: 'connecting' }), hhmm, true);
  assert.deepEqual(keyed(connecting), { level: 'busy', phrases: [['bridgeConnecting', {}]] });
  assert.deepEqual(english(connecting), { level: 'busy', text: 'bridge connecting' });
  const down = bridge({
    phase: 'down',
    held: 2,
    dropped: 5,
    lastError: { message: 'connect ECONNREFUSED 127.0.0.1:8883', failure: 'network', at: 1 },
  });
  assert.deepEqual(keyed(bridgeStatus(down, hhmm, true)), {
    level: 'warn',
    phrases: [
      ['bridgeDown', { why: 'connect ECONNREFUSED 127.0.0.1:8883' }],
      ['held', { count: 2 }],
      ['dropped', { count: 5 }],
    ],
  });
  assert.deepEqual(english(bridgeStatus(down, hhmm, true)), {
    level: 'warn',
    text: 'bridge down: connect ECONNREFUSED 127.0.0.1:8883 · 2 held · 5 dropped',
  });
  const keyRefused = bridge({
    phase: 'down',
    refused: true,
    lastError: {
      message: 'the server refused the device id and key (bad user name or password)',
      failure: 'auth',
      at: 1,
    },
  });
  const red = bridgeStatus(keyRefused, hhmm, true);
  assert.equal(red.level, 'error');
  assert.equal(red.phrases[0]!.key, 'bridgeRefused');
  // the server's words are cut to fit under the node, in every language alike
  assert.equal(red.phrases[0]!.params!.why, 'the server refused the device id and key (bad u…');
  assert.match(red.text, /^bridge refused: the server refused the device id and key/);

  const both = joinStatus([httpStatus({ ...http, lastSuccess: 1 }, hhmm), bridgeStatus(down, hhmm, false)]);
  assert.deepEqual(
    keyed(both).phrases.map(([key]) => key),
    ['queued', 'lastOk', 'bridgeDown', 'held', 'dropped'],
  );
  assert.deepEqual(english(both), {
    level: 'warn',
    text: '12 queued · ok 13:05 · bridge down: connect ECONNREFUSED 127.0.0.1:8883 · 2 held · 5 dropped',
  });
  assert.equal(
    joinStatus([httpStatus({ ...http, authFailed: true }, hhmm), bridgeStatus(bridge({}), hhmm, false)]).level,
    'error',
  );
});
