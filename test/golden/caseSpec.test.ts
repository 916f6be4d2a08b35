import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CasesFile, casesJsonSchema } from '../../src/golden/caseSpec.ts';

// One definition of a case spec (src/golden/caseSpec.ts), two validators: zod here, and the
// JSON Schema generated from it in the Python generator.

const cases = JSON.parse(readFileSync('scripts/cases.json', 'utf8'));
const python = process.env.PYTHON ?? '/usr/bin/python3';
// The validation needs jsonschema (Debian's python3-jsonschema), not PyTorch.
const hasJsonschema = spawnSync(python, ['-c', 'import jsonschema']).status === 0;

describe('the case specs', () => {
  it('scripts/cases.json is valid by the zod schema', () => {
    const parsed = CasesFile.safeParse(cases);
    expect(parsed.success, parsed.error?.message).toBe(true);
  });

  it('scripts/cases.schema.json is the JSON Schema generated from it (npm run goldens writes it)', () => {
    expect(JSON.parse(readFileSync('scripts/cases.schema.json', 'utf8'))).toEqual(casesJsonSchema());
  });

  it('the zod schema names the field a bad spec gets wrong', () => {
    const bad = structuredClone(cases);
    bad.cases[0].model.modules[1].op = 'swish';
    const parsed = CasesFile.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['cases', 0, 'model', 'modules', 1, 'op']);
  });

  describe.skipIf(!hasJsonschema)(`the Python generator's validation (scripts/case_specs.py, ${python} with jsonschema)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradparity-cases-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const validate = (document: unknown) => {
      const file = join(dir, 'cases.json');
      writeFileSync(file, JSON.stringify(document));
      return spawnSync(python, ['scripts/case_specs.py', '--cases', file], { encoding: 'utf8' });
    };

    it('accepts scripts/cases.json by the same schema', () => {
      const run = validate(cases);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toBe(`cases.json: ${cases.cases.length} case spec(s) valid\n`);
    });

    it('names the field a bad spec gets wrong, as the TS side does', () => {
      const bad = structuredClone(cases);
      bad.cases[0].model.modules[1].op = 'swish';
      expect(validate(bad).stderr).toMatch(/^case_specs: cases\.json: cases\[0\]\.model\.modules\[1\]\.op: 'swish' is not one of \['linear', 'relu', 'tanh', .*\]\n$/);
      const noWidth = structuredClone(cases);
      delete noWidth.cases[2].model.modules[0].out;
      expect(validate(noWidth).stderr).toBe("case_specs: cases.json: cases[2].model.modules[0]: 'out' is a required property\n");
    });
  });
});
