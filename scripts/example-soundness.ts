// `npm run example-soundness [-- N]`: captures N random instances (default 50) of every example
// model (examples/models/cases.py, seeds seed … seed + N − 1) into a temporary folder, and holds
// torch float32 against float64, onnxruntime against torch, and the model's hand-written TS
// implementation against torch in each precision to the bound derived from the model's own
// graph. Prints, per model, the instances, the checked elements and the worst share per pair;
// exit 1 on any element outside its bound. A measurement, not a test: it takes a minute or two.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EXAMPLE_MODELS } from '../examples/models/index.ts';
import { loadModuleGolden } from '../src/golden/moduleGolden.ts';
import { checkModuleGolden, compareWithModuleGolden } from '../src/parity/moduleParity.ts';
import { percent, textTable } from '../src/report/format.ts';
import { worstShareByPair } from '../src/report/summary.ts';
import { sideLabel, worstShare, type ComparisonRecord } from '../src/tolerance/compare.ts';
import { findPython } from '../src/capture/python.ts';

const instances = Number(process.argv[2] ?? 50);
const capture = resolve(import.meta.dirname, '..', 'python', 'capture.py');
const dir = mkdtempSync(join(tmpdir(), 'gradparity-soundness-'));
try {
  const started = performance.now();
  const run = spawnSync(findPython(['torch', 'onnx']), [capture, 'examples/models/cases.py', '--out', dir, '--instances', String(instances)], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: dirname(capture) } });
  if (run.status !== 0) throw new Error(`capture failed: ${run.stderr.trim().split('\n').at(-1)}`);
  console.log(`captured ${instances} instances of ${EXAMPLE_MODELS.length} models in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const rows: string[][] = [];
  const outside: string[] = [];
  const pairs = ['torch:float32~torch:float64', 'onnx:float32~torch:float32', 'onnx:float64~torch:float64', 'yours:float32~torch:float32', 'yours:float64~torch:float64'];
  for (const model of EXAMPLE_MODELS) {
    const records: ComparisonRecord[] = [];
    for (let k = 0; k < instances; k++) {
      const golden = loadModuleGolden(join(dir, `${model.name}-i${k}.json`));
      const mine = [...(await checkModuleGolden(golden)), ...(['float32', 'float64'] as const).flatMap((dtype) => compareWithModuleGolden(golden, dtype, model.run(golden, dtype)))];
      for (const r of mine.filter((r) => r.verdict === 'fail')) outside.push(`${golden.name} ${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)}: ${percent(worstShare(r))}`);
      records.push(...mine);
    }
    const worst = worstShareByPair(records);
    const elements = records.reduce((n, r) => n + r.numel, 0);
    rows.push([model.name, String(instances), String(elements), ...pairs.map((p) => (worst.has(p) ? percent(worst.get(p)!) : '-'))]);
  }
  console.log(textTable(['model', 'instances', 'elements', ...pairs], rows));
  console.log(outside.length === 0 ? 'every element of every instance within its graph-derived bound' : `outside the bound:\n${outside.map((o) => `  ${o}`).join('\n')}`);
  process.exitCode = outside.length === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
