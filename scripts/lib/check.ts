import { existsSync, readFileSync } from 'node:fs';
import { goldenFileNames } from '../../src/golden/files.ts';
import { join } from 'node:path';
import { InputError } from '../../src/errors.ts';
import { loadGolden, type GoldenCase } from '../../src/golden/load.ts';
import { OnnxOracle } from '../../src/onnx/oracle.ts';
import { comparePair, referenceRuns } from '../../src/parity/compare.ts';
import { mismatchMessage } from '../../src/report/message.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';
import { describeChange, goldenTensors, metadataChanges, tensorChanges } from './goldenDiff.ts';

export interface CheckOutcome {
  readonly failures: string[];
  readonly warnings: string[];
}

const sameBytes = (a: string, b: string) => existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));

function tryLoad(file: string, failures: string[]): GoldenCase | undefined {
  try {
    return loadGolden(file);
  } catch (err) {
    if (err instanceof InputError) {
      failures.push(err.message);
      return undefined;
    }
    throw err;
  }
}

/**
 * Holds the committed goldens and graphs to a fresh regeneration. With the torch version of the
 * provenance they must be identical byte for byte. With another torch version, the inputs must
 * still be identical and torch's results (and the fresh graph's, run in onnxruntime) must agree
 * with the committed ones within the bounds derived for two torch runs in the same precision.
 */
export async function checkAgainstFresh(committedDir: string, freshDir: string): Promise<CheckOutcome> {
  const failures: string[] = [];
  const warnings: string[] = [];
  if (!sameBytes(join(committedDir, 'schema.json'), join(freshDir, 'schema.json'))) {
    failures.push(`${join(committedDir, 'schema.json')} is not the JSON Schema of src/golden/schema.ts; run npm run goldens`);
  }
  const committed = goldenFileNames(committedDir);
  const fresh = goldenFileNames(freshDir);
  for (const f of committed.filter((f) => !fresh.includes(f))) failures.push(`${join(committedDir, f)}: no case in scripts/cases.json generates it any more`);
  for (const f of fresh.filter((f) => !committed.includes(f))) failures.push(`${join(committedDir, f)}: missing; scripts/cases.json has this case`);

  for (const f of committed.filter((f) => fresh.includes(f))) {
    const [oldFile, newFile] = [join(committedDir, f), join(freshDir, f)];
    const name = f.replace(/\.json$/, '');
    // Each precision's graph: onnx/<case>.<dtype>.onnx.
    const graphs = DTYPES.map((d) => [join(committedDir, 'onnx', `${name}.${d}.onnx`), join(freshDir, 'onnx', `${name}.${d}.onnx`)] as const);
    const graphsSame = graphs.every(([a, b]) => sameBytes(a, b));
    if (sameBytes(oldFile, newFile) && graphsSame) continue;
    const before = tryLoad(oldFile, failures);
    const after = tryLoad(newFile, failures);
    if (before === undefined || after === undefined) continue;

    if (before.provenance.torch === after.provenance.torch) {
      const changes = tensorChanges(before, after);
      const fields = metadataChanges(oldFile, newFile).filter((m) => m !== 'onnx');
      for (const c of changes) failures.push(`${oldFile}: ${describeChange(c)} against a fresh regeneration`);
      if (fields.length > 0) failures.push(`${oldFile}: ${fields.join(', ')} differ from a fresh regeneration`);
      for (const [oldGraph, newGraph] of graphs) if (!sameBytes(oldGraph, newGraph)) failures.push(`${oldGraph}: differs from a fresh export`);
      if (changes.length === 0 && fields.length === 0 && graphsSame) failures.push(`${oldFile}: differs from a fresh regeneration in formatting only`);
      continue;
    }

    warnings.push(`${oldFile}: generated with torch ${before.provenance.torch}, regenerated with torch ${after.provenance.torch}: comparing within derived bounds instead of bit for bit`);
    const inputs = goldenTensors(before).filter(([p]) => !p.startsWith('expected'));
    const freshInputs = new Map(goldenTensors(after));
    for (const [path, t] of inputs) {
      const u = freshInputs.get(path);
      if (u === undefined || !t.data.every((v, i) => Object.is(v, u.data[i]))) failures.push(`${oldFile}: ${path}: the inputs themselves changed with the torch version; regenerate and review`);
    }
    const ts = referenceRuns(before);
    for (const d of DTYPES) {
      const pair = { actual: { source: `torch ${after.provenance.torch}`, dtype: d }, expected: { source: `torch ${before.provenance.torch}`, dtype: d } };
      for (const r of comparePair(before, ts, pair, after.expected[d].results, before.expected[d].results)) if (r.verdict === 'fail') failures.push(mismatchMessage(r));
    }
    const graph = await OnnxOracle.open(after);
    const onnxPair = { actual: { source: 'fresh onnx', dtype: after.onnx.dtype }, expected: { source: `torch ${before.provenance.torch}`, dtype: after.onnx.dtype } };
    for (const r of comparePair(before, ts, onnxPair, await graph.run(), before.expected[after.onnx.dtype].results)) if (r.verdict === 'fail') failures.push(mismatchMessage(r));
    await graph.release();
  }
  return { failures, warnings };
}
