import { spawnSync } from 'node:child_process';

export const INSTALL_HINT = [
  'Debian/Ubuntu: sudo apt-get install -y python3-torch python3-onnx   (then PYTHON=/usr/bin/python3)',
  'elsewhere:     python3 -m pip install "torch==1.13.*" "onnx==1.12.*"   (then PYTHON=$(which python3))',
].join('\n  ');

export class PythonMissing extends Error {
  override name = 'PythonMissing';
}

/**
 * The interpreter that runs the generator: $PYTHON, else /usr/bin/python3 (the `python3` first
 * on PATH may be another one). With `modules`, it must import them too.
 */
export function findPython(modules: readonly string[] = ['torch', 'onnx']): string {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', modules.length > 0 ? `import ${modules.join(', ')}` : 'pass'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${python} cannot be run (${probe.error.message})` : `${python} cannot import ${modules.join(' and ')}`;
    throw new PythonMissing(`${why}.\nInstall them, or point $PYTHON at an interpreter that has them:\n  ${INSTALL_HINT}`);
  }
  return python;
}
