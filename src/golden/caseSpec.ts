import { z } from 'zod';
import { ModelSpec } from '../model/spec.ts';

const atLeast = z.number().int().min(1);

/**
 * What a corner case claims about itself, asserted by the generator on torch's own run so that a
 * regenerated case cannot silently lose its corner. Counts are "at least" unless said otherwise;
 * "overflows" and "underflows" are in the case's precision (exp overflows above 88.72 in float32,
 * 709.78 in float64; exp(−d) is 0 beyond d = 103.97 in float32, 745.13 in float64).
 */
export const CaseExpectations = z.strictObject({
  /** Exactly this many inputs of kinked modules (ReLU, LeakyReLU, …) sit on a kink, in both precisions. */
  inputsAtKinks: z.number().int().nonnegative().optional(),
  /** Inputs of kinked modules within 1e-6 of a kink but not on it, on each side (below, above). */
  inputsNearKinks: z.tuple([atLeast, atLeast]).optional(),
  /** Logits whose exp overflows: a log_softmax without the max shift returns inf or NaN there. */
  logitsOverflowingExp: atLeast.optional(),
  /** Rows whose first logit is so far below the row max that exp(max − first) overflows: a shift by the first logit fails. */
  rowsFirstLogitFarBelowMax: atLeast.optional(),
  /** Rows whose max is so far below the batch's largest logit that exp of the gap underflows: a shift by the batch max fails. */
  rowsFarBelowBatchMax: atLeast.optional(),
  /** Rows whose largest logit is attained by two or more classes. */
  rowsWithTiedMax: atLeast.optional(),
  /** Logits that are exactly 0 (an output ReLU clamps them). */
  zeroLogits: atLeast.optional(),
  /** Softmax values that underflow to exactly 0 (log of the softmax would be −inf there). */
  softmaxUnderflows: atLeast.optional(),
  /** Probability-target rows that are all zero, that sum to more than 1, that are one-hot. */
  zeroTargetRows: atLeast.optional(),
  targetRowsAboveOne: atLeast.optional(),
  oneHotTargetRows: atLeast.optional(),
  /** Class-index targets: classes no row has, and classes every row has. */
  classesNeverTargeted: atLeast.optional(),
  classesAlwaysTargeted: atLeast.optional(),
  /** Subnormal numbers among x and the parameters, in the case's precision. */
  subnormalInputs: atLeast.optional(),
  /** Exact zeros in x. */
  zerosInX: atLeast.optional(),
});
export type CaseExpectations = z.infer<typeof CaseExpectations>;

/**
 * One case of scripts/cases.json: what the generator runs in PyTorch to write goldens/<name>.json.
 * This zod schema is the one definition: the TS side validates with it, and its JSON Schema
 * (scripts/cases.schema.json, written by `npm run goldens`) is what the Python generator
 * validates the same file with. Checks a JSON Schema cannot express (`values` complete unless there is a
 * `seed`, targets that fit the loss) are written once on each side, next to the code that needs them.
 */
export const CaseSpec = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes (it becomes a file name)'),
  description: z.string(),
  /** The precision the inputs are stored in. */
  dtype: z.enum(['float32', 'float64']),
  model: ModelSpec,
  batch: z.number().int().min(1),
  /**
   * Explicit inputs: `x`, `target` and every parameter by state_dict name, as nested lists. With a
   * `seed`, only the named inputs, which replace the drawn ones after every other option applied
   * (a seeded model with a hand-made target or an all-zero last layer); without one, all of them.
   */
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
  /** The corners the case exists for: the generator fails unless torch's run shows each (see CaseExpectations). */
  expect: CaseExpectations.optional(),
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
