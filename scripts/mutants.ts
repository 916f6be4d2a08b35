// `npm run mutants`: plants every catalogued gradient bug in a temporary copy of the TS model,
// runs the three oracles against it, and prints which caught it. Exit 1 if any bug survives.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { percent, textTable } from '../src/report/format.ts';
import { MUTANTS, type Mutant } from './mutants/catalogue.ts';
import { mutatedCopy } from './mutants/apply.ts';
import { oracleName, ORACLES, type Oracle, type OracleResult } from './mutants/oracles.ts';
import { thresholds, type Threshold } from './mutants/sensitivity.ts';
import { loadGolden } from '../src/golden/load.ts';
import { listGoldenFiles } from '../src/golden/files.ts';
import { sci } from '../src/report/format.ts';
import { fromJson, toJson } from '../src/report/parityReport.ts';

const ROOT = process.cwd();
const PARALLEL = 2;

interface MutantOutcome {
  readonly id: string;
  readonly description: string;
  readonly caught: boolean;
  readonly by: Oracle[];
  readonly oracles: Record<Oracle, OracleResult>;
  readonly seconds: number;
  /** The corner case meant to close it, and whether that case caught it (see Mutant.closedBy). */
  readonly closedBy?: { readonly case: string; readonly caught: boolean };
}

/** Which cases caught the mutant, over every oracle. */
const catchingCases = (oracles: Record<Oracle, OracleResult>): Set<string> => new Set(ORACLES.flatMap((k) => oracles[k].cases));

const liveDirs = new Set<string>();
const children = new Set<ReturnType<typeof spawn>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    console.error(`mutants: interrupted (${signal}); temporary copies removed, the working tree was never changed`);
    process.exit(130);
  });
}

