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

export { finiteDifferenceCheck, checkOneElement, stepSweep, autoStep, StepTooSmall, type FdProblem, type FdOptions, type FdReport, type FdElementCheck, type Objective } from './fd/engine.ts';
export { mlpProblem } from './fd/mlpProblem.ts';
export { explainDrift, sweepElement } from './fd/explain.ts';
export { OnnxOracle, onnxOracleFor, SESSION_OPTIONS } from './onnx/oracle.ts';
export { compareWithOnnx } from './parity/onnxParity.ts';
export { comparePair, pairBounds, type Pair } from './parity/compareResults.ts';
export { listGoldenFiles } from './golden/files.ts';
export { staleness } from './golden/freshness.ts';
export { buildReport, type ParityReport, type ReportInput } from './report/parityReport.ts';
export { markdownReport } from './report/markdown.ts';
export { writeReports } from './report/writeReports.ts';
