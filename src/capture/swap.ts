import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { killPoint } from './killPoints.ts';

const SWAP_HELPER = join(import.meta.dirname, '..', '..', 'python', 'swap_dirs.py');

function journalPath(target: string): string {
  return join(dirname(target), `.${basename(target)}-swap.json`);
}

/**
 * Finishes or undoes a replacement that the fallback path left half done (killed between its two
 * renames): restores the old set if the target is missing, and removes leftovers.
 */
export function recoverInterruptedSwap(target: string): string | null {
  const journal = journalPath(target);
  if (!existsSync(journal)) return null;
  const { old, staging } = JSON.parse(readFileSync(journal, 'utf8')) as { old: string; staging: string };
  let outcome: string;
  if (!existsSync(target) && existsSync(old)) {
    renameSync(old, target); // died between the two renames
    outcome = 'rolled back to the old set';
  } else if (existsSync(old)) {
    outcome = 'the new set was already in place'; // died before removing the old set
  } else {
    outcome = 'nothing had moved yet; the old set is in place'; // died before the first rename
  }
  rmSync(old, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
  rmSync(journal, { force: true });
  return `recovered an interrupted replacement of ${target}: ${outcome}`;
}

/**
 * Replaces `target` by `staging` so that, at every moment, `target` is the complete old set or
 * the complete new set. With an atomic exchange (Linux renameat2, macOS renamex_np, through
 * python/swap_dirs.py) no observer can see anything else. Without one, a journal records the
 * two renames and recoverInterruptedSwap restores the old set if the process dies between them.
 */
export function replaceDirectory(staging: string, target: string, python: string | null): void {
  if (!existsSync(target)) {
    renameSync(staging, target); // rename(2) of a directory onto a missing path is atomic
    return;
  }
  if (python !== null) {
    const swap = spawnSync(python, [SWAP_HELPER, staging, target], { encoding: 'utf8' });
    if (swap.status === 0) {
      killPoint('swapped');
      rmSync(staging, { recursive: true, force: true }); // now the old set
      return;
    }
    if (swap.status !== 3) throw new Error(`cannot exchange ${staging} and ${target}: ${swap.stderr.trim() || swap.error?.message}`);
  }
  const old = `${staging}-old`;
  writeFileSync(journalPath(target), JSON.stringify({ old, staging }));
  killPoint('journaled');
  renameSync(target, old);
  killPoint('half-renamed');
  renameSync(staging, target);
  rmSync(journalPath(target), { force: true });
  rmSync(old, { recursive: true, force: true });
}
