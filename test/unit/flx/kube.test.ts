import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeKubeControl,
  decodeKubeData,
  encodeKubePacket,
  flk01bErrors,
  parseKubePacket,
  roundHalfUp,
} from '../../../core/flx/kube';

/** CRC-16/MODBUS bit by bit, for packets built by hand here. */
function modbus(bytes: number[]): number[] {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1;
  }
  return [crc & 0xff, crc >> 8];
}
const packet = (grp: number, hdr: number, payload: number[]): Uint8Array => {
  const head = [grp, hdr, payload.length, ...payload];
  return Uint8Array.from([...head, ...modbus(head)]);
};

/** FLK01A: temperature 0x6666, humidity 0x8000, battery 10, error 0 */
const FLK01A = [0x66, 0x66, 0x00, 0x80, 10, 0];
/**
 * FLK01B: pressure 405300 (101325 Pa) and humidity 1835 in the first word (0x72B62F34), light
 * 1600 (400 lx), then temperature 6373, battery 5, error 0b0100001 in 24 bits (0x4358E5).
 */
const FLK01B = [0x34, 0x2f, 0xb6, 0x72, 0x40, 0x06, 0xe5, 0x58, 0x43];

test('a data packet: group, header bits, payload; CRC-16/MODBUS checked', () => {
  const r = parseKubePacket(packet(212, 0x25, FLK01A));
  assert.ok(r.ok);
  assert.deepEqual(r.packet, {
    group: 212,
    header: { ctl: false, dst: false, ack: true, nid: 5 },
    kind: 'data',
    payload: Uint8Array.from(FLK01A),
  });
  assert.deepEqual(encodeKubePacket(212, r.packet.header, r.packet.payload), packet(212, 0x25, FLK01A));
});

test('FLK01A, by hand: −46.85 + 175.72·26214/65536 = 23.437 → 23.44 °C; 56.5 %; 27.43·10^−1.04 = 2.502 → 2.5 V', () => {
  const r = decodeKubeData('flk01a', Uint8Array.from(FLK01A));
  assert.deepEqual(r, {
    ok: true,
    fields: [
      { field: 'temperature', value: 23.44, unit: '°C', data_type: 'gauge' },
      { field: 'humidity', value: 56.5, unit: '%', data_type: 'gauge' },
      { field: 'battery', value: 2.5, unit: 'V', data_type: 'gauge' },
      { field: 'error', value: 0, unit: '', data_type: 'gauge' },
    ],
  });
  assert.deepEqual(decodeKubeData(19217, Uint8Array.of(4, 3, 2, 1)), {
    ok: true,
    fields: [{ field: 'movement', value: 0x01020304, unit: '', data_type: 'counter' }],
  });
  // a raw battery of 0 would be an infinite voltage: left out
  const zero = decodeKubeData('flk01a', Uint8Array.of(0, 0, 0, 0, 0, 3));
  assert.ok(zero.ok);
  assert.deepEqual(
    zero.fields.map((f) => [f.field, f.value]),
    [
      ['temperature', -46.85],
      ['humidity', -6],
      ['error', 3],
    ],
  );
});

test('FLK01B, by hand: 21.50 °C, 50.0 %, 26.93·13.5^−0.985 = 2.074 → 2.1 V, 101325 Pa, 400 lx, error 33', () => {
  const r = decodeKubeData('flk01b', Uint8Array.from(FLK01B));
  assert.deepEqual(r, {
    ok: true,
    fields: [
      { field: 'temperature', value: 21.5, unit: '°C', data_type: 'gauge' },
      { field: 'humidity', value: 50, unit: '%', data_type: 'gauge' },
      { field: 'battery', value: 2.1, unit: 'V', data_type: 'gauge' },
      { field: 'pressure', value: 101325, unit: 'Pa', data_type: 'gauge' },
      { field: 'light', value: 400, unit: 'lx', data_type: 'gauge' },
      { field: 'error', value: 33, unit: '', data_type: 'gauge' },
    ],
  });
  assert.deepEqual(flk01bErrors(33), ['temperature', 'brown-out']);
  assert.deepEqual(decodeKubeData(19218, Uint8Array.of(0x34, 0x12)), {
    ok: true,
    fields: [{ field: 'vibration', value: 0x1234, unit: '', data_type: 'counter' }],
  });
  // all bits set: 20-bit pressure, 12-bit humidity, 14-bit temperature at their tops
  const top = decodeKubeData('flk01b', new Uint8Array(9).fill(0xff));
  assert.ok(top.ok);
  assert.deepEqual(
    top.fields.map((f) => [f.field, f.value]),
    [
      ['temperature', 128.86], // −46.85 + 175.72·16383/16384 = 128.8593
      ['humidity', 119], // −6 + 125·4095/4096 = 118.97
      ['battery', 1.8], // 26.93·15.5^−0.985 = 1.810
      ['pressure', 262143.75],
      ['light', 16383.75],
      ['error', 127],
    ],
  );
});

