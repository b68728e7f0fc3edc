// `npm run lint` (part of `npm test`): typescript-eslint's recommended rules without type
// information (fast enough for every test run) and the dependency order of
// docs/architecture.md#dependency-order as a local rule.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { layers } from './scripts/lint/layers.mjs';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', '.nr5/**', '.flm/**', 'test-output/**', 'resources/**'] },
  tseslint.configs.recommended,
  {
    plugins: { flm: { rules: { layers } } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'flm/layers': 'error',
      // `const node = this` is Node-RED's idiom for the node inside its handlers.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node'] }],
      // A callback built before the object it reports to (`let broker; … broker?.refuse(…); broker = new …`)
      // reads the variable before its one assignment: that `let` is not a `const` in waiting.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests, benches and scripts drive Node-RED's untyped runtime and load modules that come with
    // it (express, bcryptjs, a second Node-RED) by resolved path.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
