import { defineConfig } from 'vitest/config';

// The suites that exercise the TS model, for Stryker. The driver, CLI and report suites spawn
// processes or render plots and test nothing Stryker mutates.
export default defineConfig({
  test: {
    // Instrumented sources run tens of times slower: leave out the three largest cases (their
    // smaller siblings exercise the same code paths), and allow long tests.
    testNamePattern: '^(?!.*(wide256|batch32-four-hidden|three-hidden)).*$',
    testTimeout: 120_000,
    include: ['test/nn/**/*.test.ts', 'test/golden/load.test.ts', 'test/parity/**/*.test.ts', 'test/onnx/**/*.test.ts', 'test/fd/**/*.test.ts', 'test/vitest/**/*.test.ts'],
  },
});
