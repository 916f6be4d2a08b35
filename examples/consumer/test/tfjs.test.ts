// TensorFlow.js's gradients of every golden's model, held to PyTorch's, each element within the
// bound gradparity derives for two float32 implementations of the same computation.
import { describe, expect, it } from 'vitest';
import { listGoldenFiles, loadGolden, referenceGoldensDir } from 'gradparity';
import { tfjsLossAndGrads } from '../src/tfjsMlp.js';

// The goldens gradparity ships: Linear layers and activations (ReLU, GELU, ELU, Softplus, …) with softmax cross-entropy.
const goldens = listGoldenFiles(referenceGoldensDir()).map(loadGolden);

it('finds the goldens gradparity ships', () => {
  expect(goldens.length).toBeGreaterThanOrEqual(12);
});

describe.each(goldens.map((g) => [g.name, g] as const))('%s through TensorFlow.js (float32)', (_, golden) => {
  it('matches torch: loss, logits and every gradient', async () => {
    const ours = await tfjsLossAndGrads(golden);
    expect(ours.loss).toMatchGolden(golden, 'loss', { dtype: 'float32' });
    expect(ours.logits).toMatchGolden(golden, 'logits');
    for (const [name, grad] of Object.entries(ours.grads)) expect(grad).toMatchGolden(golden, name);
  });
});
