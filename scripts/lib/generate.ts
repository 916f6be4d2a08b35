import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';

export const GENERATOR = 'scripts/generate_goldens.py';

/** One line of the generator's progress protocol. */
export interface CaseDone {
  readonly case: string;
  readonly index: number;
  readonly total: number;
  readonly seconds: number;
}

/** A progress bar on a terminal; plain per-case lines (for logs and CI) otherwise. */
export function progressDisplay(total: number, interactive = process.stdout.isTTY === true) {
  if (!interactive) {
    return {
      update: (p: CaseDone) => console.log(`[${p.index}/${p.total}] ${p.case} (${p.seconds.toFixed(2)} s)`),
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({ format: 'goldens [{bar}] {value}/{total} {case} ({seconds} s)', hideCursor: true, clearOnComplete: false });
  bar.start(total, 0, { case: '', seconds: '0.00' });
  return {
    update: (p: CaseDone) => bar.update(p.index, { case: p.case, seconds: p.seconds.toFixed(2) }),
    stop: () => bar.stop(),
  };
}

/**
 * Runs the generator into `outDir` and reports each finished case. `generator` is normally the
 * PyTorch generator; tests substitute a stand-in that speaks the same protocol. `stop` ends the
 * generator early (on Ctrl-C), so that it does not go on writing after the driver has gone.
 */
export function runGenerator(python: string, outDir: string, cases: readonly string[], onCase: (p: CaseDone) => void, generator = GENERATOR): { done: Promise<void>; stop: () => void } {
  const args = [generator, '--out', outDir, ...cases.flatMap((c) => ['--case', c])];
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        onCase(JSON.parse(line) as CaseDone);
      } catch {
        process.stderr.write(`${line}\n`); // not a progress line: pass it on
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`the generator exited with ${code ?? signal}`))));
  });
  return { done, stop: () => void child.kill('SIGTERM') };
}
