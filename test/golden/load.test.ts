import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadGolden, parseGolden } from '../../src/golden/load.ts';
import { goldenJsonSchema } from '../../src/golden/schema.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';

const SEED = 'goldens/seed-3-4-2.json';
const seedText = readFileSync(SEED, 'utf8');

/** Applies an edit to the parsed seed golden and returns the error parsing it raises. */
function errorAfter(edit: (g: any) => void): InputError {
  const g = JSON.parse(seedText);
  edit(g);
  try {
    parseGolden(JSON.stringify(g), SEED);
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('the edited golden loaded without error');
}

describe('committed goldens', () => {
  it.each(listGoldenFiles())('%s loads, and every tensor matches the SHA-256 torch wrote', (file) => {
    // The loader recomputes each tensor's digest over its bytes after JSON.parse: a float that did
    // not survive the decimal round trip bit-exactly would fail here.
    const golden = loadGolden(file);
    expect(golden.provenance.generator).toBe('scripts/generate_goldens.py');
    expect(file).toBe(`goldens/${golden.name}.json`);
  });

  it('keep a negative zero through JSON, typed array and digest', () => {
    const g = JSON.parse(seedText);
    const grad = g.expected.float32.tensors['grad.0.weight'];
    expect(grad.data[0]).toBe(0);
    const bytes = new Float32Array(grad.data);
    bytes[0] = -0;
    grad.sha256 = createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('hex');
    // JSON.stringify writes -0 as 0, so write it the way Python's json module does.
    grad.data[0] = 'NEGATIVE_ZERO';
    const text = JSON.stringify(g).replace('"NEGATIVE_ZERO"', '-0.0');
    expect(Object.is(parseGolden(text, SEED).expected.float32.results.get('grad.0.weight')!.data[0], -0)).toBe(true);
  });

  it('reproduce the notebook\'s PyTorch printout in the seed case', () => {
    const { results } = loadGolden(SEED).expected.float32;
    const rounded = (name: string) => Array.from(results.get(`grad.${name}`)!.data, (v) => Number(v.toFixed(4)) + 0);
    expect(rounded('x')).toEqual([-0.0454, 0.2271, -0.1817]);
    expect(rounded('2.bias')).toEqual([0.2524, -0.2524]);
    expect(rounded('0.bias')).toEqual([0, -0.2271, 0, 0]);
  });

  it('goldens/schema.json is the JSON Schema generated from the zod schema', () => {
    expect(JSON.parse(readFileSync('goldens/schema.json', 'utf8'))).toEqual(goldenJsonSchema());
  });
});

describe('a damaged golden is rejected with the file and the JSON path', () => {
  it('missing file', () => {
    expect(() => loadGolden('goldens/no-such-case.json')).toThrow('goldens/no-such-case.json: cannot read golden file (ENOENT)');
  });

  it('truncated JSON', () => {
    expect(() => parseGolden(seedText.slice(0, 500), SEED)).toThrow(/^goldens\/seed-3-4-2\.json: not valid JSON/);
  });

  it('wrong schema version', () => {
    expect(errorAfter((g) => (g.schemaVersion = 1)).message).toMatch(/^goldens\/seed-3-4-2\.json: schemaVersion: /);
  });

  it('one number changed by one ulp', () => {
    const err = errorAfter((g) => (g.expected.float32.tensors['grad.x'].data[0] = -0.045427009463310242));
    expect(err.message).toBe('goldens/seed-3-4-2.json: expected.float32.tensors["grad.x"].sha256: does not match data: the numbers changed after torch wrote them');
  });

  it('a value that is not a float32 in a float32 tensor', () => {
    expect(errorAfter((g) => (g.parameters['0.bias'].data[1] = 0.1)).message).toBe(
      'goldens/seed-3-4-2.json: parameters["0.bias"].data[1]: 0.1 is not a float32 value',
    );
  });

  it('data length that does not match the shape', () => {
    expect(errorAfter((g) => g.parameters['2.weight'].data.pop()).message).toBe(
      'goldens/seed-3-4-2.json: parameters["2.weight"].data: has 7 values, shape [2, 4] holds 8',
    );
  });

  it('a missing parameter, and one the model does not have', () => {
    expect(errorAfter((g) => delete g.parameters['2.bias']).message).toBe('goldens/seed-3-4-2.json: parameters["2.bias"]: is missing');
    expect(errorAfter((g) => (g.parameters['9.weight'] = g.parameters['2.bias'])).message).toMatch(/parameters\["9\.weight"\]: is not a tensor of this model/);
  });

  it('a wrong dtype', () => {
    expect(errorAfter((g) => (g.expected.float64.tensors.logits.dtype = 'float32')).message).toBe(
      'goldens/seed-3-4-2.json: expected.float64.tensors.logits.dtype: is float32, expected float64',
    );
  });

  it('an unknown op, and a module missing a field its op needs', () => {
    expect(errorAfter((g) => (g.mlp.model.modules[1].op = 'swish')).message).toMatch(/^goldens\/seed-3-4-2\.json: mlp\.model\.modules\[1\]\.op: /);
    expect(errorAfter((g) => delete g.mlp.model.modules[0].out).message).toMatch(/^goldens\/seed-3-4-2\.json: mlp\.model\.modules\[0\]\.out: /);
  });

  it('a result the model does not produce, and a missing one', () => {
    expect(errorAfter((g) => (g.expected.float32.tensors['out.7'] = g.expected.float32.tensors['out.0'])).message).toMatch(/expected\.float32\.tensors\["out\.7"\]: is not a tensor of this model/);
    expect(errorAfter((g) => delete g.expected.float64.tensors['out.1']).message).toBe('goldens/seed-3-4-2.json: expected.float64.tensors["out.1"]: is missing');
  });

  it('an unreduced loss without its upstream gradient, and a reduced one with one', () => {
    const file = 'goldens/ce-none-f64.json';
    const none = JSON.parse(readFileSync(file, 'utf8'));
    delete none.inputs.lossGrad;
    expect(() => parseGolden(JSON.stringify(none), file)).toThrow('goldens/ce-none-f64.json: inputs.lossGrad: is missing: an unreduced loss needs the upstream gradient of shape [6]');
    expect(errorAfter((g) => (g.inputs.lossGrad = g.parameters['2.bias'])).message).toBe(
      'goldens/seed-3-4-2.json: inputs.lossGrad: is given, but the loss is reduced to a scalar: only reduction none takes an upstream gradient',
    );
  });

  it('class weights that do not fit the model, and a class index that is neither a class nor the ignore_index', () => {
    const file = 'goldens/ce-weighted-mean.json';
    const weighted = JSON.parse(readFileSync(file, 'utf8'));
    weighted.mlp.model.loss.weight.push(1);
    weighted.provenance.spec.model.loss.weight.push(1);
    expect(() => parseGolden(JSON.stringify(weighted), file)).toThrow('goldens/ce-weighted-mean.json: mlp.model.loss.weight: has 5 entries, the model has 4 classes');
    const ignoring = JSON.parse(readFileSync('goldens/nll-log-softmax.json', 'utf8'));
    ignoring.inputs.target.data[1] = -99;
    expect(() => parseGolden(JSON.stringify(ignoring), 'goldens/nll-log-softmax.json')).toThrow('inputs.target.data[1]: -99 is not a class index in [0, 4) nor the ignore_index -100');
  });

  it('a key that appears twice (JSON.parse would silently keep the last)', () => {
    const text = seedText.replace('"parameters": {', '"parameters": {\n  "2.bias": {"dtype": "float32", "shape": [2], "sha256": "' + '0'.repeat(64) + '", "data": [0, 0]},');
    expect(() => parseGolden(text, SEED)).toThrow('goldens/seed-3-4-2.json: parameters["2.bias"]: appears twice in the same object');
  });

  it('a number too large for a float (JSON has no Infinity, but 1e999 parses to it)', () => {
    const text = seedText.replace('0.29085004329681396', '1e999');
    expect(() => parseGolden(text, SEED)).toThrow(/^goldens\/seed-3-4-2\.json: expected\.float32\.tensors\.loss\.data\[0\]: Invalid input: expected number, received Infinity/);
  });

  it('NaN, which is not JSON at all', () => {
    expect(() => parseGolden(seedText.replace('0.29085004329681396', 'NaN'), SEED)).toThrow(/not valid JSON/);
  });

  it('a case name that does not match the file, or that would leave goldens/', () => {
    expect(errorAfter((g) => (g.case = 'relu-kink')).message).toBe('goldens/seed-3-4-2.json: case: is relu-kink, but the file is named seed-3-4-2.json');
    expect(errorAfter((g) => (g.case = '../seed-3-4-2')).message).toMatch(/^goldens\/seed-3-4-2\.json: case: lowercase letters, digits and dashes/);
  });

  it('an unknown field', () => {
    expect(errorAfter((g) => (g.extra = 1)).message).toMatch(/^goldens\/seed-3-4-2\.json: \(root\): Unrecognized key/);
  });
});
