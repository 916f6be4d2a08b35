import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as stable from '../../src/index.ts';
import * as internal from '../../src/internal.ts';

// The stable entry point is a promise to users: each export is documented where it is declared
// (TSDoc, which editors show on hover), and everything else is reachable through
// 'gradparity/internal', which must keep up with the modules.

/** [name, module path] for every name src/index.ts exports, types included. */
function stableExports(): [string, string][] {
  const index = readFileSync('src/index.ts', 'utf8');
  return [...index.matchAll(/export (?:type )?\{([^}]+)\} from '(\.[^']+)'/g)].flatMap((m) =>
    m[1]!.split(',').map((n) => n.trim().replace(/^type /, '')).filter(Boolean).map((name): [string, string] => [name, join('src', m[2]!)]),
  );
}

describe('the stable API', () => {
  const exports = stableExports();

  it('is short: a few dozen names', () => {
    expect(exports.length).toBeGreaterThan(20);
    expect(exports.length).toBeLessThan(60);
  });

  it.each(exports)('%s is documented where it is declared (%s)', (name, file) => {
    const source = readFileSync(file, 'utf8');
    const declaration = new RegExp(`export (?:declare )?(?:async )?(?:function|class|const|interface|type|let) ${name}\\b`).exec(source);
    expect(declaration, `no declaration of ${name} in ${file}`).not.toBeNull();
    const before = source.slice(0, declaration!.index).trimEnd();
    expect(before.endsWith('*/') && before.lastIndexOf('/**') > before.lastIndexOf('*/', before.length - 3), `${name} in ${file} has no TSDoc comment`).toBe(true);
  });

  it('exports every value it names (nothing lost between source and entry point)', () => {
    const values = Object.keys(stable);
    for (const name of ['loadGolden', 'compareWithGolden', 'finiteDifferenceCheck', 'checkGolden', 'writeReports', 'buildReport']) expect(values).toContain(name);
  });
});

describe('the internal entry point', () => {
  it('re-exports every module but the entry points (the CLI\'s, the finite-difference worker thread\'s) and the vitest integration', () => {
    const modules = readdirSync('src', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && f.includes('/') && !f.startsWith('vitest/') && f !== 'cli/main.ts' && f !== 'fd/fdWorker.ts')
      .sort();
    const listed = [...readFileSync('src/internal.ts', 'utf8').matchAll(/export \* from '\.\/([^']+)'/g)].map((m) => m[1]!).filter((f) => f.includes('/')).sort();
    expect(listed).toEqual(modules);
  });

  it('holds the stable names too', () => {
    for (const name of Object.keys(stable)) expect(internal, name).toHaveProperty(name);
  });
});
