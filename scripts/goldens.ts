// `npm run goldens [-- --case NAME ...]`: regenerate goldens with real PyTorch, validate them with
// the zod schema, then move them into goldens/.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadGolden } from '../src/golden/load.ts';
import { goldenJsonSchema } from '../src/golden/schema.ts';

const GOLDENS = 'goldens';
const INSTALL_HINT = [
  'Debian/Ubuntu: sudo apt-get install -y python3-torch python3-onnx   (then PYTHON=/usr/bin/python3)',
  'elsewhere:     python3 -m pip install torch==1.13.* onnx==1.12.*     (then PYTHON=$(which python3))',
].join('\n  ');

function findPython(): string {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${python} cannot be run (${probe.error.message})` : `${python} cannot import torch and onnx`;
    console.error(`goldens: ${why}.\nInstall PyTorch and onnx for it, or point $PYTHON at an interpreter that has them:\n  ${INSTALL_HINT}`);
    process.exit(2);
  }
  return python;
}

function main(): void {
  const { values } = parseArgs({ options: { case: { type: 'string', multiple: true, default: [] } } });
  const python = findPython();
  const staging = mkdtempSync('.goldens-staging-');
  try {
    const caseArgs = values.case.flatMap((c) => ['--case', c]);
    const run = spawnSync(python, ['scripts/generate_goldens.py', '--out', staging, ...caseArgs], { stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`the generator exited with ${run.status ?? run.signal}`);
    // Keep the goldens of cases that were not regenerated.
    if (values.case.length > 0 && existsSync(GOLDENS)) {
      for (const f of readdirSync(GOLDENS)) if (!existsSync(join(staging, f))) cpSync(join(GOLDENS, f), join(staging, f), { recursive: true });
    }
    writeFileSync(join(staging, 'schema.json'), `${JSON.stringify(goldenJsonSchema(), null, 2)}\n`);
    for (const f of readdirSync(staging)) if (f.endsWith('.json') && f !== 'schema.json') loadGolden(join(staging, f));
    const old = `${staging}-old`;
    if (existsSync(GOLDENS)) renameSync(GOLDENS, old);
    renameSync(staging, GOLDENS);
    rmSync(old, { recursive: true, force: true });
    console.log(`goldens: ${readdirSync(GOLDENS).length - 1} golden(s) in ${GOLDENS}/`);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    console.error(`goldens: ${(err as Error).message}; ${GOLDENS}/ is unchanged`);
    process.exit(1);
  }
}

main();
