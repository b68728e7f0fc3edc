import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { repoRoot } from '../support/paths';
import { freePort, waitFor } from '../support/nodered';
import { start, collectLines } from '../support/processes';
import { startPipeline } from '../support/start-pipeline';
import { portOpen, untilListening } from '../support/net';

const DEVICE_ID = '00112233445566778899aabbccddeeff';
const READING = /^\/sensor\/([0-9a-f]{32})\/(gauge|counter) (\[\d+,-?\d+(\.\d{1,3})?,"(W|Wh|L|L\/day)"\])$/;

test('npm start: readings on the embedded broker within 5 s, exactly in FLM form, seen by mosquitto_sub', async () => {
  const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID });
  try {
    await untilListening(p.mqttPort, p.run.output);
    const sub = await collectLines(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(p.mqttPort),
        '-v',
        '-t',
        '/sensor/#',
        '-t',
        '/device/#',
        '-t',
        'homeassistant/#',
      ],
      80,
      5000,
    );
    const readings = sub.lines.filter((l) => l.startsWith('/sensor/'));
    assert.ok(readings.length > 0, 'readings arrived within 5 s');
    for (const l of readings) assert.match(l, READING);
    const gauges = readings.filter((l) => l.includes('/gauge '));
    const counters = readings.filter((l) => l.includes('/counter '));
    assert.ok(gauges.length >= 3, `a gauge every second: ${gauges.length} in 5 s`);
    assert.ok(counters.length >= 1);
    const mainGauges = gauges
      .filter((l) => l.includes('"W"]'))
      .map((l) => JSON.parse(l.split(' ')[1]!) as [number, number, string]);
    const tss = mainGauges.map((g) => g[0]);
    assert.ok(
      tss.every((t) => Math.abs(t - Date.now() / 1000) < 30),
      'stamped with the real clock at speed 1',
    );
    const cfgLine = sub.lines.find((l) => l.startsWith(`/device/${DEVICE_ID}/config/sensor `));
    assert.ok(cfgLine, 'sensor table retained on /device/<did>/config/sensor');
    const cfg = JSON.parse(cfgLine.slice(cfgLine.indexOf(' ') + 1));
    assert.deepEqual(
      ['1', '2', '3', '4'].map((k) => cfg[k].function),
      ['main', 'solar', 'gas', 'water'],
    );
    const sids = new Set(readings.map((l) => READING.exec(l)![1]));
    for (const s of sids)
      assert.ok(
        ['1', '2', '3', '4'].some((k) => cfg[k].id === s),
        `reading sid ${s} is in the sensor table`,
      );
    // Home Assistant discovery, retained under FLM_HA_PREFIX (default homeassistant)
    const discovery = sub.lines.filter((l) => l.startsWith(`homeassistant/sensor/${DEVICE_ID}/`));
    assert.ok(discovery.length >= 4, `discovery configs: ${discovery.length}`);
    const mainGauge = discovery
      .map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)))
      .find((c) => c.unique_id === `${DEVICE_ID}_${cfg['1'].id}_gauge`);
    assert.ok(mainGauge, 'the main clamp power entity is announced');
    assert.equal(mainGauge.device_class, 'power');
    assert.equal(mainGauge.state_topic, `/sensor/${cfg['1'].id}/gauge`);
    assert.ok(existsSync(join(p.dir.path, 'data', 'device.json')), 'identity kept in FLM_DATA_DIR');
    assert.equal(JSON.parse(readFileSync(join(p.dir.path, 'data', 'device.json'), 'utf8')).id, DEVICE_ID);

    // websockets carry the same readings
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${p.ws}/mqtt`, { reconnectPeriod: 0 });
    const got: string[] = [];
    ws.on('message', (t, m) => got.push(`${t} ${m}`));
    await ws.subscribeAsync('/sensor/+/gauge');
    await waitFor('a reading over websockets', () => got.find((l) => READING.test(l)), 5000);
    await ws.endAsync();

    // the FLM local API on FLM_API_PORT answers with the last minute of the main clamp
    const mainSid = cfg['1'].id as string;
    await untilListening(p.api, p.run.output);
    const local = await fetch(`http://127.0.0.1:${p.api}/sensor/${mainSid}?version=1.0&interval=minute&unit=watt`);
    assert.equal(local.status, 200);
    const minute = (await local.json()) as Array<[number, number | string]>;
    assert.ok(minute.length >= 1 && minute.length <= 60, `${minute.length} points`);
    minute.forEach(([ts], i) => i > 0 && assert.equal(ts, minute[i - 1]![0] + 1, 'one point a second'));
    assert.ok(
      minute.some(([, v]) => typeof v === 'number' && v > 0),
      'live watts in the minute',
    );

    // SIGTERM stops everything cleanly and frees the ports
    const code = await p.run.stop();
    assert.equal(code, 0, p.run.output());
    assert.equal(await portOpen(p.mqttPort), false);
    assert.equal(await portOpen(p.ui), false);
    assert.equal(await portOpen(p.api), false);
    assert.ok(existsSync(join(p.dir.path, 'data', `counters-${DEVICE_ID}.json`)), 'counters saved on stop');
    assert.ok(existsSync(join(p.dir.path, 'data', 'tmpo', 'open.json')), 'open TMPO blocks kept on stop');
  } finally {
    await p.run.stop(2000);
    await p.dir.remove();
  }
});

test('npm start honours FLM_SIM_SPEED and FLM_BIND, keeps the editor on FLM_UI_BIND, and a busy editor port is a clear error', async () => {
  const host = '127.0.0.2';
  const p = await startPipeline({ FLM_SIM_SPEED: '120', FLM_BIND: host });
  try {
    await untilListening(p.mqttPort, p.run.output, host);
    assert.equal(await portOpen(p.mqttPort, '127.0.0.1'), false, 'bound to FLM_BIND only');
    // Opening the broker to an address does not open the editor there: it stays on FLM_UI_BIND.
    await untilListening(p.ui, p.run.output, '127.0.0.1');
    assert.equal(await portOpen(p.ui, host), false, "the editor is not on the broker's address");
    const sub = await collectLines(
      'mosquitto_sub',
      ['-h', host, '-p', String(p.mqttPort), '-v', '-t', '/sensor/+/gauge'],
      400,
      3000,
    );
    const ts = sub.lines.filter((l) => l.endsWith('"W"]')).map((l) => JSON.parse(l.split(' ')[1]!)[0] as number);
    const span = Math.max(...ts) - Math.min(...ts);
    assert.ok(span >= 120, `at 120× three seconds cover minutes of simulated time, got ${span} s`);

    const clash = start(process.execPath, [join(repoRoot, 'dist', 'scripts', 'start.js')], {
      FLM_USER_DIR: join(p.dir.path, 'user2'),
      FLM_DATA_DIR: join(p.dir.path, 'data2'),
      FLM_BIND: host,
      FLM_UI_PORT: String(p.ui),
      FLM_MQTT_PORT: String(await freePort()),
      FLM_WS_PORT: '',
      FLM_API_PORT: '',
    });
    const code = await clash.exited;
    assert.equal(code, 1);
    assert.match(clash.output(), new RegExp(`editor port ${p.ui} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    await p.run.stop();
    await p.dir.remove();
  }
});