function runOracles(mutant: Mutant | null): Promise<Record<Oracle, OracleResult>> {
  const dir = mutatedCopy(ROOT, mutant);
  liveDirs.add(dir);
  return new Promise<Record<Oracle, OracleResult>>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'scripts', 'mutants', 'child.ts'), ROOT], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => {
      children.delete(child);
      if (code === 0) resolve(fromJson<Record<Oracle, OracleResult>>(out));
      else reject(new Error(`${mutant?.id ?? 'baseline'}: the oracle run exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
  }).finally(() => {
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  });
}

async function pool<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  }));
  return results;
}

/** Per oracle and precision: the median and the largest detection threshold over the cases. */
function sensitivityRows(all: readonly Threshold[]): string[][] {
  const groups = new Map<string, Threshold[]>();
  for (const t of all) groups.set(`${t.oracle} ${t.dtype}`, [...(groups.get(`${t.oracle} ${t.dtype}`) ?? []), t]);
  return [...groups].map(([key, ts]) => {
    const sorted = ts.map((t) => t.threshold).sort((a, b) => a - b);
    const worst = ts.reduce((w, t) => (t.threshold > w.threshold ? t : w));
    return [key, String(ts.length), sci(sorted[Math.floor(sorted.length / 2)]!), sci(worst.threshold), worst.case];
  });
}

/** `softmax-exp-range`, `NOT softmax-exp-range` when that case missed it, or `–` for a mutant without a corner case. */
const closedByCell = (o: MutantOutcome): string => (o.closedBy === undefined ? '–' : `${o.closedBy.caught ? '' : 'NOT '}${o.closedBy.case}`);

const SENSITIVITY_HEADER = ['oracle, dtype', 'cases', 'median threshold', 'largest threshold', 'on case'];

function markdown(outcomes: readonly MutantOutcome[], sensitivity: readonly Threshold[]): string {
  const survived = outcomes.filter((o) => !o.caught);
  return [
    '# gradparity mutation report',
    '',
    survived.length === 0
      ? `✅ **All ${outcomes.length} catalogued gradient bugs were caught.**`
      : `❌ **${survived.length} of ${outcomes.length} catalogued gradient bugs survived: ${survived.map((o) => o.id).join(', ')}.**`,
    '',
    `| mutant | description | caught | ${ORACLES.map(oracleName).join(' | ')} | worst share of its bound | closed by |`,
    `| --- | --- | :-: |${ORACLES.map(() => ' :-: |').join('')} --: | --- |`,
    ...outcomes.map((o) => `| ${o.id} | ${o.description} | ${o.caught ? '✅' : '❌'} | ${ORACLES.map((k) => (o.oracles[k].caught ? `caught (${o.oracles[k].cases.length} case${o.oracles[k].cases.length === 1 ? '' : 's'})` : '–')).join(' | ')} | ${percent(Math.max(...ORACLES.map((k) => o.oracles[k].worstShare)))} | ${closedByCell(o)} |`),
    '',
    '## Detection thresholds',
    '',
    'The smallest relative error in one element of ∂L/∂(first-layer weight) that each oracle turns red (see docs/tolerance-policy.md §6).',
    '',
    `| ${SENSITIVITY_HEADER.join(' | ')} |`,
    `|${SENSITIVITY_HEADER.map(() => ' --- |').join('')}`,
    ...sensitivityRows(sensitivity).map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const started = performance.now();
  const baseline = await runOracles(null);
  const dirty = ORACLES.filter((o) => baseline[o].caught);
  if (dirty.length > 0) {
    console.error(`mutants: the unmutated model already fails ${dirty.map(oracleName).join(', ')}; fix that first`);
    return 2;
  }
  const outcomes = await pool(MUTANTS, PARALLEL, async (mutant) => {
    const t = performance.now();
    const oracles = await runOracles(mutant);
    const by = ORACLES.filter((o) => oracles[o].caught);
    const closedBy = mutant.closedBy === undefined ? {} : { closedBy: { case: mutant.closedBy, caught: catchingCases(oracles).has(mutant.closedBy) } };
    const outcome: MutantOutcome = { id: mutant.id, description: mutant.description, caught: by.length > 0, by, oracles, seconds: (performance.now() - t) / 1000, ...closedBy };
    const corner = outcome.closedBy === undefined ? '' : outcome.closedBy.caught ? `, closed by ${outcome.closedBy.case}` : `, NOT caught by ${outcome.closedBy.case}, the case meant to close it`;
    console.log(`${outcome.caught ? 'caught  ' : 'SURVIVED'} ${mutant.id} (${outcome.seconds.toFixed(1)} s${corner})`);
    return outcome;
  });
  console.log(`\n${textTable(
    ['mutant', 'description', 'caught', ...ORACLES.map(oracleName), 'worst share', 'closed by'],
    outcomes.map((o) => [o.id, o.description, o.caught ? 'yes' : 'NO', ...ORACLES.map((k) => (o.oracles[k].caught ? 'yes' : '-')), percent(Math.max(...ORACLES.map((k) => o.oracles[k].worstShare))), closedByCell(o)]),
  )}`);
  const sensitivity: Threshold[] = [];
  for (const file of listGoldenFiles()) sensitivity.push(...(await thresholds(loadGolden(file))));
  console.log(`\ndetection thresholds (relative error in one element of ∂L/∂0.weight, or of the first parameter gradient that is not all 0):\n${textTable(SENSITIVITY_HEADER, sensitivityRows(sensitivity))}`);
  const unconfirmed = sensitivity.filter((t) => !t.confirmed);
  if (unconfirmed.length > 0) console.log(`warning: not confirmed end to end: ${unconfirmed.map((t) => `${t.case} ${t.oracle} ${t.dtype}`).join(', ')}`);
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/mutants.json', `${toJson({ mutants: outcomes, sensitivity })}\n`);
  writeFileSync('reports/mutants.md', markdown(outcomes, sensitivity));
  const survived = outcomes.filter((o) => !o.caught).length;
  const open = outcomes.filter((o) => o.closedBy !== undefined && !o.closedBy.caught);
  console.log(`\n${outcomes.length - survived} of ${outcomes.length} mutants caught in ${((performance.now() - started) / 1000).toFixed(0)} s; reports/mutants.md, reports/mutants.json`);
  if (open.length > 0) console.log(`not caught by the case meant to close them: ${open.map((o) => `${o.id} (${o.closedBy!.case})`).join(', ')}`);
  return survived === 0 && open.length === 0 ? 0 : 1;
}

process.exitCode = await main();
