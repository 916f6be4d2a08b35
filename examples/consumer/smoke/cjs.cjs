// CommonJS: require() of gradparity's ES modules, which Node supports from 20.19 on (require(esm)).
const { join } = require('node:path');
const { compareWithGolden, loadGolden, lossAndGrads, referenceGoldensDir } = require('gradparity');

const golden = loadGolden(join(referenceGoldensDir(), 'seed-3-4-2.json'));
const { grads } = lossAndGrads(golden.spec, golden.inputs, 'float64');
const record = compareWithGolden(golden, '0.weight', grads['0.weight']);
if (record.verdict !== 'pass') throw new Error(`CJS: ${record.tensor} ${record.verdict}`);
console.log(`CommonJS require: ${record.case} ${record.tensor} ${record.verdict} (${record.numel} elements)`);
