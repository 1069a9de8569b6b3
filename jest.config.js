/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/cluster needs scripts/cluster.sh's cluster, which only `npm run test:cluster` (POET_TEST_TOPOLOGY) brings up.
  testPathIgnorePatterns:
    process.env.POET_TEST_TOPOLOGY === 'cluster' ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/cluster/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: one Temporal dev server plus two test files at a time.
  maxWorkers: 2,
};
