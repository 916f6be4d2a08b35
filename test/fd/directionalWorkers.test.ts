import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { backgroundStart, goldenCheck, idleWorkers, stopIdleWorkers, workerFlags } from '../../src/fd/parallel.ts';
import { loadGolden } from '../../src/golden/load.ts';

// Note [Directions on two threads]: a directional check uses a warm worker only; with none idle it
// runs alone and starts one in the background, which no call takes before it is ready and which
// never keeps the process alive. (Test files share modules here, vitest.config.ts's isolate:
// false, so the test first ends whatever workers earlier files left idle.)

const golden = loadGolden('goldens/batch7-class-mean.json');
const single = () => JSON.parse(JSON.stringify(finiteDifferenceCheck(modelProblem(golden, 'float64'), { mode: 'directional' })));

describe('directional checks and the worker they start (Note [Directions on two threads])', () => {
  it('runs alone when no worker is idle, starts one, and takes it once it is ready', async () => {
    await stopIdleWorkers();
    expect(idleWorkers()).toBe(0);
    const alone = await goldenCheck(golden, 'float64', { mode: 'directional' }, 2);
    expect(JSON.parse(JSON.stringify(alone))).toEqual(single());
    await backgroundStart();
    expect(idleWorkers()).toBe(1);
    const withWorker = await goldenCheck(golden, 'float64', { mode: 'directional' }, 2);
    expect(JSON.parse(JSON.stringify(withWorker))).toEqual(single());
    // Back among the idle ones, and no second worker started.
    expect(idleWorkers()).toBe(1);
  });

  it('starts workers from a process run with --input-type, whose flag a worker cannot take', () => {
    expect(workerFlags(['--input-type=module', '--max-old-space-size=64'])).toEqual(['--max-old-space-size=64']);
    expect(workerFlags(['--input-type', 'module', '--no-warnings'])).toEqual(['--no-warnings']);
  });

  it('lets the process exit after a check that started a worker', async () => {
    // From dist, as a program would use it, in a file (a worker inherits the parent's flags, and
    // --input-type would stop it); the child's exit is the signal (a hang fails on vitest's timeout).
    const dir = mkdtempSync(join(tmpdir(), 'gradparity-exit-'));
    const script = join(dir, 'check.mjs');
    const dist = (path: string) => JSON.stringify(pathToFileURL(resolve('dist', path)).href);
    writeFileSync(script, `
      import { goldenCheck } from ${dist('fd/parallel.js')};
      import { loadGolden } from ${dist('golden/load.js')};
      const report = await goldenCheck(loadGolden(${JSON.stringify(resolve('goldens/batch7-class-mean.json'))}), 'float64', { mode: 'directional' }, 2);
      console.log(report.verdict, report.directions.length);`);
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe('pass 8\n');
  });
});
