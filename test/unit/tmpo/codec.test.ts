import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  blockJson,
  blockToSeries,
  decodeBlock,
  decodeSeries,
  encodeBlock,
  encodeBlockStreaming,
  encodeSeries,
  parseBlockJson,
  seriesToBlock,
} from '../../../core/tmpo/codec';
import { TmpoFormatError } from '../../../core/tmpo/block';
import { CFG, SID_A, SID_B, T0, prng, randomSeries, round3 } from './support';

const MANUAL_CFG = {
  id: SID_A,
  class: 'analog',
  type: 'electricity',
  port: [1],
  function: 'main',
  rid: 0,
  current: 50,
  data_type: 'counter',
  voltage: 230,
};

test('a small counter series encodes to exactly the FLM block text', () => {
  const series = { times: [1422801984, 1422802050, 1422802131], values: [637840, 637841, 637842] };
  const expected =
    '{"h":{"head":[1422801984,637840],"tail":[1422802131,637842],"vsn":1,' +
    `"cfg":{"id":"${SID_A}","class":"analog","type":"electricity","port":[1],"function":"main","rid":0,"current":50,"data_type":"counter","voltage":230}},` +
    '"t":[0,66,81],"v":[0,1,1]}';
  assert.equal(blockJson(seriesToBlock(series, MANUAL_CFG)), expected);
  assert.equal(gunzipSync(encodeSeries(series, MANUAL_CFG)).toString('utf8'), expected);
});

test('fractional values: deltas rounded half-up to 3 decimals, head and tail raw', () => {
  const series = {
    times: [T0 + 3, T0 + 4, T0 + 10, T0 + 11, T0 + 200, T0 + 255],
    values: [1000, 1000.5, 1001.25, 1001.25, 1000.0625, 1003],
  };
  // deltas 0.5, 0.75, 0, -1.1875 -> -1.187, 2.9375 -> 2.938 (worked by hand from docs/protocols/tmpo.md#value-deltas)
  const expected = `{"h":{"head":[${T0 + 3},1000],"tail":[${T0 + 255},1003],"vsn":1,"cfg":{}},"t":[0,1,6,1,189,55],"v":[0,0.5,0.75,0,-1.187,2.938]}`;
  assert.equal(blockJson(seriesToBlock(series, {})), expected);
});

test('the top-level keys come in the order h, t, v and the header in head, tail, vsn, cfg', () => {
  const text = blockJson(seriesToBlock({ times: [T0], values: [7] }, { rid: 0 }));
  assert.equal(text, `{"h":{"head":[${T0},7],"tail":[${T0},7],"vsn":1,"cfg":{"rid":0}},"t":[0],"v":[0]}`);
  assert.deepEqual(Object.keys(JSON.parse(text)), ['h', 't', 'v']);
  assert.deepEqual(Object.keys(JSON.parse(text).h), ['head', 'tail', 'vsn', 'cfg']);
});

