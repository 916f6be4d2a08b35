#!/usr/bin/env node
// The CLI, compiled to JavaScript by `npm run build`, which `npm pack` and `npm test` run first: a
// packed or installed gradparity has dist/, and nothing is transpiled at start-up. A fresh clone
// of the repository has no dist/ until it is built (`npm start` runs the sources instead).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('gradparity: dist/ is missing: run npm run build first (or npm start, which runs the TypeScript sources)\n');
  process.exit(2);
}
await import(main.href);
