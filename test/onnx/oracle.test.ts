import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { OnnxOracle, onnxOracleFor } from '../../src/onnx/oracle.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';

const goldens = listGoldenFiles().map(loadGolden);

describe.each(goldens.map((g) => [g.name, g] as const))('%s through onnxruntime', (_, golden) => {
  it('has a graph in the case\'s precision', () => {
    expect(golden.onnx.dtype).toBe(golden.dtype);
  });
});

describe('the onnxruntime session', () => {
  it('gives bit-identical results on two runs of the same session', async () => {
    const golden = goldens.find((g) => g.name === 'wide256-class-mean')!;
    const oracle = await onnxOracleFor(golden);
    const [first, second] = [await oracle.run(), await oracle.run()];
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [key, t] of first) expect(Array.from(second.get(key)!.data), key).toEqual(Array.from(t.data));
  });

  it('is created once per graph', async () => {
    const golden = goldens[0]!;
    expect((await onnxOracleFor(golden)).session).toBe((await onnxOracleFor(golden)).session);
  });
});

describe('a bad graph is rejected with a message naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradparity-onnx-'));
  mkdirSync(join(dir, 'onnx'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const seed = 'seed-3-4-2';

  /** A copy of a golden and its graph in a scratch directory, optionally edited. */
  function scratchCase(edit: { graphBytes?: (b: Buffer) => Buffer; golden?: (g: any) => void; graphFrom?: string } = {}) {
    const name = seed;
    const text = JSON.parse(readFileSync(`goldens/${name}.json`, 'utf8'));
    // Both graphs are copied; the oracle runs the one in the case's precision (float32 for both cases used here).
    for (const d of DTYPES) {
      const graph = readFileSync(`goldens/onnx/${edit.graphFrom ?? name}.${d}.onnx`);
      writeFileSync(join(dir, 'onnx', `${name}.${d}.onnx`), edit.graphBytes && d === 'float32' ? edit.graphBytes(Buffer.from(graph)) : graph);
    }
    edit.golden?.(text);
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(text));
    return loadGolden(join(dir, `${name}.json`));
  }

  async function openError(golden: ReturnType<typeof scratchCase>): Promise<InputError> {
    const result = await OnnxOracle.open(golden).then(
      () => null,
      (err: unknown) => err,
    );
    expect(result).toBeInstanceOf(InputError);
    return result as InputError;
  }

  it('one flipped byte: the SHA-256 no longer matches', async () => {
    const golden = scratchCase({ graphBytes: (b) => (b.writeUInt8(b.readUInt8(b.length >> 1) ^ 0x01, b.length >> 1), b) });
    const err = await openError(golden);
    expect(err.message).toMatch(new RegExp(`^${join(dir, 'onnx', `${seed}.float32.onnx`)}: SHA-256 is [0-9a-f]{64}, but .*${seed}\\.json records [0-9a-f]{64}: the graph changed after it was exported$`));
  });

  it('a missing graph', async () => {
    const golden = scratchCase();
    const missing = { ...golden, onnx: { ...golden.onnx, path: join(dir, 'onnx', 'absent.onnx') } };
    expect((await openError(missing)).message).toMatch(/absent\.onnx: cannot read the ONNX graph of .*seed-3-4-2\.json \(ENOENT\)$/);
  });

  it('a corrupt graph whose hash was updated too: onnxruntime\'s own reason', async () => {
    const garbage = Buffer.from('this is not a protobuf');
    const golden = scratchCase({
      graphBytes: () => garbage,
      golden: (g) => (g.onnx.float32.sha256 = createHash('sha256').update(garbage).digest('hex')),
    });
    expect((await openError(golden)).message).toMatch(/seed-3-4-2\.float32\.onnx: onnxruntime cannot load the graph: .*(protobuf|Protobuf)/);
  });

  it('another case\'s graph: inputs that do not match the golden', async () => {
    const other = readFileSync('goldens/onnx/batch7-class-mean.float32.onnx');
    const golden = scratchCase({
      graphFrom: 'batch7-class-mean',
      golden: (g) => (g.onnx.float32.sha256 = createHash('sha256').update(other).digest('hex')),
    });
    expect((await openError(golden)).message).toMatch(/seed-3-4-2\.float32\.onnx: graph input x has shape \[7, 8\], the golden's is \[1, 3\] \(golden .*seed-3-4-2\.json\)$/);
  });
});
