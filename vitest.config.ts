import { defineConfig } from 'vitest/config';

// The parity reporter collects the comparison records tests attach to task.meta and writes
// reports/ (Markdown, JSON, SVG). In CI, vitest's own JUnit reporter adds reports/junit.xml.
const reporters = ['default', './src/vitest/reporter.ts', ...(process.env.CI ? ['junit'] : [])];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters,
    outputFile: { junit: 'reports/junit.xml' },
  },
});
