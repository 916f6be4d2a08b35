import type { ModuleGolden } from '../golden/moduleGolden.ts';
import type { Sides } from '../tolerance/roundoff.ts';
import { boundsOfGraph, floatInput } from './goldenGraph.ts';
import { exactValue, type GValue } from './values.ts';

const cache = new WeakMap<ModuleGolden, Map<string, ReadonlyMap<string, GValue>>>();

/**
 * The graph-derived values and bounds of every result of a captured model, for a comparison
 * between `sides`, by result key: from its float32 graph when both sides compute in float32,
 * else from its float64 graph (whose constants are exact). Computed once per golden and sides.
 */
export function moduleGraphBounds(golden: ModuleGolden, sides: Sides): ReadonlyMap<string, GValue> {
  const mine = cache.get(golden) ?? new Map<string, ReadonlyMap<string, GValue>>();
  cache.set(golden, mine);
  const key = sides.join(':');
  const known = mine.get(key);
  if (known !== undefined) return known;
  const dtype = sides.every((s) => s === 'float32') ? 'float32' : 'float64';
  const given = new Map<string, GValue>([
    ...Object.entries(golden.inputs).map(([name, t]) => [name, floatInput(t, sides)] as const),
    ...Object.entries(golden.indexInputs).map(([name, t]) => [name, exactValue('int', t.shape, Float64Array.from(t.data))] as const),
    ...Object.entries(golden.params).map(([name, t]) => [name, floatInput(t, sides)] as const),
  ]);
  const bounds = boundsOfGraph(golden.graphs[dtype].path, given, sides, dtype);
  mine.set(key, bounds);
  return bounds;
}
