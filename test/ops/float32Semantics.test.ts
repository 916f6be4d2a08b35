import { describe, expect, it } from 'vitest';
import { float32SemanticsViolations } from '../../src/ops/float32Semantics.ts';

describe('float32 emulation', () => {
  it('rounds every product and every partial sum of the linear kernels to float32', () => {
    expect(float32SemanticsViolations()).toEqual([]);
  });
});
