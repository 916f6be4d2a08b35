// gradparity's stable API: what a test suite needs to hold its own implementation to PyTorch.
// Every export is documented where it is declared. Everything else is in 'gradparity/internal'
// and may change between minor versions; the vitest matchers and reporter are in
// 'gradparity/vitest' and 'gradparity/vitest/reporter'.

// Goldens: what PyTorch computed, validated on load.
export { loadGolden, parseGolden, type GoldenCase, type ExpectedResults } from './golden/load.ts';
export { listGoldenFiles, referenceGoldensDir } from './golden/files.ts';
export type { ModelInputs } from './model/sequential.ts';
export type { Target } from './ops/types.ts';
export type { ModelSpec } from './model/spec.ts';
export type { Results, TensorKey } from './results/keys.ts';
export { InputError } from './errors.ts';

// Tensors and precisions.
export { tensor, type NamedTensors, type Tensor } from './tensor/tensor.ts';
export { DTYPES, unitRoundoff, type DType } from './tensor/dtype.ts';
export { ulpDistance } from './tensor/ulp.ts';

// The reference implementation the goldens describe.
export { lossAndGrads, runModel } from './model/sequential.ts';
export { describeModel } from './model/spec.ts';

// Comparisons, each element against its derived bound.
export { compareWithGolden, type YourTensor } from './parity/yours.ts';
export { compareTensors, type ComparisonRecord, type ElementReport, type Side } from './tolerance/compare.ts';
export { BOUND_PARTS, boundFrom, type BoundPart, type ErrorBound } from './tolerance/errorBound.ts';
export { mismatchMessage } from './report/message.ts';

// Finite differences: the oracle that needs no reference.
export {
  finiteDifferenceCheck,
  type Evaluation, type FdDirectionCheck, type FdElementCheck, type FdOptions, type FdProblem, type FdReport, type Objective,
} from './fd/engine.ts';

// The main job on one golden, and the reports.
export { checkGolden, type CaseCheck } from './parity/checkGoldens.ts';
export { buildReport, type ParityReport, type ReportInput } from './report/parityReport.ts';
export { markdownReport } from './report/markdown.ts';
export { writeReports } from './report/writeReports.ts';

// The arithmetic a side runs on (IEEE, WebGPU's, or your own), for compareWithGolden, toMatchGolden and checkGolden.
export { arithmeticModel, IEEE, WEBGPU, type ArithmeticModel, type FunctionAccuracy } from './tolerance/arithmetic.ts';
