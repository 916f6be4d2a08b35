import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadGolden, parseGolden, type GoldenCase } from '../../src/golden/load.ts';
import { goldenTensors } from '../../scripts/lib/goldenDiff.ts';

// Property: every corruption of a real golden is either rejected with an InputError that names
// the file (and, through the loader, the JSON path), or is semantically harmless: it loads to the
// same spec, dtype, graph reference and bit-identical tensors. Never a crash, never a hang, never
// a silently different number. 6 kinds × 200 runs = 1,200 corruptions.

const FILES = ['goldens/seed-3-4-2.json', 'goldens/relu-kink.json', 'goldens/identity-hidden-f64.json'];
const originals = FILES.map((file) => ({ file, text: readFileSync(file, 'utf8'), golden: loadGolden(file) }));
const RUNS = 200;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

function sameValues(a: GoldenCase, b: GoldenCase): boolean {
  const [ta, tb] = [goldenTensors(a), goldenTensors(b)];
  return (
    isDeepStrictEqual(a.spec, b.spec) &&
    a.dtype === b.dtype &&
    a.onnx.sha256 === b.onnx.sha256 &&
    a.onnx.path === b.onnx.path &&
    ta.length === tb.length &&
    ta.every(([path, t], i) => {
      const [pathB, u] = tb[i]!;
      return path === pathB && t.shape.join() === u.shape.join() && t.data.every((v, j) => Object.is(v, u.data[j]));
    })
  );
}

const tally = { rejected: 0, harmless: 0 };

/** Loads the corrupted text and checks the property; a non-InputError escapes and fails the test. */
function holds(original: (typeof originals)[number], text: string): boolean {
  let loaded: GoldenCase;
  try {
    loaded = parseGolden(text, original.file);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.message.startsWith(`${original.file}: `)).toBe(true);
    tally.rejected++;
    return true;
  }
  tally.harmless++;
  return sameValues(loaded, original.golden);
}

/** Every path in a JSON tree whose value satisfies `want`. */
function paths(value: Json, want: (v: Json) => boolean, at: Path = []): Path[] {
  const here = want(value) ? [at] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, want, [...at, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, want, [...at, k]))];
  return here;
}

function parentOf(root: Json, path: Path): { parent: Record<string | number, Json>; key: string | number } {
  let node = root as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, Json>;
  return { parent: node, key: path.at(-1)! };
}

const clone = (text: string): Json => JSON.parse(text) as Json;
const pick = <T,>(items: readonly T[], n: number): T => items[n % items.length]!;
const anyFile = fc.nat({ max: FILES.length - 1 }).map((i) => originals[i]!);

describe('1,200 corruptions of real goldens', () => {
  it('byte flips', () => {
    fc.assert(
      fc.property(anyFile, fc.nat(), fc.integer({ min: 1, max: 255 }), (original, offset, mask) => {
        const bytes = Buffer.from(original.text, 'utf8');
        const at = offset % bytes.length;
        bytes[at] = bytes[at]! ^ mask;
        return holds(original, bytes.toString('utf8'));
      }),
      { numRuns: RUNS, seed: 1 },
    );
  });

  it('truncations', () => {
    fc.assert(
      fc.property(anyFile, fc.nat(), (original, n) => holds(original, original.text.slice(0, n % original.text.length))),
      { numRuns: RUNS, seed: 2 },
    );
  });

  it('deleted fields', () => {
    fc.assert(
      fc.property(anyFile, fc.nat(), (original, n) => {
        const doc = clone(original.text);
        const keys = paths(doc, () => true).filter((p) => typeof p.at(-1) === 'string');
        const { parent, key } = parentOf(doc, pick(keys, n));
        delete parent[key];
        return holds(original, JSON.stringify(doc, null, 1));
      }),
      { numRuns: RUNS, seed: 3 },
    );
  });

  it('duplicated fields, with the same or a different value', () => {
    fc.assert(
      fc.property(anyFile, fc.nat(), fc.boolean(), (original, n, sameValue) => {
        const doc = clone(original.text);
        const keys = paths(doc, () => true).filter((p) => typeof p.at(-1) === 'string');
        const path = pick(keys, n);
        const { parent, key } = parentOf(doc, path);
        // Write the object by hand so that one key appears twice, as a damaged file would have it.
        const marker = '"__duplicate_marker__": 0';
        (parent as Record<string, Json>).__duplicate_marker__ = 0;
        const copy = JSON.stringify(key) + ': ' + JSON.stringify(sameValue ? parent[key] : null);
        return holds(original, JSON.stringify(doc, null, 1).replace(marker, copy));
      }),
      { numRuns: RUNS, seed: 4 },
    );
  });

  it('wrong numbers: off by one ulp or more, negated, zeroed, too large, or no longer numbers', () => {
    const damage = [
      (v: number) => String(v * (1 + 2 ** -52) + (v === 0 ? 5e-324 : 0)),
      (v: number) => String(v * (1 + 1e-6) + 1e-30),
      (v: number) => String(-v === v ? 1 : -v),
      (v: number) => (v === 0 ? '1' : '0'),
      () => '1e999',
      (v: number) => JSON.stringify(String(v)),
      (v: number) => String(v + 0.5),
    ];
    fc.assert(
      fc.property(anyFile, fc.nat(), fc.nat({ max: damage.length - 1 }), (original, n, d) => {
        const doc = clone(original.text);
        const numbers = paths(doc, (v) => typeof v === 'number');
        const { parent, key } = parentOf(doc, pick(numbers, n));
        const marker = '"__number_marker__"';
        const value = parent[key] as number;
        parent[key] = '__number_marker__';
        return holds(original, JSON.stringify(doc, null, 1).replace(marker, damage[d]!(value)));
      }),
      { numRuns: RUNS, seed: 5 },
    );
  });

  it('wrong shapes', () => {
    fc.assert(
      fc.property(anyFile, fc.nat(), fc.integer({ min: -2, max: 3 }), (original, n, delta) => {
        const doc = clone(original.text);
        const shapes = paths(doc, (v) => Array.isArray(v)).filter((p) => p.at(-1) === 'shape');
        const { parent, key } = parentOf(doc, pick(shapes, n));
        const shape = parent[key] as number[];
        if (shape.length === 0 || delta === 3) shape.push(1);
        else shape[n % shape.length] = Math.max(0, shape[n % shape.length]! + (delta === 0 ? 1 : delta));
        return holds(original, JSON.stringify(doc, null, 1));
      }),
      { numRuns: RUNS, seed: 6 },
    );
  });

  it('rejected most of them, and every one it accepted loaded the same values', () => {
    expect(tally.rejected + tally.harmless).toBeGreaterThanOrEqual(6 * RUNS);
    expect(tally.rejected).toBeGreaterThan(tally.harmless);
  });
});
