import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { setting, parseSettings, credentialSetting } from '../../../nodes/lib/settings';

const schema = z.object({
  mode: setting.oneOf(['a', 'b'] as const, 'a', (s) => `mode: "${s}" is not a or b`),
  count: setting.number(3, 'count', (n) => Number.isInteger(n) && n > 0),
  group: setting.optionalNumber('group', (n) => n >= 0),
  name: setting.text('anon'),
});

test('settings schema: blank and an unset ${VAR} read as the default; set values are typed', () => {
  assert.deepEqual(parseSettings(schema, {}), { mode: 'a', count: 3, name: 'anon' });
  assert.deepEqual(parseSettings(schema, { mode: '${FLM_MODE}', count: ' ', group: '${G}', name: '${N}' }), {
    mode: 'a',
    count: 3,
    group: undefined,
    name: 'anon',
  });
  assert.deepEqual(parseSettings(schema, { mode: ' b ', count: '7', group: 0, name: 'meter' }), {
    mode: 'b',
    count: 7,
    group: 0,
    name: 'meter',
  });
});

test("settings schema: the first wrong setting, in the schema's order, is the error", () => {
  assert.throws(() => parseSettings(schema, { mode: 'c', count: 'x' }), { message: 'mode: "c" is not a or b' });
  assert.throws(() => parseSettings(schema, { count: '1.5', group: -1 }), {
    message: 'count: "1.5" is not a valid value',
  });
  assert.throws(() => parseSettings(schema, { group: -1 }), { message: 'group: "-1" is not a valid value' });
});

test('a credential naming ${VAR} is looked up; one that is not set is an error naming it', () => {
  assert.equal(
    credentialSetting(() => undefined, ' plain ', 'key'),
    'plain',
  );
  assert.equal(
    credentialSetting((n) => (n === 'K' ? ' abc ' : undefined), '${K}', 'key'),
    'abc',
  );
  assert.throws(() => credentialSetting(() => undefined, '${FLM_TEST_SURELY_UNSET}', 'Smarty key'), {
    message: 'Smarty key: environment variable FLM_TEST_SURELY_UNSET is not set',
  });
});