test("roundN is half-up, as the registry's floor(v·10^N + 0.5)", () => {
  assert.equal(roundHalfUp(2.25, 1), 2.3);
  assert.equal(roundHalfUp(-2.25, 1), -2.2);
  assert.equal(roundHalfUp(23.4369, 2), 23.44);
  assert.equal(roundHalfUp(-46.845, 2), Math.floor(-4684.5 + 0.5) / 100);
});

test('wrong lengths and unknown models are refused, not guessed', () => {
  assert.equal(decodeKubeData('flk01a', Uint8Array.of(1, 2)).ok, false);
  assert.equal(decodeKubeData('flk01b', Uint8Array.from(FLK01A)).ok, false);
  assert.equal(decodeKubeData(4242, Uint8Array.of(1, 2, 3, 4)).ok, false);
});

test('a bad CRC is rejected, and so is every single-byte corruption of a packet', () => {
  const good = packet(212, 0x25, FLK01B);
  const bad = good.slice();
  bad[bad.length - 1]! ^= 0x01;
  const r = parseKubePacket(bad);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /CRC/);
  for (let i = 0; i < good.length; i++) {
    for (let v = 0; v < 256; v++) {
      if (v === good[i]) continue;
      const c = good.slice();
      c[i] = v;
      assert.equal(parseKubePacket(c).ok, false, `byte ${i} → ${v}`);
    }
  }
  assert.equal(parseKubePacket(good.slice(0, -1)).ok, false);
  assert.equal(parseKubePacket(Uint8Array.of(1, 2)).ok, false);
  assert.equal(parseKubePacket(packet(212, 0x25, new Array<number>(67).fill(0))).ok, false, 'payload above 66 bytes');
});

test('control packets: pair, upgrade and download requests by length; CTL without ACK is an ack', () => {
  const hwId = Array.from({ length: 16 }, (_, i) => i);
  const pair = parseKubePacket(packet(212, 0xa0, [0x12, 0x4b, 212, 0, 0xef, 0xbe, ...hwId]));
  assert.ok(pair.ok);
  assert.equal(pair.packet.kind, 'control');
  assert.deepEqual(decodeKubeControl(pair.packet.payload), {
    request: 'pair',
    hwType: 19218,
    group: 212,
    nid: 0,
    check: 0xbeef,
    hwId: '000102030405060708090a0b0c0d0e0f',
  });
  assert.deepEqual(decodeKubeControl(Uint8Array.of(0x11, 0x4b, 3, 0, 0x40, 0, 0x34, 0x12)), {
    request: 'upgrade',
    hwType: 19217,
    swVersion: 3,
    swSize: 64,
    swCrc: 0x1234,
  });
  assert.deepEqual(decodeKubeControl(Uint8Array.of(3, 0, 7, 0)), { request: 'download', swVersion: 3, swIndex: 7 });
  assert.equal(decodeKubeControl(Uint8Array.of(1)), null);
  const ack = parseKubePacket(packet(212, 0xc7, []));
  assert.ok(ack.ok);
  assert.equal(ack.packet.kind, 'ack');
  assert.deepEqual(ack.packet.header, { ctl: true, dst: true, ack: false, nid: 7 });
  assert.throws(
    () => encodeKubePacket(212, { ctl: false, dst: false, ack: false, nid: 32 }, new Uint8Array(0)),
    RangeError,
  );
});
