import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { digestMatches, xDigest } from '../../../core/upload/digest';
import { UploadClient, measurementsBody } from '../../../core/upload/client';
import { KEY, SID_A } from './support';

const BODY = '{"measurements":[[1449999999,123456],[1450000059,123457]]}';

test('X-Digest is HMAC-SHA1 of the exact body keyed with the ASCII of the hex key', () => {
  const independent = createHmac('sha1', Buffer.from(KEY, 'ascii')).update(Buffer.from(BODY, 'utf8')).digest('hex');
  assert.equal(xDigest(KEY, BODY), independent);
  // Worked out beforehand with Python's hmac module over the same bytes.
  assert.equal(xDigest(KEY, BODY), '80534a4454aafe4fedb238937fe3b29f3a641a1e');
  // Not the 16 bytes the hex spells: that would be a different digest.
  assert.equal(
    createHmac('sha1', Buffer.from(KEY, 'hex')).update(BODY).digest('hex'),
    '68e362d485384ae326a4e888b1a0001973a6e65f',
  );
  assert.notEqual(xDigest(KEY, BODY), '68e362d485384ae326a4e888b1a0001973a6e65f');
  assert.match(xDigest(KEY, BODY), /^[0-9a-f]{40}$/);
  assert.equal(xDigest(KEY, Buffer.from(BODY)), xDigest(KEY, BODY));
});

test('digestMatches takes the right digest (any case) and refuses others', () => {
  const d = xDigest(KEY, BODY);
  assert.equal(digestMatches(KEY, BODY, d), true);
  assert.equal(digestMatches(KEY, BODY, d.toUpperCase()), true);
  assert.equal(digestMatches(KEY, BODY + ' ', d), false);
  assert.equal(digestMatches(KEY.replace('c', 'd'), BODY, d), false);
  assert.equal(digestMatches(KEY, BODY, d.slice(1)), false);
  assert.equal(digestMatches(KEY, BODY, undefined), false);
  assert.equal(digestMatches(KEY, BODY, ''), false);
});

test('the body is compact JSON, ascending pairs; negative and large whole counters print exactly', () => {
  assert.equal(
    measurementsBody([
      [1449999999, 123456],
      [1450000059, 123457],
    ]),
    BODY,
  );
  assert.equal(measurementsBody([]), '{"measurements":[]}');
  assert.equal(
    measurementsBody([
      [1449999999, -42],
      [1450000000, 9007199254740991],
    ]),
    '{"measurements":[[1449999999,-42],[1450000000,9007199254740991]]}',
  );
  assert.deepEqual(JSON.parse(measurementsBody([[1449999999, 5]])), { measurements: [[1449999999, 5]] });
});

test('the client sends the FLM headers and signs exactly the bytes that arrive', async () => {
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: Buffer }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"response":"ok"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new UploadClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    deviceKey: KEY,
    userAgent: 'Fluksometer test',
  });
  try {
    const out = await client.postMeasurements(SID_A, [
      [1449999999, 123456],
      [1450000059, 123457],
    ]);
    assert.equal(out.kind, 'ok');
    const [r] = seen;
    assert.ok(r);
    assert.equal(r.url, `/api/sensor/${SID_A}`);
    assert.equal(r.body.toString('utf8'), BODY);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-version'], '1.0');
    assert.equal(r.headers['user-agent'], 'Fluksometer test');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(r.headers['x-digest'], createHmac('sha1', Buffer.from(KEY, 'ascii')).update(r.body).digest('hex'));
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
