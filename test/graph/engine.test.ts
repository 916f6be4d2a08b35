import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { graphBounds } from '../../src/graph/goldenGraph.ts';
import { loadOnnxGraph, type Graph } from '../../src/graph/onnxFile.ts';
import { propagate } from '../../src/graph/propagate.ts';
import { GRAPH_OPS } from '../../src/graph/rules/registry.ts';
import { exactValue } from '../../src/graph/values.ts';
import { graphBoundRecords, graphToRecordRatios } from '../../src/parity/graphBounds.ts';
import { referenceRuns } from '../../src/parity/compare.ts';
import { gradKey } from '../../src/results/keys.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { compareTensors, sideLabel, worstShare } from '../../src/tolerance/compare.ts';

const goldens = listGoldenFiles().map(loadGolden);

describe('the graph bound engine on every committed ONNX graph', () => {
  it('has a rule for every op the graphs use, each citing a section of the tolerance policy', () => {
    const used = new Set(goldens.flatMap((g) => loadOnnxGraph(g.onnx.path).nodes.map((n) => n.op)));
    expect([...used].filter((op) => !GRAPH_OPS.has(op))).toEqual([]);
    const policy = readFileSync('docs/tolerance-policy.md', 'utf8');
    for (const rule of GRAPH_OPS.values()) expect(policy, `${rule.op} cites ${rule.policy}`).toContain(`### ${rule.policy.replace('§', '')} `);
  });

  // The evaluation is float64 arithmetic on the graph's own constants (float32 ones in a float32
  // graph): an implementation of the graph at least as accurate as either side.
  it.each(goldens.map((g) => [g.name, g] as const))('%s: its evaluation is torch\'s run in the graph\'s precision, within the bound', (_, golden) => {
    const dtype = golden.onnx.dtype as DType;
    for (const [key, v] of graphBounds(golden, [dtype, dtype])) {
      const torch = golden.expected[dtype].results.get(key)!;
      const record = compareTensors({ case: golden.name, tensor: key, actual: { source: 'graph', dtype }, expected: { source: 'torch', dtype } }, { shape: v.shape, data: v.data }, torch, v.bound);
      expect(record.verdict, `${key}: ${worstShare(record)}`).toBe('pass');
    }
  });
});

describe('soundness: the pairs the graph bound covers stay inside it', () => {
  // TS's cross-entropy scales by 1/D after forming products of tiny class weights, so its
  // intermediates underflow where the graph's (and torch's) do not: an order the graph bound does
  // not model (docs/tolerance-policy.md §8). The record-derived bound models it and covers it.
  const REORDERED_UNDERFLOW = 'grad.0.weight ts:float32~torch:float32 on ce-underflow-small-weight';

  it.each(goldens.map((g) => [g.name, g] as const))('%s: torch float32 against float64, onnxruntime against torch, TS against torch', async (_, golden) => {
    const records = await graphBoundRecords(golden);
    expect(records.length).toBeGreaterThan(0);
    const failed = records.filter((r) => r.verdict === 'fail').map((r) => `${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)} on ${golden.name}`);
    expect(failed).toEqual(golden.name === 'ce-underflow-small-weight' ? [REORDERED_UNDERFLOW] : []);
  });
});

describe('tightness: a planted error is caught by the graph bound', () => {
  it.each(goldens.flatMap((g) => [[g.name, 'float32', 1e-2], [g.name, 'float64', 1e-9]] as const))('%s: %s, one gradient element off by %s', (_, dtype, rel) => {
    const golden = goldens.find((g) => g.name === _)!;
    const ts = referenceRuns(golden)[dtype as DType];
    const bounds = graphBounds(golden, [dtype as DType, dtype as DType]);
    // The largest element of the first parameter gradient with a nonzero element off every kink:
    // on a kink, without both sides' values, the graph allows the whole gradient (the branch
    // rule), as the records do when they lack them.
    const candidates = Object.keys(golden.inputs.params).map((p) => {
      const key = gradKey(p);
      const data = Float64Array.from(ts.results.get(key)!.data);
      const smooth = Array.from(data.keys()).filter((k) => bounds.get(key)!.bound.parts.branch[k] === 0 && data[k] !== 0);
      return { key, data, smooth };
    });
    const { key, data, smooth } = candidates.find((c) => c.smooth.length > 0)!;
    const bound = bounds.get(key)!;
    const i = smooth.reduce((best, k) => (Math.abs(data[k]!) > Math.abs(data[best]!) ? k : best), smooth[0]!);
    data[i] = data[i]! * (1 + rel);
    const record = compareTensors({ case: golden.name, tensor: key, actual: { source: 'ts', dtype }, expected: { source: 'torch', dtype } }, { shape: bound.shape, data }, golden.expected[dtype as DType].results.get(key)!, bound.bound);
    expect(record.verdict).toBe('fail');
  });
});

describe('the graph bound beside the op records\' bound', () => {
  it('agrees within 2× on all but the elements the policy explains', () => {
    const ratios = goldens.flatMap((g) => graphToRecordRatios(g).map((r) => ({ ...r, case: g.name })));
    expect(ratios.length).toBeGreaterThan(50_000);
    const sorted = ratios.map((r) => r.graph / r.record).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeCloseTo(1, 1);
    const apart = ratios.filter((r) => !(r.graph <= 2 * r.record && r.record <= 2 * r.graph));
    // Where both sides pass exact zeros, one bound allows nothing and the other a few subnormal
    // spacings (the graph sums exact zeros exactly; the records' bias sums keep an underflow
    // allowance; a Where or product of the graph keeps one where the records do not); on
    // ce-underflow-small-weight the records allow TS's order's underflow.
    const subnormal = (r: { graph: number; record: number }) => (r.record === 0 && r.graph < 1e-40) || (r.graph === 0 && r.record < 1e-40);
    const explained = apart.filter((r) => subnormal(r) || r.case === 'ce-underflow-small-weight');
    expect(apart.length).toBeLessThan(100);
    expect(apart.filter((r) => !explained.includes(r))).toEqual([]);
  });
});

describe('bad graphs', () => {
  const graphWith = (op: string): Graph => ({
    file: 'made-up.onnx',
    opset: 17,
    inputs: [{ name: 'x', type: 'float' }],
    outputs: ['y'],
    initializers: new Map(),
    nodes: [{ name: '/conv', op, inputs: ['x'], outputs: ['y'], attributes: new Map() }],
  });

  it('an op without a rule is an error naming the op, the node and the file, never a zero bound', () => {
    const x = exactValue('float', [1], new Float64Array([1]));
    expect(() => propagate(graphWith('ConvTranspose'), new Map([['x', x]]), ['float32', 'float32'], 'float32')).toThrow(InputError);
    expect(() => propagate(graphWith('ConvTranspose'), new Map([['x', x]]), ['float32', 'float32'], 'float32')).toThrow(/^made-up\.onnx: graph\.node\[0\] \(ConvTranspose \/conv\): no bound rule for the ONNX op ConvTranspose/);
  });

  it('a missing input, a missing file and a corrupt file name what is wrong', () => {
    expect(() => propagate(graphWith('Relu'), new Map(), ['float32', 'float32'], 'float32')).toThrow('made-up.onnx: graph input x was not given a value');
    expect(() => loadOnnxGraph('goldens/onnx/no-such.onnx')).toThrow('goldens/onnx/no-such.onnx: cannot read the ONNX file (ENOENT)');
    const corrupt = join(tmpdir(), 'gradparity-corrupt.onnx');
    writeFileSync(corrupt, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]));
    expect(() => loadOnnxGraph(corrupt)).toThrow(new RegExp(`^${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model`));
  });
});
