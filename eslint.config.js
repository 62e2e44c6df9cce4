// Lint run by `npm test` (scripts/run.mjs). A short list of rules that find real bugs, not a style guide:
// layout is the formatter's job (biome.json). TypeScript is linted with type information from each
// package's tsconfig.test.json (it covers src, test and scripts).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';
import { errorCause } from './scripts/eslint/error-cause.js';
import { noImportCycle } from './scripts/eslint/no-import-cycle.js';

// A package's tsconfig.test.json covers its src, test and scripts; its tsconfig.json is the fallback for a
// package without tests (typescript-eslint builds a program only when a file needs it).
const tsProjects = ['packages/*/tsconfig.test.json', 'deploy/tsconfig.test.json', 'packages/*/tsconfig.json'];

// The Raft core is a pure, deterministic state machine: no I/O, no clock, no randomness of its own, no
// server-side libraries. Time and entropy come in as ticks and configuration.
const pure = 'The consensus core is pure and deterministic';
const coreRules = {
  'no-restricted-imports': [
    'error',
    {
      paths: builtinModules.map((name) => ({ name, message: `${pure}: no Node built-ins (I/O belongs in the server).` })),
      patterns: [
        { group: ['node:*'], message: `${pure}: no node: modules (I/O belongs in the server).` },
        {
          group: ['@grpc/*', 'better-sqlite3', 'winston', '@raftkv/*'],
          message: `${pure}: no transport, storage, logging or server code.`,
        },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'process', 'Buffer', 'require', 'performance'].map((name) => ({
      name,
      message: `${pure}: time and I/O reach it as ticks and messages.`,
    })),
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: `${pure}: time reaches it as ticks.` },
    { object: 'Math', property: 'random', message: `${pure}: randomness comes in through config.random.` },
  ],
  'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: `${pure}: no dynamic imports.` }],
};

export default defineConfig(
  {
    ignores: ['**/node_modules/', '**/dist/', '**/dist-test/', '**/coverage/', 'packages/proto/src/gen/', '**/.bench/', '**/data/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{ts,mts,cts,js,mjs,cjs}'],
    plugins: { raftkv: { rules: { 'error-cause': errorCause, 'no-import-cycle': noImportCycle } } },
    rules: {
      ...js.configs.recommended.rules,
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }], // a timer handle declared before the closure that clears it
      'no-control-regex': 'off', // raftctl tells binary values from text with one on purpose
      'preserve-caught-error': ['error', { requireCatchParameter: false }],
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'raftkv/no-import-cycle': 'error',
      'raftkv/error-cause': 'error',
    },
  },
  {
    files: ['**/*.{ts,mts,cts}'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: tsProjects, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      ...tseslint.configs.eslintRecommended.rules,
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // The TypeScript compiler already reports these (and knows the types better).
      'no-undef': 'off',
      'no-redeclare': 'off',
      'no-dupe-class-members': 'off',
    },
  },
  {
    files: ['packages/consensus/src/**/*.ts'],
    rules: coreRules,
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['packages/server/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser } }, // loaded as <script type="module">
  },
);
