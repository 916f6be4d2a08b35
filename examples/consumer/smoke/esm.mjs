// Plain Node ESM, no TypeScript and no test runner: the stable API on a shipped golden.
import { join } from 'node:path';
import { compareWithGolden, loadGolden, lossAndGrads, referenceGoldensDir } from 'gradparity';

const golden = loadGolden(join(referenceGoldensDir(), 'seed-3-4-2.json'));
const { grads } = lossAndGrads(golden.spec, golden.inputs, 'float32');
const record = compareWithGolden(golden, 'x', grads.x);
if (record.verdict !== 'pass') throw new Error(`ESM: ${record.tensor} ${record.verdict}`);
console.log(`ESM import: ${record.case} ${record.tensor} ${record.verdict} (${record.numel} elements)`);
