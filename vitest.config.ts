import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The goldens are read from the repository root.
    root: '.',
  },
});
