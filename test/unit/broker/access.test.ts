import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessPolicy } from '../../../core/broker/access';

const pw = (s: string) => Buffer.from(s);

test('open: anyone connects and publishes; wrong credentials are still refused', () => {
  const p = new AccessPolicy({ mode: 'open', username: 'flm', password: 'secret' });
  assert.equal(p.login(undefined, undefined), 'anonymous');
  assert.equal(p.login('flm', pw('secret')), 'authenticated');
  assert.equal(p.login('flm', pw('wrong')), 'bad-credentials');
  assert.equal(p.login('other', pw('secret')), 'bad-credentials');
  assert.equal(p.mayPublish(false, '/sensor/x/gauge'), true);
  assert.equal(p.mayPublish(true, '$SYS/x'), false);
});

test('read-only-anonymous: anonymous may not publish under /sensor/ and /device/', () => {
  const p = new AccessPolicy({ mode: 'read-only-anonymous', username: 'flm', password: 'secret' });
  assert.equal(p.login(undefined, undefined), 'anonymous');
  assert.equal(p.mayPublish(false, '/sensor/abc/gauge'), false);
  assert.equal(p.mayPublish(false, '/device/abc/config/sensor'), false);
  assert.equal(p.mayPublish(false, 'home/other'), true);
  assert.equal(p.mayPublish(true, '/sensor/abc/gauge'), true);
});

test('authenticated: no login, no connection; needs a configured user', () => {
  const p = new AccessPolicy({ mode: 'authenticated', username: 'flm', password: 'secret' });
  assert.equal(p.login(undefined, undefined), 'not-authorized');
  assert.equal(p.login('flm', pw('secret')), 'authenticated');
  assert.equal(p.login('flm', undefined), 'bad-credentials');
  assert.throws(() => new AccessPolicy({ mode: 'authenticated' }), /needs a username and password/);
});

test('the pipeline topics: readings, sensor table, HA discovery configs and availability; HA birth stays free', () => {
  const p = new AccessPolicy({ mode: 'read-only-anonymous' });
  for (const t of [
    '/sensor/abc/counter',
    '/device/abc/config/sensor',
    'homeassistant/sensor/abc/x_gauge/config',
    'flm/abc/availability',
  ]) {
    assert.equal(p.isPipelineTopic(t), true, t);
    assert.equal(p.mayPublish(false, t), false, t);
  }
  for (const t of ['homeassistant/status', 'p1/abc/telegram', 'flm/abc/other', 'home/livingroom/temp', 'sensor/abc']) {
    assert.equal(p.mayPublish(false, t), true, t);
  }
  const custom = new AccessPolicy({ mode: 'read-only-anonymous', discoveryPrefix: 'ha' });
  assert.equal(custom.mayPublish(false, 'ha/sensor/abc/x/config'), false);
  assert.equal(custom.mayPublish(false, 'ha/status'), true);
});

test('logged-in clients may publish on the pipeline topics unless the setting says no', () => {
  const creds = { username: 'flm', password: 'secret' };
  assert.equal(new AccessPolicy({ mode: 'read-only-anonymous', ...creds }).mayPublish(true, '/sensor/x/gauge'), true);
  const strict = new AccessPolicy({ mode: 'authenticated', ...creds, loginMayPublishPipeline: false });
  assert.equal(strict.mayPublish(true, '/sensor/x/gauge'), false);
  assert.equal(strict.mayPublish(true, 'homeassistant/status'), true);
});

test('a user with an empty password is refused in every mode', () => {
  assert.throws(
    () => new AccessPolicy({ mode: 'authenticated', username: 'flm', password: '' }),
    /needs a username and password/,
  );
  assert.throws(
    () => new AccessPolicy({ mode: 'read-only-anonymous', username: 'flm', password: '' }),
    /needs a password/,
  );
  assert.throws(() => new AccessPolicy({ mode: 'open', username: 'flm' }), /needs a password/);
});

test('$SYS is for logged-in clients unless anonymous reading is allowed; client ids of logged-in clients are theirs', () => {
  const p = new AccessPolicy({ mode: 'read-only-anonymous' });
  assert.equal(p.maySubscribe(false, '$SYS/#'), false);
  assert.equal(p.maySubscribe(true, '$SYS/#'), true);
  assert.equal(p.maySubscribe(false, '#'), true);
  assert.equal(new AccessPolicy({ mode: 'open', anonymousSys: true }).maySubscribe(false, '$SYS/#'), true);
  assert.equal(p.mayTakeOver(false, true), false);
  assert.equal(p.mayTakeOver(true, true), true);
  assert.equal(p.mayTakeOver(false, false), true);
});
