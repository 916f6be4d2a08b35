// `import 'gradparity/vitest'` in a vitest setup file adds the matchers toMatchGolden and
// toBeWithinBound; the reporter is `gradparity/vitest/reporter`.
import './matchers.ts';

export { attachReport, readReport } from './meta.ts';
export { default as ParityReporter } from './reporter.ts';
