// `npm test`'s first step: the build to dist/ (which the CLI tests run) and the type check of
// everything (tests and scripts included) side by side. Each compiler run keeps about one core
// busy, so on two cores the pair takes the time of one. Exits non-zero when either fails, after
// both have printed their errors.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

// npm puts node_modules/.bin on PATH for its scripts: tsc is the project's own TypeScript.
const run = (args) =>
  new Promise((resolve) => {
    const child = spawn('tsc', args, { stdio: 'inherit' });
    child.on('error', (err) => (console.error(`tsc ${args.join(' ')}: ${err.message}`), resolve(1)));
    child.on('close', (code) => resolve(code));
  });

rmSync('dist', { recursive: true, force: true });
const codes = await Promise.all([run(['-p', 'tsconfig.build.json']), run(['--noEmit', '-p', '.'])]);
process.exit(codes.every((code) => code === 0) ? 0 : 1);
