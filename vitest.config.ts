import { defineConfig } from 'vitest/config';

// Native suites run in forked workers (a crash kills one file, not the run), one file at a time:
// libtorch uses every core on its own.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'cpu', include: ['test/**/*.test.ts'], exclude: ['test/gpu/**', 'node_modules/**'] },
      },
      {
        extends: true,
        test: { name: 'gpu', include: ['test/gpu/**/*.test.ts'], testTimeout: 600_000 },
      },
    ],
  },
});