test('blocks are gzip streams (magic 1f 8b, deflate) that any gunzip reads', () => {
  const bytes = encodeSeries({ times: [T0, T0 + 1], values: [1, 2] }, CFG);
  assert.deepEqual([...bytes.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
  assert.match(gunzipSync(bytes).toString('utf8'), /^\{"h":\{/);
});

test('encoding refuses series that would not make a valid block', () => {
  assert.throws(() => seriesToBlock({ times: [], values: [] }, {}), RangeError);
  assert.throws(() => seriesToBlock({ times: [T0, T0], values: [1, 2] }, {}), /increase strictly/);
  assert.throws(() => seriesToBlock({ times: [T0 + 5, T0], values: [1, 2] }, {}), /increase strictly/);
  assert.throws(() => seriesToBlock({ times: [T0, T0 + 1], values: [1] }, {}), RangeError);
  assert.throws(() => seriesToBlock({ times: [T0, T0 + 1], values: [1, NaN] }, {}), RangeError);
});

test('decodes the block of the FLM manual MQTT example, built by hand, with Lua header key order', () => {
  // As tmpod publishes it on /sensor/<sid>/tmpo/0/8/1422801920/gz: luci.json wrote `h` in Lua's
  // hash order (cfg, tail, vsn, head), t and v in order.
  const text =
    `{"h":{"cfg":{"id":"${SID_A}","class":"analog","type":"electricity","port":[1],"function":"main","rid":0,"current":50,"data_type":"counter","voltage":230},` +
    '"tail":[1422802131,637842],"vsn":1,"head":[1422801984,637840]},"t":[0,66,81],"v":[0,1,1]}';
  const block = decodeBlock(gzipSync(text));
  assert.deepEqual(block.h.head, [1422801984, 637840]);
  assert.deepEqual(block.h.tail, [1422802131, 637842]);
  assert.equal(block.h.vsn, 1);
  assert.deepEqual(block.h.cfg, MANUAL_CFG);
  assert.deepEqual(blockToSeries(block), {
    times: [1422801984, 1422802050, 1422802131],
    values: [637840, 637841, 637842],
  });
});

test('decodes the tmpo-py README example points (Flukso HQ sensor)', () => {
  const text = `{"h":{"head":[1411043332,3054225],"tail":[1411043358,3054226],"vsn":1,"cfg":{"id":"${SID_B}","rid":0}},"t":[0,26],"v":[0,1]}`;
  assert.deepEqual(decodeSeries(gzipSync(text)), { times: [1411043332, 1411043358], values: [3054225, 3054226] });
});

test('decodes blocks of the first tmpod (no vsn, no cfg), empty Lua cfg tables, and unrounded compaction gaps', () => {
  const old = parseBlockJson('{"h":{"tail":[1401108745,12.5],"head":[1401108740,10]},"t":[0,5],"v":[0,2.5]}');
  assert.equal(old.h.vsn, undefined);
  assert.equal(old.h.cfg, undefined);
  assert.deepEqual(blockToSeries(old).values, [10, 12.5]);
  assert.deepEqual(parseBlockJson('{"h":{"head":[10,1],"tail":[10,1],"vsn":1,"cfg":[]},"t":[0],"v":[0]}').h.cfg, {});
  const gap = parseBlockJson(
    '{"h":{"head":[10,1],"tail":[20,1.2000000000002],"vsn":1},"t":[0,10],"v":[0,0.2000000000002]}',
  );
  assert.equal(blockToSeries(gap).values[1], 1 + 0.2000000000002);
});

test('rebuilds series as tmpo-py does: one running sum seeded with the head', () => {
  const block = parseBlockJson('{"h":{"head":[100,0.1],"tail":[102,0.6],"vsn":1},"t":[0,1,1],"v":[0,0.2,0.3]}');
  // tmpo-py: delta += x, in order, so 0.1 + 0 + 0.2 + 0.3 in floats
  assert.deepEqual(blockToSeries(block), { times: [100, 101, 102], values: [0.1, 0.1 + 0 + 0.2, 0.1 + 0 + 0.2 + 0.3] });
});

test('refuses text the FLM tools could not read', () => {
  const bad: Array<[string, string]> = [
    ['{"t":[0],"h":{"head":[1,1],"tail":[1,1]},"v":[0]}', 'key order'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"v":[0],"t":[0]}', 'v before t'],
    ['{"h": {"head":[1,1],"tail":[1,1]},"t":[0],"v":[0]}', 'whitespace after h'],
    ['{"h":{"head":[1,1],"tail":[1,1]}, "t":[0],"v":[0]}', 'whitespace before t'],
    ['{"h":{"head":[1,1],\n"tail":[1,1]},"t":[0],"v":[0]}', 'newline'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[0,1],"v":[0]}', 'length mismatch'],
    ['{"h":{"head":[1,1],"tail":[3,1]},"t":[0,1],"v":[0,0]}', 'tail time mismatch'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[1],"v":[0]}', 't not starting at 0'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[0,0],"v":[0,0]}', 'repeated time'],
    ['{"h":{"head":[1,1],"tail":[2,1]},"t":[0,1.5],"v":[0,0]}', 'fractional time step'],
    ['{"h":{"head":[1,1],"tail":[1,1],"vsn":2},"t":[0],"v":[0]}', 'unknown version'],
    ['{"h":{"head":[1],"tail":[1,1]},"t":[0],"v":[0]}', 'short head'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[0],"v":[0,]}', 'invalid JSON'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[0],"v":["0"]}', 'string value'],
    ['{"h":{"head":[1,1],"tail":[1,1]},"t":[0],"v":[1e999]}', 'infinite value'],
  ];
  for (const [text, why] of bad) assert.throws(() => parseBlockJson(text), TmpoFormatError, why);
});

test('refuses bytes that are not an intact gzip stream', () => {
  const good = encodeSeries({ times: [T0, T0 + 1, T0 + 2], values: [1, 2, 3] }, CFG);
  assert.throws(() => decodeBlock(Buffer.from('{"h":{}}')), /gzip/);
  assert.throws(() => decodeBlock(good.subarray(0, good.length - 6)), TmpoFormatError);
  assert.throws(() => decodeBlock(gzipSync('not json at all')), TmpoFormatError);
});

test('the streaming encoder writes the same bytes as the one-shot encoder', async () => {
  const rnd = prng(7);
  const series = randomSeries(rnd, { start: T0, end: T0 + 2 ** 20, maxSamples: 30000, decimals: 3 });
  const block = seriesToBlock(series, CFG);
  assert.deepEqual(await encodeBlockStreaming(block), encodeBlock(block));
  await assert.rejects(encodeBlockStreaming({ ...block, v: [0, ...block.v.slice(1, -1), NaN] }), RangeError);
});

test('property: 500 random series of integer and 3-decimal values round-trip', () => {
  const rnd = prng(20240601);
  for (let i = 0; i < 500; i++) {
    const decimals = i % 2 === 0 ? 0 : 3;
    const maxSamples = i % 10 === 0 ? 1 : 1 + Math.floor(rnd() * 400);
    const series = randomSeries(rnd, {
      start: T0 + i * 1000,
      end: T0 + i * 1000 + 100000,
      maxSamples,
      decimals,
      maxGap: 1 + Math.floor(rnd() * 600),
    });
    const bytes = encodeSeries(series, CFG);
    const block = decodeBlock(bytes);
    const back = blockToSeries(block);
    assert.deepEqual(back.times, series.times, `series ${i}: times`);
    assert.deepEqual(block.h.head, [series.times[0], series.values[0]], `series ${i}: head`);
    assert.deepEqual(block.h.tail, [series.times.at(-1), series.values.at(-1)], `series ${i}: tail`);
    series.values.forEach((v, k) => {
      if (decimals === 0) assert.equal(back.values[k], v, `series ${i} sample ${k}`);
      else {
        assert.ok(Math.abs(back.values[k]! - v) < 1e-6, `series ${i} sample ${k}: ${back.values[k]} vs ${v}`);
        assert.equal(round3(back.values[k]!), v, `series ${i} sample ${k}`);
      }
    });
    // our text is canonical: reading and writing it again gives the same text
    const text = gunzipSync(bytes).toString('utf8');
    assert.equal(blockJson(parseBlockJson(text)), text);
  }
});

test('property: values with more than 3 decimals drift by at most 0.0005 per sample, as on the FLM', () => {
  const rnd = prng(99);
  for (let i = 0; i < 100; i++) {
    const series = randomSeries(rnd, { start: T0, end: T0 + 5000, maxSamples: 200, decimals: 'any' });
    const back = decodeSeries(encodeSeries(series, {}));
    series.values.forEach((v, k) =>
      assert.ok(
        Math.abs(back.values[k]! - v) <= 0.0005 * k + 1e-6 * Math.max(1, Math.abs(v)),
        `series ${i} sample ${k}`,
      ),
    );
  }
});
