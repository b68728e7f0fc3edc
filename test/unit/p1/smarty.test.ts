import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { decryptSmartyFrame, parseSmartyFrame } from '../../../core/p1/smarty';
import { SmartyFramer } from '../../../core/p1/smarty-framer';
import { checkTelegram } from '../../../core/p1/check';
import { parseTelegram } from '../../../core/p1/parse';
import { prng } from '../../../core/util/prng';
import { fixture, fixtureBytes } from './fixtures';

// Keys from SOURCES.md (openHAB's SmartyDecrypterTest; athombv's test-utils).
const KEY = 'D491470F47126332B07D1923B3504188';
const SPEC_KEY = '0123456789abcdef0123456789abcdef';
const SPEC_AK = 'ffeeddccbbaa99887766554433221100';
const FRAME = fixtureBytes('smarty-lu-encrypted.bin');
const SPEC_FRAME = fixtureBytes('smarty-lu-spec-example-encrypted.bin');

test('the frame layout: 0xDB, system title, length, security byte, frame counter, tag', () => {
  const f = parseSmartyFrame(FRAME);
  assert.equal(f.systemTitle.toString('latin1'), 'SAGgp\x01\xBD\x54');
  assert.equal(f.securityByte, 0x30);
  assert.equal(f.frameCounter, 0x0005a8e3);
  assert.equal(f.byteLength, 711);
  // 711 = 13 header + 1 security + 4 counter + 681 ciphertext + 12 tag; the plaintext is 681 bytes too.
  assert.equal(f.cipherText.length, 681);
  assert.equal(f.cipherText.length, fixtureBytes('smarty-lu-encrypted.decrypted.txt').length);
  assert.equal(f.tag.length, 12);
  assert.deepEqual(f.iv, Buffer.from('5341476770' + '01BD54' + '0005A8E3', 'hex'));
  const s = parseSmartyFrame(SPEC_FRAME);
  assert.equal(s.systemTitle.toString('latin1'), 'systitle');
  assert.equal(s.frameCounter, 0x11223344);
  assert.equal(s.byteLength, 1515);
});

test('the openHAB frame decrypts with its key to the stored plaintext', () => {
  const plain = decryptSmartyFrame(FRAME, { key: KEY });
  assert.equal(plain, fixture('smarty-lu-encrypted.decrypted.txt'));
  // Lower-case keys work as well.
  assert.equal(decryptSmartyFrame(FRAME, { key: KEY.toLowerCase() }), plain);
  // The plaintext's CRC is wrong by construction of the test vector (SOURCES.md).
  assert.equal(checkTelegram(plain).status, 'mismatch');
  assert.equal(parseTelegram(plain).timestamp?.iso, '2018-01-30T09:21:22Z');
});

test('the specification example decrypts with its key and authentication key', () => {
  const plain = decryptSmartyFrame(SPEC_FRAME, { key: SPEC_KEY, authKey: SPEC_AK });
  assert.equal(plain, fixture('smarty-lu-spec-example.txt'));
});

/** A frame made here with node:crypto, to cover AAD choices no fixture has. */
function encrypt(plain: string, key: string, aad: Buffer, lengthForm: 'short' | 'long'): Buffer {
  const title = Buffer.from('TESTTITL', 'latin1');
  const counter = Buffer.from([0, 0, 0, 42]);
  const cipher = createCipheriv('aes-128-gcm', Buffer.from(key, 'hex'), Buffer.concat([title, counter]), {
    authTagLength: 12,
  });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(Buffer.from(plain, 'latin1')), cipher.final()]);
  const rest = Buffer.concat([Buffer.from([0x30]), counter, body, cipher.getAuthTag()]);
  const length =
    lengthForm === 'short' ? Buffer.from([rest.length]) : Buffer.from([0x82, rest.length >> 8, rest.length & 0xff]);
  return Buffer.concat([Buffer.from([0xdb, 0x08]), title, length, rest]);
}

