#!/usr/bin/env node
// The CLI, compiled to JavaScript by `npm run build` (which `npm pack` and `npm install` in this
// repository run first). Nothing is transpiled at start-up.
import '../dist/cli/main.js';
