import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TmpoService, type TmpoOut } from '../../../core/api/tmpo-service';
import { DeviceSensors } from '../../../core/config/sensor-set';
import type { StatusView } from '../../../core/util/status-view';
import { device, DEVICE_ID, sid } from '../../support/device';

async function serviceIn(dir: string, port: number) {
  const d = device();
  const statuses: StatusView[] = [];
  const logs: string[] = [];
  const sent: TmpoOut[] = [];
  const svc = await TmpoService.open({
    device: d,
    dataDir: dir,
    sensors: await DeviceSensors.load(d, dir),
    horizonHours: 1,
    maxMB: 0,
    api: { host: '127.0.0.1', port, token: '' },
    send: (o) => sent.push(o),
    log: (level, text) => logs.push(`${level}: ${text}`),
    status: (v) => statuses.push(v),
    rejects: () => 0,
  });
  return { svc, statuses, logs, sent };
}

test('TMPO service: the API serves on its port, a second one on the same port is red while its store works', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-tmpo-svc-'));
  const other = await mkdtemp(join(tmpdir(), 'flm-tmpo-svc-'));
  const open: TmpoService[] = [];
  try {
    const a = await serviceIn(dir, 0);
    open.push(a.svc);
    await a.svc.serveApi();
    const port = Number(/ · :(\d+)/.exec(a.statuses.at(-1)!.text)?.[1]);
    assert.ok(port > 0, a.statuses.at(-1)!.text);
    assert.equal(a.statuses.at(-1)!.level, 'ok');
    assert.notEqual(a.svc.apiToken, device().key, 'the token is derived from the key, not the key');
    assert.deepEqual(a.svc.syncMessage(), {
      topic: `/device/${DEVICE_ID}/tmpo/sync`,
      payload: '',
      retain: false,
      qos: 0,
    });

    const b = await serviceIn(other, port);
    open.push(b.svc);
    await b.svc.serveApi();
    assert.equal(b.statuses.at(-1)!.level, 'error');
    assert.match(b.statuses.at(-1)!.text, /already in use · 0 blocks · 0 open$/);
    assert.ok(
      b.logs.some((l) => l.startsWith('error: ') && l.includes('already in use')),
      b.logs.join('\n'),
    );
    await b.svc.handle(`/sensor/${sid(1)}/gauge`, [1_782_043_200, 500, 'W'], undefined, () => undefined);
    await assert.rejects(
      b.svc.handle('/elsewhere', 1, undefined, () => undefined),
      /not a reading topic/,
    );
  } finally {
    for (const svc of open) await svc.close();
    await rm(dir, { recursive: true, force: true });
    await rm(other, { recursive: true, force: true });
  }
});
