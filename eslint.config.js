// Lint: the recommended JS and TypeScript rules; generated code and build output are not linted.
// The layers import one way (docs/architecture.md): proto <- domain <- core, edge <- bin;
// the widget takes only proto and domain. A PR that adds an import against the arrow fails here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports each layer may not make: the folder it may not reach into, and why. */
const layer = (files, forbidden, why, extra = []) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: forbidden.flatMap((dir) => [`../${dir}/*`, `../../${dir}/*`, `../../../${dir}/*`, `./${dir}/*`]), message: why },
        ],
        paths: extra,
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'proto/gen/', '.tools/', 'test-results/', 'bench/k6/dist/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        globalThis: 'readonly',
        window: 'readonly',
        document: 'readonly',
        localStorage: 'readonly',
        __ENV: 'readonly',
        __VU: 'readonly',
        __ITER: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-namespace': 'off',
    },
  },
  layer(['proto/**/*.ts'], ['domain', 'core', 'edge', 'widget', 'bin'], 'proto/ is the wire contract: it imports nothing of ours'),
  layer(['domain/**/*.ts'], ['core', 'edge', 'widget', 'bin'], 'domain/ is shared by both processes: it imports only proto/'),
  layer(['core/**/*.ts'], ['edge', 'widget', 'bin'], 'core/ imports proto/ and domain/ only', [
    { name: 'uWebSockets.js', message: "core/ never imports uWebSockets.js: connections are the edge's" },
  ]),
  layer(['edge/**/*.ts'], ['core', 'widget', 'bin'], 'edge/ imports proto/ and domain/ only; what core and edge share belongs in domain/'),
  layer(['widget/**/*.ts'], ['core', 'edge', 'bin'], 'widget/ runs in the browser: it imports proto/ and domain/ only'),
  layer(
    ['sdk/**/*.ts'],
    ['core', 'edge', 'widget', 'bin'],
    "sdk/ is the site's server SDK (barrage/server): it imports proto/ and domain/ only",
  ),
);
