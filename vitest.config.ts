import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real registries are started once per run here and stopped in its teardown.
    globalSetup: ['test/harness/global-setup.ts'],
    // Nothing beyond loopback: a connection or DNS lookup elsewhere fails the test that made it.
    setupFiles: ['test/harness/network-guard-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each test file in its own process: registries/proxies a file starts die with it.
    pool: 'forks',
  },
});
