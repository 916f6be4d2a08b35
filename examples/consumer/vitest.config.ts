import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Adds gradparity's matchers (see vitest.setup.ts).
    setupFiles: ['./vitest.setup.ts'],
    // The parity reporter writes reports/ (full and compact Markdown, JSON, plots) from what the
    // matchers compared.
    reporters: ['default', 'gradparity/vitest/reporter'],
  },
});
