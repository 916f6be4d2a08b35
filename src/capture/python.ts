import { spawnSync } from 'node:child_process';

export const INSTALL_HINT = [
  'Debian/Ubuntu: sudo apt-get install -y python3-torch python3-onnx python3-jsonschema   (then PYTHON=/usr/bin/python3)',
  'elsewhere:     python3 -m pip install "torch==1.13.*" "onnx==1.12.*" jsonschema   (then PYTHON=$(which python3))',
].join('\n  ');

export class PythonMissing extends Error {
  override name = 'PythonMissing';
}

/** What the generator imports: PyTorch, onnx, and jsonschema (it validates the case specs with their JSON Schema). */
export const GENERATOR_MODULES = ['torch', 'onnx', 'jsonschema'] as const;

/**
 * The interpreter that runs the generator: $PYTHON, else /usr/bin/python3 (the `python3` first
 * on PATH may be another one). With `modules`, it must import them too.
 */
export function findPython(modules: readonly string[] = GENERATOR_MODULES): string {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', modules.length > 0 ? `import ${modules.join(', ')}` : 'pass'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${python} cannot be run (${probe.error.message})` : `${python} cannot import ${modules.join(' and ')}`;
    throw new PythonMissing(`${why}.\nInstall them, or point $PYTHON at an interpreter that has them:\n  ${INSTALL_HINT}`);
  }
  return python;
}
