import { describe, expect, it } from 'vitest';
import { float32Checks, float32SemanticsViolations } from '../../src/model/float32Semantics.ts';
import { violations } from '../../src/ops/float32Semantics.ts';
import { LOSS_OPS, MODULE_OPS } from '../../src/ops/registry.ts';

describe('float32 emulation', () => {
  it('rounds every operation of every kernel, formula, reduction and input to float32, in the documented order', () => {
    expect(float32SemanticsViolations()).toEqual([]);
  });

  it('checks every op, and every input of a float32 run', () => {
    const names = float32Checks().map(([what]) => what);
    const unchecked = [...MODULE_OPS, ...LOSS_OPS].map((op) => op.name).filter((name) => !names.some((what) => what.startsWith(`${name} `) || what.startsWith(`${name}:`)));
    // ReLU only selects: its outputs and gradients are inputs passed through or 0, never rounded.
    expect(unchecked).toEqual(['relu']);
    for (const key of ['loss', 'logits', 'grad.x', 'grad.0.weight', 'grad.2.bias']) expect(names).toContain(`run of float64 inputs rounds them first: ${key}`);
    // The formulas with two or more inexact roundings are held to differ from float64 rounded once.
    expect(names.filter((what) => what.endsWith('is not its float64 value rounded once')).length).toBeGreaterThanOrEqual(15);
  });

  it('reports a check whose bits differ, naming the element', () => {
    expect(violations([['a sum', [1, 2], [1, 2.5]]])).toEqual(['float32 a sum: element 1 is 2, float32 semantics gives 2.5: a rounding was skipped, added or moved']);
    expect(violations([['a sum', [1], [1, 2]]])).toEqual(['float32 a sum: 1 values, expected 2']);
  });
});
