import { z } from 'zod';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';

/** A loss's `reduction`, as PyTorch names them: one number (`mean`, `sum`) or one per row or element (`none`). */
export const Reduction = z.enum(['mean', 'sum', 'none']);
export type Reduction = z.infer<typeof Reduction>;

/**
 * The loss as the reduction returns it, from the unreduced values (one per row or element): the
 * values themselves for `none`, their sum, or their sum divided by `divisor` for `mean`
 * (the element count, or a loss's total weight). Rounded to `dtype` after every operation.
 */
export function reduce(values: Tensor, reduction: Reduction, divisor: number, dtype: DType): Tensor {
  if (reduction === 'none') return values;
  const round = rounderFor(dtype);
  let total = 0;
  for (const v of values.data) total = round(total + v);
  return tensor(dtype, [], [reduction === 'mean' ? round(total / divisor) : total]);
}

/** The loss's shape for `reduction` when unreduced it would be `shape`. */
export function reducedShape(reduction: Reduction, shape: readonly number[]): readonly number[] {
  return reduction === 'none' ? shape : [];
}
