// `npm run graph-bounds`: the graph-derived bounds (src/graph/) on every committed golden. Prints,
// per case, the ops of its ONNX graph and the worst share of the graph bound each pair uses (torch
// float32 against float64, the TS model against torch, onnxruntime against torch), then the ratio
// of the graph bound to the op records' bound, element by element, and every element where they
// are more than 2× apart. Exit 1 if torch or onnxruntime leaves the graph bound: the graph bound
// claims to cover implementations of the graph. The TS model is reported too; it is one only up to
// its order of operations (docs/tolerance-policy.md §8).
import { listGoldenFiles } from '../src/golden/files.ts';
import { loadGolden } from '../src/golden/load.ts';
import { loadOnnxGraph } from '../src/graph/onnxFile.ts';
import { graphBoundRecords, graphToRecordRatios } from '../src/parity/graphBounds.ts';
import { referenceRuns } from '../src/parity/compare.ts';
import { percent, sci, textTable } from '../src/report/format.ts';
import { worstShareByPair } from '../src/report/summary.ts';
import { sideLabel, worstShare } from '../src/tolerance/compare.ts';

const dir = process.argv[2] ?? 'goldens';
const rows: string[][] = [];
const ratios: number[] = [];
const apart: string[] = [];
const failures: string[] = [];
const PAIRS = ['torch:float32~torch:float64', 'ts:float32~torch:float32', 'ts:float64~torch:float64', 'onnx~torch'];
for (const file of listGoldenFiles(dir)) {
  const golden = loadGolden(file);
  const ops = new Set(loadOnnxGraph(golden.onnx.path).nodes.map((n) => n.op));
  const ts = referenceRuns(golden);
  const records = await graphBoundRecords(golden, ts);
  const worst = worstShareByPair(records, (r) => (r.actual.source === 'onnx' ? 'onnx~torch' : `${sideLabel(r.actual)}~${sideLabel(r.expected)}`));
  for (const r of records.filter((r) => r.verdict === 'fail')) failures.push(`${golden.name} ${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)}: ${percent(worstShare(r))} of the graph bound`);
  const elements = records.reduce((n, r) => n + r.numel, 0);
  rows.push([golden.name, String(ops.size), String(elements), ...PAIRS.map((p) => (worst.has(p) ? percent(worst.get(p)!) : '-'))]);
  for (const r of graphToRecordRatios(golden, ts)) {
    const ratio = r.graph / r.record;
    ratios.push(ratio);
    if (!(ratio <= 2 && ratio >= 0.5)) apart.push(`${golden.name} ${r.key}[${r.index}] ${r.dtype}: graph ${sci(r.graph)}, records ${sci(r.record)}`);
  }
}
console.log(textTable(['case', 'ops', 'elements', ...PAIRS.map((p) => `${p} share`)], rows));
ratios.sort((a, b) => a - b);
const at = (q: number) => sci(ratios[Math.floor(q * (ratios.length - 1))]!);
console.log(`\ngraph bound ÷ op records' bound, ${ratios.length} elements: min ${at(0)}, 10% ${at(0.1)}, median ${at(0.5)}, 90% ${at(0.9)}, max ${at(1)}`);
console.log(`${apart.length} elements more than 2× apart${apart.length > 0 ? ':' : ''}`);
for (const line of apart) console.log(`  ${line}`);
if (failures.length > 0) console.log(`\noutside the graph bound (docs/tolerance-policy.md §8 explains the TS ones):\n${failures.map((f) => `  ${f}`).join('\n')}`);
process.exitCode = failures.some((f) => !f.includes(' ts:')) ? 1 : 0;
