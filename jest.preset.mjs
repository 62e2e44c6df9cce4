// Shared jest setup: TypeScript sources as ES modules through ts-jest (transpile-only; `tsc` type-checks).
import { fileURLToPath } from 'node:url';

const summaryReporter = fileURLToPath(new URL('./scripts/jest-summary.cjs', import.meta.url));

export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    reporters: ['default', summaryReporter],
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
    },
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    ...overrides,
  };
}
