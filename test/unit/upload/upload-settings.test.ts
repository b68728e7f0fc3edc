import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uploadSettings } from '../../../nodes/lib/upload-settings';

test("upload settings: ways pick the parts; the bridge host defaults to the server URL's, port 8883, MQTT 3.1", () => {
  const url = 'https://api.flukso.net/';
  assert.deepEqual(uploadSettings({ serverUrl: url }), {
    http: { serverUrl: url, intervalS: 300, filters: true, heartbeat: true },
  });
  assert.deepEqual(
    uploadSettings({ serverUrl: url, ways: '${FLM_UPLOAD_WAYS}' }),
    uploadSettings({ serverUrl: url }),
    'an unset variable is the default, http',
  );
  assert.deepEqual(uploadSettings({ serverUrl: url, ways: 'bridge' }), {
    bridge: { host: 'api.flukso.net', port: 8883, ca: '', mqttVersion: '3.1' },
  });
  const both = uploadSettings({
    serverUrl: url,
    ways: 'both',
    bridgeHost: '127.0.0.1',
    bridgePort: '18883',
    ca: '/etc/ssl/certs/flukso.ca.crt',
    mqttVersion: '3.1.1',
    interval: '60',
    filters: 'off',
    heartbeat: false,
  });
  assert.deepEqual(both, {
    http: { serverUrl: url, intervalS: 60, filters: false, heartbeat: false },
    bridge: { host: '127.0.0.1', port: 18883, ca: '/etc/ssl/certs/flukso.ca.crt', mqttVersion: '3.1.1' },
  });
  assert.deepEqual(uploadSettings({ serverUrl: 'http://[::1]:8080/', ways: 'bridge' }).bridge?.host, '::1');
  // Nothing to talk to: off.
  assert.deepEqual(uploadSettings({ serverUrl: '', ways: 'both' }), {});
  assert.deepEqual(
    uploadSettings({ serverUrl: '${FLM_SERVER_URL}', ways: 'both', bridgeHost: '${FLM_BRIDGE_HOST}' }),
    {},
  );
  assert.deepEqual(uploadSettings({ ways: 'bridge', bridgeHost: 'flm.example' }), {
    bridge: { host: 'flm.example', port: 8883, ca: '', mqttVersion: '3.1' },
  });
});

test('upload settings: clear errors for what cannot work', () => {
  assert.throws(() => uploadSettings({ serverUrl: 'x', ways: 'ftp' }), /ways: "ftp" is not http, bridge or both/);
  assert.throws(
    () => uploadSettings({ ways: 'bridge', bridgeHost: 'h', mqttVersion: '5' }),
    /MQTT version: "5" is not 3.1 or 3.1.1/,
  );
  assert.throws(
    () => uploadSettings({ ways: 'bridge', bridgeHost: 'h', bridgePort: '0' }),
    /bridge port: "0" is not a valid value/,
  );
  assert.throws(() => uploadSettings({ ways: 'bridge', bridgeHost: 'h', bridgePort: '70000' }), /bridge port/);
  assert.throws(
    () => uploadSettings({ ways: 'bridge', serverUrl: 'not a url' }),
    /server URL: "not a url" is not a URL/,
  );
  assert.throws(() => uploadSettings({ serverUrl: 'x', filters: 'maybe' }), /"maybe" is not on or off/);
});
