import { z } from 'zod';
import { ModelSpec } from '../model/spec.ts';

/**
 * One case of scripts/cases.json: what the generator runs in PyTorch to write goldens/<name>.json.
 * This zod schema is the one definition: the TS side validates with it, and its JSON Schema
 * (scripts/cases.schema.json, written by `npm run goldens`) is what the Python generator
 * validates the same file with. Checks a JSON Schema cannot express (exactly one of `values` and
 * `seed`, targets that fit the loss) are written once on each side, next to the code that needs them.
 */
export const CaseSpec = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes (it becomes a file name)'),
  description: z.string(),
  /** The precision the inputs are stored in. */
  dtype: z.enum(['float32', 'float64']),
  model: ModelSpec,
  batch: z.number().int().min(1),
  /** Explicit inputs: `x`, `target` and every parameter by state_dict name, as nested lists. */
  values: z.record(z.string(), z.unknown()).optional(),
  /** Seeded random inputs: x ~ N(0, 1), parameters ~ U(±1/√fan_in) as torch.nn.Linear draws them. */
  seed: z.number().int().nonnegative().optional(),
  /**
   * Probability targets only: soft rows (softmax of N(0, 4) logits), one-hot rows, or uniform
   * (each element U(0, 1) on its own, BCEWithLogitsLoss's targets). Class indices are uniform
   * over the classes, values N(0, 1).
   */
  target: z.enum(['soft', 'one_hot', 'uniform']).optional(),
  /** Class-index targets of a loss with an `ignoreIndex`: these rows get it as their target. */
  ignoredRows: z.array(z.number().int().nonnegative()).min(1).optional(),
  /** Soft targets only: what each row sums to (default 1). */
  targetMass: z.number().positive().optional(),
  /** Seeded inputs only: multiply `x` or a parameter by a factor after the draw (into an op's tails, across its kinks). */
  scale: z.record(z.string(), z.number()).optional(),
  /** Rescale the last Linear so that the largest |logit| (in float64) is this. */
  logitMagnitude: z.number().positive().optional(),
  /** The generator fails unless exactly this many inputs of kinked modules (ReLU, LeakyReLU, …) sit on a kink, in both precisions. */
  expectInputsAtKinks: z.number().int().nonnegative().optional(),
});
export type CaseSpec = z.infer<typeof CaseSpec>;

/** scripts/cases.json: every case spec, with a pointer to the JSON Schema for editors. */
export const CasesFile = z.strictObject({
  $schema: z.string().optional(),
  comment: z.string().optional(),
  cases: z.array(CaseSpec),
});

export function casesJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(CasesFile, { target: 'draft-2020-12' }),
    title: 'gradparity case specs',
    description: 'scripts/cases.json: the cases scripts/generate_goldens.py runs in PyTorch. Generated from src/golden/caseSpec.ts.',
  };
}
