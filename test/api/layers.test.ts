import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Each folder of src/ imports only from folders below it: the result type every oracle produces
// sits low, ops know nothing of models, reports nothing of the main job that feeds them.
const LAYERS = ['tensor', 'errors', 'results', 'tolerance', 'ops', 'model', 'golden', 'graph', 'fd', 'onnx', 'report', 'parity', 'capture', 'vitest', 'cli', 'index', 'internal'];

/** The src/ folder (or top-level file) a module belongs to. */
const layerOf = (path: string) => path.split('/')[0]!.replace(/\.ts$/, '');

function imports(): { from: string; to: string }[] {
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return files.flatMap((file) =>
    [...readFileSync(join('src', file), 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => {
      const target = join(file, '..', m[1]!).replace(/\\/g, '/');
      return { from: file, to: target };
    }),
  );
}

describe('the layering of src/', () => {
  it('knows every folder', () => {
    const folders = readdirSync('src', { encoding: 'utf8' }).map((f) => f.replace(/\.ts$/, ''));
    expect(folders.filter((f) => !LAYERS.includes(f))).toEqual([]);
  });

  it('has no import from a folder above the importer', () => {
    const upward = imports().filter(({ from, to }) => LAYERS.indexOf(layerOf(to)) > LAYERS.indexOf(layerOf(from)));
    expect(upward.map(({ from, to }) => `${from} → ${to}`)).toEqual([]);
  });
});
