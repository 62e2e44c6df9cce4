// Shared jest setup: TypeScript sources as ES modules through ts-jest (transpile-only; `tsc` type-checks).
export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
    },
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    ...overrides,
  };
}
