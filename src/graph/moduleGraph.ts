import type { ModuleGolden } from '../golden/moduleGolden.ts';
import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { IEEE_SIDES, type Sides } from '../tolerance/roundoff.ts';
import { boundsOfGraph, floatInput, oncePerGoldenAndSides } from './goldenGraph.ts';
import { exactValue, type GValue } from './values.ts';

/**
 * The graph-derived values and bounds of every result of a captured model, for a comparison
 * between `sides` (each on its arithmetic model, IEEE by default), by result key: from its float32
 * graph when both sides compute in float32, else from its float64 graph (whose constants are exact).
 */
export function moduleGraphBounds(golden: ModuleGolden, sides: Sides, models: readonly [ArithmeticModel, ArithmeticModel] = IEEE_SIDES): ReadonlyMap<string, GValue> {
  // Both sides on IEEE arithmetic, the usual case, is computed once per golden and sides.
  return models === IEEE_SIDES ? ieeeBounds(golden, sides) : graphBoundsOf(golden, sides, models);
}

const ieeeBounds = oncePerGoldenAndSides((golden: ModuleGolden, sides: Sides) => graphBoundsOf(golden, sides, IEEE_SIDES));

function graphBoundsOf(golden: ModuleGolden, sides: Sides, models: readonly [ArithmeticModel, ArithmeticModel]): ReadonlyMap<string, GValue> {
  const dtype = sides.every((s) => s === 'float32') ? 'float32' : 'float64';
  const given = new Map<string, GValue>([
    ...Object.entries(golden.inputs).map(([name, t]) => [name, floatInput(t, sides)] as const),
    ...Object.entries(golden.indexInputs).map(([name, t]) => [name, exactValue('int', t.shape, Float64Array.from(t.data))] as const),
    ...Object.entries(golden.params).map(([name, t]) => [name, floatInput(t, sides)] as const),
  ]);
  return boundsOfGraph(golden.graphs[dtype].path, given, sides, dtype, models);
}
