import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MALFORMED_QUERY, polishGauges } from '../../../core/api/local-api';
import { RecentGauges } from '../../../core/api/recent-gauges';
import { SID_A, SID_B, withServer } from './support';

const NOW = 1310047505; // the manual's example ends here

test('the gauge ring keeps the last gauges per sensor, one per second at most, in bounded memory', () => {
  const g = new RecentGauges({ capacity: 4 });
  assert.equal(g.series(SID_A), undefined, 'not served before a gauge');
  assert.ok(g.push(SID_A, NOW - 10, 100, 'W'));
  assert.equal(g.push(SID_A, NOW - 10, 101, 'W'), false, 'same second again');
  assert.equal(g.push(SID_A, NOW - 11, 102, 'W'), false, 'older');
  assert.equal(g.push(SID_A, 1234567890, 1, 'W'), false, 'at or before 2009-02-13');
  assert.equal(g.push(SID_A, NOW, NaN, 'W'), false, 'not a number');
  assert.equal(g.push('not-hex', NOW, 1, 'W'), false, 'not a sensor id');
  for (let i = 1; i <= 6; i++) assert.ok(g.push(SID_A, NOW - 10 + i, 100 + i, 'W'));
  assert.deepEqual(g.series(SID_A), [
    [NOW - 7, 103],
    [NOW - 6, 104],
    [NOW - 5, 105],
    [NOW - 4, 106],
  ]);
  assert.equal(g.unit(SID_A), 'W');

  const few = new RecentGauges({ maxSensors: 1 });
  assert.ok(few.push(SID_A, NOW, 1));
  assert.equal(few.push(SID_B, NOW, 1), false, 'sensor limit');
});

test('with a sensor list, listed sensors are served before their first gauge and others never', () => {
  const g = new RecentGauges();
  g.push(SID_B, NOW, 5, 'W');
  g.setSensors([SID_A]);
  assert.deepEqual(g.series(SID_A), []);
  assert.equal(g.series(SID_B), undefined, 'dropped when no longer listed');
  assert.equal(g.push(SID_B, NOW + 1, 5, 'W'), false);
  assert.equal(g.sensors, 0);
});

test('polish: back-fill with the next later value, "nan" after the last gauge, the last 60 s only', () => {
  assert.deepEqual(polishGauges([], NOW), []);
  assert.deepEqual(
    polishGauges(
      [
        [NOW - 5, 10],
        [NOW - 2, 40],
        [NOW - 1, 50],
      ],
      NOW,
    ),
    [
      [NOW - 5, 10],
      [NOW - 4, 40],
      [NOW - 3, 40],
      [NOW - 2, 40],
      [NOW - 1, 50],
      [NOW, 'nan'],
    ],
  );
  // a full minute: 60 points ending at now, like the manual's realtime([[1310047446,124],...,[1310047505,"nan"]])
  const full = polishGauges(
    Array.from({ length: 100 }, (_, i) => [NOW - 100 + i, 124] as [number, number]),
    NOW,
  );
  assert.equal(full.length, 60);
  assert.deepEqual(full[0], [1310047446, 124]);
  assert.deepEqual(full[59], [1310047505, 'nan']);
  // an older gauge still back-fills the start of the window
  assert.deepEqual(
    polishGauges(
      [
        [NOW - 200, 1],
        [NOW - 58, 7],
      ],
      NOW,
    ).slice(0, 3),
    [
      [NOW - 59, 7],
      [NOW - 58, 7],
      [NOW - 57, 'nan'],
    ],
  );
  // a sensor that went quiet: a minute of "nan"
  const quiet = polishGauges([[NOW - 500, 3]], NOW);
  assert.equal(quiet.length, 60);
  assert.ok(quiet.every(([, v]) => v === 'nan'));
  // gauges stamped after now are not shown yet
  assert.deepEqual(
    polishGauges(
      [
        [NOW, 1],
        [NOW + 3, 2],
      ],
      NOW,
    ),
    [[NOW, 1]],
  );
});

test('GET /sensor/<sid>: FLM local API over HTTP, with its 400 text, nan padding and JSONP', async () => {
  const gauges = new RecentGauges();
  gauges.setSensors([SID_A, SID_B]);
  for (const [t, v] of [
    [NOW - 5, 230],
    [NOW - 3, 250],
    [NOW - 2, 260],
  ] as const)
    gauges.push(SID_A, t, v, 'W');
  await withServer({ gauges, now: () => NOW + 0.7 }, async (base) => {
    const ok = await fetch(`${base}/sensor/${SID_A}?version=1.0&interval=minute&unit=watt`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/json');
    assert.equal(
      await ok.text(),
      `[[${NOW - 5},230],[${NOW - 4},250],[${NOW - 3},250],[${NOW - 2},260],[${NOW - 1},"nan"],[${NOW},"nan"]]`,
    );

    const jsonp = await fetch(`${base}/sensor/${SID_A}?version=1.0&interval=minute&unit=lperday&callback=realtime`);
    assert.equal(jsonp.headers.get('content-type'), 'application/json');
    assert.equal(
      await jsonp.text(),
      `realtime([[${NOW - 5},230],[${NOW - 4},250],[${NOW - 3},250],[${NOW - 2},260],[${NOW - 1},"nan"],[${NOW},"nan"]]);`,
    );
    const jq = await fetch(`${base}/sensor/${SID_A}?version=1.0&interval=minute&unit=watt&jsonp_callback=jQuery17_1`);
    assert.match(await jq.text(), /^jQuery17_1\(\[\[.*\]\]\);$/);

    const empty = await fetch(`${base}/sensor/${SID_B}?version=1.0&interval=minute&unit=watt`);
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), '[]');

    // Without any parameter (what a person tries first) the answer says what to ask, with an example.
    const first = await fetch(`${base}/sensor/${SID_A}`);
    assert.equal(first.status, 400);
    const help = await first.text();
    assert.match(help, /version=1\.0, interval=minute and unit=watt/);
    const example = /curl '(http:\/\/[^']+)'/.exec(help)?.[1];
    assert.ok(example, help);
    const followed = await fetch(example.replace(/^http:\/\/[^/]+/, base));
    assert.equal(followed.status, 200, 'the example given works');
    assert.match(await followed.text(), /^\[\[\d+,230\]/);

    for (const q of [
      '?version=1.0&interval=minute',
      '?version=1.0&unit=watt',
      '?interval=minute&unit=watt',
      '?version=2.0&interval=minute&unit=watt',
      '?version=1.0&interval=hour&unit=watt',
      '?version=1.0&interval=minute&unit=kwhperyear',
    ]) {
      const r = await fetch(`${base}/sensor/${SID_A}${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(await r.text(), MALFORMED_QUERY, q);
    }
    assert.equal(MALFORMED_QUERY, 'Malformed query string: interval, unit and version query parameters are required.');

    const evil = await fetch(`${base}/sensor/${SID_A}?version=1.0&interval=minute&unit=watt&callback=alert(1)//`);
    assert.equal(evil.status, 400);

    const unknown = await fetch(
      `${base}/sensor/00000000000000000000000000000000?version=1.0&interval=minute&unit=watt`,
    );
    assert.equal(unknown.status, 404);
  });
});
