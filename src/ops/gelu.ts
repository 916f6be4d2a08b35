import { z } from 'zod';
import { elementwise } from './elementwise.ts';
import type { Arith } from './scalar.ts';

export const GeluSpec = z.strictObject({
  op: z.literal('gelu'),
  /** 'none': x·Φ(x) with erf; 'tanh': the tanh approximation, as torch.nn.GELU(approximate=…). */
  approximate: z.enum(['none', 'tanh']),
});
export type GeluSpec = z.infer<typeof GeluSpec>;

// The constants of torch's GELU kernels, held in the working precision.
const SQRT1_2 = Math.SQRT1_2; // 1/√2
const PDF_SCALE = (2 / Math.sqrt(Math.PI)) * Math.SQRT1_2 * 0.5; // 1/√(2π)
const TANH_SCALE = Math.SQRT2 * (2 / Math.sqrt(Math.PI)) * 0.5; // √(2/π)
const CUBIC = 0.044715;

function tanhForm<T>(a: Arith<T>, x: T): { inner: T; t: T } {
  const inner = a.mul(a.c(TANH_SCALE), a.add(x, a.mul(a.c(CUBIC), a.mul(a.mul(x, x), x))));
  return { inner, t: a.fn('tanh', inner) };
}

/**
 * torch.nn.GELU. 'none': y = x·0.5·(1 + erf(x/√2)), backward g·(Φ + x·φ) with
 * Φ = 0.5·(1 + erf(x/√2)), φ = exp(−x²/2)/√(2π). 'tanh': y = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))),
 * backward g·(0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)(1 + 3·0.044715x²)). Both are torch's CPU
 * formulas; in the negative tail 1 + erf and 1 + t cancel, which the bound sees.
 */
export const gelu = elementwise<GeluSpec>({
  name: 'gelu',
  schema: GeluSpec,
  torch: { module: 'torch.nn.GELU', functional: 'torch.nn.functional.gelu' },
  describe: (spec) => (spec.approximate === 'none' ? 'GELU' : `GELU(approximate='${spec.approximate}')`),
  forward(a, x, spec) {
    if (spec.approximate === 'tanh') return a.mul(a.mul(a.c(0.5), x), a.add(a.c(1), tanhForm(a, x).t));
    return a.mul(a.mul(x, a.c(0.5)), a.add(a.c(1), a.fn('erf', a.mul(x, a.c(SQRT1_2)))));
  },
  backward(a, x, _y, g, spec) {
    if (spec.approximate === 'tanh') {
      const { t } = tanhForm(a, x);
      const left = a.mul(a.c(0.5), x);
      const right = a.add(a.c(1), t);
      const leftDerivative = a.mul(a.c(0.5), right);
      const tanhDerivative = a.sub(a.c(1), a.mul(t, t));
      const innerDerivative = a.mul(a.c(TANH_SCALE), a.add(a.c(1), a.mul(a.mul(a.c(3), a.c(CUBIC)), a.mul(x, x))));
      const rightDerivative = a.mul(a.mul(left, tanhDerivative), innerDerivative);
      return a.mul(g, a.add(leftDerivative, rightDerivative));
    }
    const cdf = a.mul(a.c(0.5), a.add(a.c(1), a.fn('erf', a.mul(x, a.c(SQRT1_2)))));
    const pdf = a.mul(a.c(PDF_SCALE), a.fn('exp', a.mul(a.mul(x, x), a.c(-0.5))));
    return a.mul(g, a.add(cdf, a.mul(x, pdf)));
  },
});
