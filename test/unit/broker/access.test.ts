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
