import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The parity reporter collects the comparison records tests attach to task.meta and writes
// reports/ (Markdown, JSON, SVG). In CI, vitest's own JUnit reporter adds reports/junit.xml.
const reporters = ['default', './src/vitest/reporter.ts', ...(process.env.CI ? ['junit'] : [])];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Timeouts detect hangs; they are not timings. A test that needs 1 s on an idle machine may
    // need ten times that when other work shares the cores, and must still pass there.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // vitest leaves a core free by default, which on two cores means one worker; the suite's
    // process-spawning tests spend much of their time waiting, so two workers keep both busy.
    maxWorkers: Math.max(2, availableParallelism()),
    // Test files share a worker's module cache instead of importing zod, vega and onnxruntime
    // afresh each (a third of the run's time). No test relies on module state of its own: env
    // stubs and spies are restored, and the onnxruntime sessions they share are read-only.
    isolate: false,
    // Test locations, so that a GitHub annotation can point at the line of the failing test.
    includeTaskLocation: true,
    reporters,
    outputFile: { junit: 'reports/junit.xml' },
  },
});
