import { beforeAll, describe, expect, it } from 'vitest';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { checkGolden, reportInputOf, type CaseCheck } from '../../src/parity/checkGoldens.ts';
import { mainJobPairs } from '../../src/parity/pairs.ts';
import { mismatchMessage } from '../../src/report/message.ts';
import { sideLabel, type ComparisonRecord } from '../../src/tolerance/compare.ts';
import { attachReport } from '../../src/vitest/meta.ts';

// The main job (`npm start`, `gradparity check`) run on every golden, one test per oracle pair.
// What these tests attach is exactly what the main job reports, so the report `npm test` writes
// is the report `npm start` writes: both come from checkGolden and nothing else.

const goldens = listGoldenFiles().map(loadGolden);
const label = (r: Pick<ComparisonRecord, 'actual' | 'expected'>) => `${sideLabel(r.actual)} vs ${sideLabel(r.expected)}`;

it('finds goldens to check', () => {
  expect(goldens.length).toBeGreaterThan(0);
});

describe.each(goldens.map((g) => [g.name, g] as const))('%s', (_, golden) => {
  let check: CaseCheck;
  beforeAll(async () => {
    check = await checkGolden(golden);
  });
  const pairs = mainJobPairs(golden);

  it.for(pairs.map((p) => [label(p), p] as const))('%s: every compared tensor within its derived bound', ([pairLabel, pair], { task }) => {
    const records = reportInputOf([check], []).records.filter((r) => label(r) === pairLabel);
    attachReport(task, { records });
    const gradients = 1 + Object.keys(golden.inputs.params).length;
    // Against torch and onnxruntime: loss, logits, one output per module and every gradient.
    // Finite differences: the directions, and every gradient's elements after a fallback.
    const fd = pair.actual.source === 'fd' ? check.fd[pair.actual.dtype as 'float32' | 'float64'] : undefined;
    // onnxruntime lacks some float64 kernels (Erf, Softplus): then the pair does not run, and the
    // report says so instead.
    const onnxNotRun = [pair.actual.source, pair.expected.source].includes('onnx') && check.notes.some((n) => n.startsWith(`onnxruntime: not run for ${golden.name}: `));
    if (onnxNotRun) {
      expect(records).toEqual([]);
      expect(golden.onnx.dtype).toBe('float64');
      return;
    }
    expect(records.length).toBe(fd === undefined ? 2 + golden.spec.modules.length + gradients : 1 + (fd.fellBack ? gradients : 0));
    const failures = records.filter((r) => r.verdict === 'fail');
    expect(failures.length, failures.map(mismatchMessage).join('\n\n')).toBe(0);
  });

  it('compares no pair that is not listed, and attaches its drift explanations, plots and notes', ({ task }) => {
    const { records, drifts, sweeps, notes } = reportInputOf([check], []);
    const listed = new Set(pairs.map(label));
    expect(records.map(label).filter((l) => !listed.has(l))).toEqual([]);
    attachReport(task, { drifts, sweeps, notes });
  });
});