test('frames without AAD (authKey null), with another AK, and with a short length field', () => {
  const plain = fixture('smarty-lu.txt');
  const noAad = encrypt(plain, SPEC_KEY, Buffer.alloc(0), 'long');
  assert.equal(decryptSmartyFrame(noAad, { key: SPEC_KEY, authKey: null }), plain);
  assert.throws(() => decryptSmartyFrame(noAad, { key: SPEC_KEY }), /decryption failed: check the key/);
  const ak = 'A1A2A3A4A5A6A7A8A9AAABACADAEAFB0';
  const custom = encrypt(plain, SPEC_KEY, Buffer.concat([Buffer.from([0x30]), Buffer.from(ak, 'hex')]), 'long');
  assert.equal(decryptSmartyFrame(custom, { key: SPEC_KEY, authKey: ak }), plain);
  const short = encrypt(
    '/ABC5\\x\r\n!\r\n',
    SPEC_KEY,
    Buffer.concat([Buffer.from([0x30]), Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex')]),
    'short',
  );
  assert.equal(short[10], 5 + 12 + 12);
  assert.equal(decryptSmartyFrame(short, { key: SPEC_KEY }), '/ABC5\\x\r\n!\r\n');
});

test('a wrong key, a wrong authentication key or a changed byte: a clear error, never garbage', () => {
  const wrongKey = KEY.slice(0, -1) + '9';
  assert.throws(() => decryptSmartyFrame(FRAME, { key: wrongKey }), /decryption failed: check the key/);
  assert.throws(() => decryptSmartyFrame(SPEC_FRAME, { key: SPEC_KEY }), /decryption failed: check the key/);
  assert.throws(() => decryptSmartyFrame(FRAME, { key: KEY, authKey: null }), /decryption failed: check the key/);
  for (const at of [20, 300, FRAME.length - 1]) {
    const damaged = Buffer.from(FRAME);
    damaged[at]! ^= 0x01;
    assert.throws(() => decryptSmartyFrame(damaged, { key: KEY }), /decryption failed: check the key/, `byte ${at}`);
  }
});

test('bad keys and frames are reported plainly', () => {
  assert.throws(() => decryptSmartyFrame(FRAME, { key: 'D491470F' }), /key must be 32 hex characters/);
  assert.throws(() => decryptSmartyFrame(FRAME, { key: KEY, authKey: 'xyz' }), /authentication key must be 32 hex/);
  assert.throws(() => decryptSmartyFrame(FRAME.subarray(0, 300), { key: KEY }), /truncated: 300 of 711 bytes/);
  assert.throws(() => decryptSmartyFrame(Buffer.from('7EA0', 'hex'), { key: KEY }), /first byte should be 0xDB/);
  assert.throws(() => parseSmartyFrame(Buffer.from([0xdb])), /truncated/);
});

test('SmartyFramer: frames from a noisy stream in random chunks', () => {
  const stream = Buffer.concat([
    Buffer.from('7EA0xx', 'latin1'),
    FRAME,
    Buffer.from([0xdb, 0x08, 0x01]),
    SPEC_FRAME,
    Buffer.from([0x7e]),
    FRAME,
  ]);
  for (let seed = 1; seed <= 10; seed++) {
    const rnd = prng(seed);
    const framer = new SmartyFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length;) {
      const n = seed === 1 ? 1 : 1 + Math.floor(rnd() * 400);
      out.push(...framer.push(stream.subarray(i, i + n)));
      i += n;
    }
    assert.equal(out.length, 3, `seed ${seed}`);
    assert.deepEqual(out[0], FRAME);
    assert.deepEqual(out[1], SPEC_FRAME);
    assert.deepEqual(out[2], FRAME);
    assert.equal(decryptSmartyFrame(out[2]!, { key: KEY }), fixture('smarty-lu-encrypted.decrypted.txt'));
    assert.equal(framer.stats.frames, 3);
    assert.equal(framer.stats.garbageBytes, 6 + 3 + 1);
  }
});

test('SmartyFramer: a frame claiming more than the limit is skipped, memory stays bounded', () => {
  const framer = new SmartyFramer(512);
  assert.deepEqual(framer.push(FRAME), []);
  assert.equal(framer.stats.oversize, 1);
  const noise = Buffer.alloc(100_000, 0x55);
  framer.push(noise);
  assert.equal(framer.bufferedBytes, 0);
});
