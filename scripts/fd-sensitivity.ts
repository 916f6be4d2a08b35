// `npm run fd-sensitivity [-- N]`: how often finite differences catch a planted gradient error,
// and how often they raise a false alarm, on N random MLPs (default 40) of this script's own
// generator: 1–4 hidden layers (ReLU or tanh) of widths 2–64, batches 1–24, inputs 2–32 wide,
// 2–10 classes, class-index or probability targets, mean or sum. On the TS analytic gradient of
// each it plants, tensor by tensor, ×1.1 and ×1.01 on the largest-magnitude element, ×1.1 on a
// random nonzero element (where directions that favour large elements help least), a zeroed
// bias gradient, and two swapped elements (the largest with the smallest), and counts the planted
// errors each mode misses, in float32 and float64. False failures are counted over every element
// (full mode) and every direction (directional mode) of the unmodified gradients. A measurement,
// not a test: docs/tolerance-policy.md §6 reports its table.
import { finiteDifferenceCheck, type FdProblem } from '../src/fd/engine.ts';
import { seededRandom } from '../src/fd/random.ts';
import { modelProblemData, problemFromData } from '../src/fd/modelProblem.ts';
import { percent, textTable } from '../src/report/format.ts';
import { DTYPES, type DType } from '../src/tensor/dtype.ts';
import { cast, type NamedTensors } from '../src/tensor/tensor.ts';
import { randomMlp } from './lib/randomMlp.ts';

const problems = Number(process.argv[2] ?? 40);

interface Planted {
  readonly kind: string;
  readonly tensor: string;
  readonly analytic: NamedTensors;
}

/** Every planted error of one problem's gradient, one at a time; `random` picks the random elements. */
function plantedErrors(analytic: NamedTensors, random: () => number): Planted[] {
  const out: Planted[] = [];
  const edit = (kind: string, name: string, change: (data: Float64Array) => boolean) => {
    const copy = Object.fromEntries(Object.entries(analytic).map(([k, t]) => [k, cast(t, 'float64')]));
    if (change(copy[name]!.data as Float64Array)) out.push({ kind, tensor: name, analytic: copy });
  };
  for (const [name, t] of Object.entries(analytic)) {
    const g = Array.from(t.data);
    const magnitudes = g.map(Math.abs);
    const largest = magnitudes.indexOf(Math.max(...magnitudes));
    const smallest = magnitudes.indexOf(Math.min(...magnitudes));
    // An error exists only where the gradient is not 0 (×1.1 of 0 is no error at all).
    if (g[largest] !== 0) {
      edit('×1.1', name, (d) => ((d[largest] = d[largest]! * 1.1), true));
      edit('×1.01', name, (d) => ((d[largest] = d[largest]! * 1.01), true));
      const nonzero = g.flatMap((v, i) => (v === 0 ? [] : [i]));
      const anywhere = nonzero[Math.floor(random() * nonzero.length)]!;
      edit('×1.1 anywhere', name, (d) => ((d[anywhere] = d[anywhere]! * 1.1), true));
    }
    if (name.endsWith('.bias') && g.some((v) => v !== 0)) edit('zeroed bias', name, (d) => (d.fill(0), true));
    if (g[largest] !== g[smallest]) edit('swapped', name, (d) => (([d[largest], d[smallest]] = [d[smallest]!, d[largest]!]), true));
  }
  return out;
}

const rows = new Map<string, { planted: number; missed: number }>();
const tally = (key: string, missed: boolean) => {
  const row = rows.get(key) ?? { planted: 0, missed: 0 };
  row.planted++;
  if (missed) row.missed++;
  rows.set(key, row);
};
const falseFailures = new Map<string, { checks: number; failures: number }>();
const started = performance.now();
for (let seed = 1; seed <= problems; seed++) {
  const model = randomMlp(seed);
  for (const dtype of DTYPES) {
    const data = modelProblemData(model, dtype);
    const problem: FdProblem = problemFromData(data);
    const full = finiteDifferenceCheck(problem, { mode: 'full' });
    const directional = finiteDifferenceCheck(problem, { mode: 'directional', fallBack: false });
    for (const [mode, checks] of [['full', full.elements], ['directional', directional.directions]] as const) {
      const key = `${dtype} ${mode}`;
      const row = falseFailures.get(key) ?? { checks: 0, failures: 0 };
      row.checks += checks.length;
      row.failures += checks.filter((c) => c.verdict === 'fail').length;
      falseFailures.set(key, row);
    }
    for (const planted of plantedErrors(data.analytic, seededRandom(seed))) {
      const variant: FdProblem = { ...problem, analytic: planted.analytic };
      // Full mode: the numeric side does not depend on the gradient, so only the edited tensor is re-checked.
      const onlyTensor: FdProblem = { ...variant, point: { [planted.tensor]: variant.point[planted.tensor]! }, objective: (p) => problem.objective({ ...problem.point, ...p }) };
      tally(`${dtype} full ${planted.kind}`, finiteDifferenceCheck(onlyTensor, { mode: 'full' }).verdict === 'pass');
      tally(`${dtype} directional ${planted.kind}`, finiteDifferenceCheck(variant, { mode: 'directional', fallBack: false }).verdict === 'pass');
    }
  }
}
const seconds = (performance.now() - started) / 1000;
const kinds = ['×1.1', '×1.01', '×1.1 anywhere', 'zeroed bias', 'swapped'];
const table = (['float32', 'float64'] as DType[]).flatMap((dtype) =>
  (['full', 'directional'] as const).map((mode) => {
    const ff = falseFailures.get(`${dtype} ${mode}`)!;
    return [
      dtype, mode,
      ...kinds.map((k) => {
        const r = rows.get(`${dtype} ${mode} ${k}`);
        return r === undefined ? '-' : `${percent(r.missed / r.planted)} of ${r.planted}`;
      }),
      `${ff.failures} of ${ff.checks}`,
    ];
  }),
);
console.log(`${problems} random MLPs, ${seconds.toFixed(0)} s\n`);
console.log(textTable(['dtype', 'mode', ...kinds.map((k) => `missed ${k}`), 'false failures'], table));
const failed = [...falseFailures.values()].some((r) => r.failures > 0) || [...falseFailures.values()].some((r) => r.checks === 0);
process.exitCode = failed ? 1 : 0;
