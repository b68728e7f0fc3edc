import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketBoundaries, PacketTooLargeError } from '../../../core/broker/packet-guard';
import { RetainedBudget, retainedSize } from '../../../core/broker/retained-budget';
import { originCheck, listenerNames } from '../../../core/broker/origins';
import { topicMatches, parseTopicFilters } from '../../../core/broker/topic-filter';

/** A QoS 0 PUBLISH on a/b, its remaining length as MQTT encodes it (7 bits a byte, low first). */
function publish(payloadBytes: number): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3]), Buffer.from('a/b'), Buffer.alloc(payloadBytes)]);
  const len: number[] = [];
  let n = body.length;
  do {
    len.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), body]);
}
const PINGREQ = Buffer.from([0xc0, 0x00]);

test('packet boundaries: packets within the limit pass in any chunking; a larger one is refused at its header', () => {
  const stream = Buffer.concat([publish(10), publish(200), publish(0), PINGREQ, publish(1000)]);
  for (const size of [1, 2, 7, 64, stream.length]) {
    const b = new PacketBoundaries(1005);
    for (let i = 0; i < stream.length; i += size)
      assert.equal(b.scan(stream.subarray(i, i + size)), null, `chunks of ${size}`);
  }
  const b = new PacketBoundaries(1005);
  assert.equal(b.scan(publish(1000)), null);
  // The header of a 256 MB publish alone is enough to refuse it.
  const err = b.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
  assert.ok(err instanceof PacketTooLargeError);
  assert.equal(err.max, 1005);
  assert.ok(err.declaredAtLeast > 1005);
  assert.match(
    String(new PacketBoundaries(10).scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))),
    /too large|malformed/,
  );
});

test('retained budget: a new topic past the count or bytes does not fit; replacing and clearing do', () => {
  const r = new RetainedBudget(2, 100);
  assert.equal(retainedSize('ab', Buffer.alloc(8)), 10);
  assert.equal(retainedSize('ab', Buffer.alloc(0)), 0);
  r.record('a', 40);
  r.record('b', 40);
  assert.equal(r.fits('c', 1), false, 'count');
  assert.equal(r.fits('a', 60), true, 'replacing a');
  assert.equal(r.fits('a', 61), false, 'bytes');
  assert.equal(r.fits('c', 0), true, 'a clear always fits');
  r.record('a', 0);
  assert.deepEqual([r.messages, r.bytes], [1, 40]);
  assert.equal(r.fits('c', 60), true);
});

test('websocket origins: by default pages from the listener host only; lists of origins or names; no Origin passes', () => {
  const local = originCheck([], '127.0.0.1');
  assert.equal(local('http://127.0.0.1:1880'), true);
  assert.equal(local('http://localhost:8123'), true);
  assert.equal(local('http://[::1]:80'), true);
  assert.equal(local('https://evil.example'), false);
  assert.equal(local('http://rebind.attacker.example:8083'), false);
  assert.equal(local('null'), false);
  assert.equal(local(undefined), true, 'not a browser');
  const listed = originCheck(['https://ha.example:8123', 'flm.lan'], '0.0.0.0');
  assert.equal(listed('https://ha.example:8123'), true);
  assert.equal(listed('http://ha.example:8123'), false);
  assert.equal(listed('http://flm.lan:1880'), true);
  assert.equal(listed('http://127.0.0.1'), false, 'a list replaces the default');
  assert.equal(originCheck(['*'], '127.0.0.1')('https://anything.example'), true);
  assert.ok(listenerNames('0.0.0.0').includes('127.0.0.1'));
  assert.deepEqual(listenerNames('192.0.2.7').slice(0, 1), ['192.0.2.7']);
});

test('topic filters as MQTT matches them', () => {
  assert.equal(topicMatches('homeassistant/status', 'homeassistant/status'), true);
  assert.equal(topicMatches('homeassistant/status', 'homeassistant/status/x'), false);
  assert.equal(topicMatches('p1/+/telegram', 'p1/123/telegram'), true);
  assert.equal(topicMatches('a/#', 'a'), true);
  assert.equal(topicMatches('#', '$SYS/x'), false);
  assert.deepEqual(parseTopicFilters('homeassistant/status, p1/+/telegram\n'), [
    'homeassistant/status',
    'p1/+/telegram',
  ]);
  assert.throws(() => parseTopicFilters('a/#/b'), /not a valid MQTT topic filter/);
  assert.throws(() => parseTopicFilters('a/b+'), /not a valid MQTT topic filter/);
});
