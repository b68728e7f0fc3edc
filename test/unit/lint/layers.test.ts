import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../support/paths';

/**
 * The lint rule for the dependency order (scripts/lint/layers.mjs), run by eslint's own
 * RuleTester on imports written in the repository's folders.
 */

const at = (file: string) => join(repoRoot, file);

test('layers: downward and same-folder imports pass; upward, sibling, tooling and unranked ones are reported', async () => {
  const { RuleTester } = await import('eslint');
  const { layers } = await import(pathToFileURL(join(repoRoot, 'scripts', 'lint', 'layers.mjs')).href);
  // Outside describe/it, RuleTester runs the cases at once and throws at the first mismatch.
  const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });
  tester.run('layers', layers, {
    valid: [
      { filename: at('core/readings/computer.ts'), code: "import { x } from '../p1/parse';" },
      { filename: at('core/readings/computer.ts'), code: "import { x } from './units';" },
      { filename: at('core/sinks/mysql/writer.ts'), code: "import { x } from '../../util/clock';" },
      { filename: at('core/cli/commands/p1.ts'), code: "import { x } from '../../sinks/openhab/homie';" },
      { filename: at('core/p1/parse.ts'), code: "import { z } from 'zod';" },
      {
        filename: at('nodes/flm-p1.ts'),
        code: "import { x } from '../core/p1/parse'; import { y } from './lib/status';",
      },
      { filename: at('test/unit/p1/parse.test.ts'), code: "import { x } from '../../../nodes/lib/status';" },
    ],
    invalid: [
      {
        filename: at('core/flx/board-link.ts'),
        code: "import { x } from '../readings/records';",
        errors: [{ messageId: 'upward' }],
      },
      {
        filename: at('core/mqtt/importer.ts'),
        code: "export { x } from '../sinks/homeassistant/mapping';",
        errors: [{ messageId: 'upward' }],
      },
      {
        filename: at('core/flx/emulator.ts'),
        code: "import { prng } from '../sim/prng';",
        errors: [{ messageId: 'sibling' }],
      },
      {
        filename: at('core/sinks/openhab/homie.ts'),
        code: "import { x } from '../homeassistant/mapping';",
        errors: [{ messageId: 'sibling' }],
      },
      {
        filename: at('core/util/clock.ts'),
        code: "const m = import('../../nodes/lib/status');",
        errors: [{ messageId: 'outside' }],
      },
      {
        filename: at('core/p1/parse.ts'),
        code: "import { x } from '../../test/support/device';",
        errors: [{ messageId: 'outside' }],
      },
      {
        filename: at('core/p1/parse.ts'),
        code: "import { x } from '../nowhere/thing';",
        errors: [{ messageId: 'unranked' }],
      },
      {
        filename: at('nodes/flm-p1.ts'),
        code: "import { x } from '../test/support/device';",
        errors: [{ messageId: 'tooling' }],
      },
    ],
  });
});

test('layers: the order is the one written in docs/architecture.md', async () => {
  const { readOrder } = await import(pathToFileURL(join(repoRoot, 'scripts', 'lint', 'layers.mjs')).href);
  const order: string[][] = readOrder();
  assert.deepEqual(order[0], ['core/util']);
  assert.deepEqual(order.at(-1), ['nodes']);
  assert.ok(order.flat().includes('core/readings'));
});
