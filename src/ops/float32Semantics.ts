import { tensor } from '../tensor/tensor.ts';
import { linearBackward, linearForward } from './linear.ts';

// Note [Checking float32 emulation]
// "float32" promises that every product and every partial sum is rounded to float32. An
// implementation that accumulates in float64 and rounds once is *more* accurate, so no bound-based
// oracle can tell (its results stay well inside every float32 bound). These inputs can: with
// t = 0.75 · 2⁻²⁴ (three quarters of half an ulp of 1), 1 + t + t rounded after every addition
// is 1, but rounded once at the end it is 1 + 2⁻²³; and (1 + 2⁻²³)² − (1 + 2⁻²²) is 0 when the
// product is rounded first, 2⁻⁴⁶ when it is not.

const T = 0.75 * 2 ** -24;
const E = 2 ** -23;

/** Each linear kernel's float32 reductions on inputs where skipping a rounding shows; [] when all round. */
export function float32SemanticsViolations(): string[] {
  const f32 = (shape: number[], values: number[]) => tensor('float32', shape, values);
  const checks: [string, number, number][] = [
    ['forward Σ (1, t, t)', linearForward(f32([1, 3], [1, T, T]), f32([1, 3], [1, 1, 1]), null, 'float32').data[0]!, 1],
    ['forward Σ (1, t) + bias t', linearForward(f32([1, 2], [1, T]), f32([1, 2], [1, 1]), f32([1], [T]), 'float32').data[0]!, 1],
    ['forward product rounding', linearForward(f32([1, 2], [1 + E, 1]), f32([1, 2], [1 + E, -(1 + 2 * E)]), null, 'float32').data[0]!, 0],
  ];
  const column = linearBackward(f32([3, 1], [1, T, T]), f32([3, 1], [1, 1, 1]), f32([1, 1], [1]), true, 'float32');
  checks.push(['weight gradient Σ_b (1, t, t)', column.weight.data[0]!, 1], ['bias gradient Σ_b (1, t, t)', column.bias!.data[0]!, 1]);
  const row = linearBackward(f32([1, 3], [1, T, T]), f32([1, 1], [1]), f32([3, 1], [1, 1, 1]), false, 'float32');
  checks.push(['input gradient Σ_j (1, t, t)', row.input.data[0]!, 1]);
  return checks.filter(([, got, want]) => !Object.is(got, want)).map(([what, got, want]) => `float32 ${what} is ${got}, expected ${want}: a rounding was skipped`);
}
