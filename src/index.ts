// gradparity's public API. Everything not exported here is internal and may change.

export { DTYPES, unitRoundoff, type DType } from './tensor/dtype.ts';
export { tensor, type NamedTensors, type Tensor } from './tensor/tensor.ts';
export { ulpDistance } from './tensor/ulp.ts';

export { ModelSpec, LayerSpec, LossSpec } from './nn/spec.ts';
export { describeModel, gradientNames, parameterShapes } from './nn/names.ts';
export { backward, forward, lossAndGrads, ShapeError, type MlpInputs } from './nn/mlp.ts';
export type { Target } from './nn/crossEntropy.ts';

export { loadGolden, parseGolden, type GoldenCase, type ExpectedResults } from './golden/load.ts';
export { GoldenJson, goldenJsonSchema, SCHEMA_VERSION } from './golden/schema.ts';
export { InputError } from './errors.ts';

export { gamma, Roundoffs } from './tolerance/roundoff.ts';
export { BOUND_PARTS, type BoundPart, type ErrorBound } from './tolerance/errorBound.ts';
export { mlpBounds, type BoundRequest, type MlpBounds } from './tolerance/mlpBound.ts';
export { compareTensors, type ComparisonRecord, type Side } from './tolerance/compare.ts';

export { compareWithTorch, runTsOnGolden, TORCH_COMPARISONS } from './parity/torchParity.ts';
export { runTs, type Results } from './parity/results.ts';
export { mismatchMessage } from './report/message.ts';
