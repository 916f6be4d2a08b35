import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { staleness } from '../../src/golden/freshness.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { recoverInterruptedSwap } from '../../src/capture/swap.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';

// The driver (scripts/goldens.ts) is tested with a stand-in generator that copies committed
// goldens, so staging, validation, change reports and the atomic replacement run without torch.
// Old set: three cases; new set: the same three plus a fourth. Both are valid golden sets.

const CASES = ['seed-3-4-2', 'relu-kink', 'identity-hidden-f64'];
const NEW_CASE = 'two-hidden-batch1-f64';
const root = mkdtempSync(join(tmpdir(), 'gradparity-goldens-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function makeSet(dir: string, cases: readonly string[]): string {
  cpSync('goldens/schema.json', join(dir, 'schema.json'));
  for (const c of cases) {
    cpSync(`goldens/${c}.json`, join(dir, `${c}.json`));
    for (const d of DTYPES) cpSync(`goldens/onnx/${c}.${d}.onnx`, join(dir, 'onnx', `${c}.${d}.onnx`));
  }
  return dir;
}

let counter = 0;
/** A fresh scratch area: the committed (old) golden dir, and the source the stand-in copies from (new). */
function scratch(): { goldens: string; source: string } {
  const area = join(root, `area-${counter++}`);
  const goldens = join(area, 'goldens');
  const source = join(area, 'source');
  for (const d of [goldens, source]) mkdirSync(join(d, 'onnx'), { recursive: true });
  makeSet(goldens, CASES);
  makeSet(source, [...CASES, NEW_CASE]);
  return { goldens, source };
}

/** Path → SHA-256 of every file under a directory, for byte-for-byte comparisons of whole sets. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name).slice(dir.length)] = createHash('sha256').update(readFileSync(join(e.parentPath, e.name))).digest('hex');
  }
  return out;
}

function driverEnv(source: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GRADPARITY_GENERATOR: 'test/fixtures/fake_generator.py', FAKE_GOLDENS_SOURCE: source, ...extra };
}

// The driver runs as one file that esbuild (the transform tsx itself uses) bundles from its
// sources once, here: each of this file's two dozen runs then starts in about 0.2 s instead of the
// 0.6 s of loading every module through tsx. The bundle sits two levels below the project root,
// as src/capture/swap.ts and src/golden/files.ts do, so that the paths they take from their own
// location (python/, goldens/) and node_modules resolve as from source. One node process, no
// wrapper: a SIGKILL reaches the driver itself.
const bundle = resolve('node_modules', '.cache', `goldens-driver-${process.pid}.mjs`);
buildSync({
  entryPoints: ['scripts/goldens.ts'], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'error',
  // The ESM builds of dependencies that ship both; the native onnxruntime addon stays a package import.
  mainFields: ['module', 'main'], external: ['onnxruntime-node'],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
afterAll(() => rmSync(bundle, { force: true }));
const DRIVER = [process.execPath, bundle] as const;

function runDriver(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(DRIVER[0], [DRIVER[1], ...args], { env, encoding: 'utf8' });
}

/** The same without blocking, so that runs can overlap. */
function runDriverAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(DRIVER[0], [DRIVER[1], ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

/** Resolves when the child prints a line matching `pattern` on stdout. */
function lineMatching(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => pattern.test(line) && (lines.close(), resolve(line)));
    child.on('close', () => reject(new Error(`the driver ended without printing a line matching ${pattern}`)));
  });
}

describe('npm run goldens (with a stand-in generator)', () => {
  it('replaces the set, says what changed, and validates before it touches the directory', () => {
    const { goldens, source } = scratch();
    const run = runDriver(['--goldens', goldens], driverEnv(source));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`new      ${NEW_CASE}.json`);
    expect(run.stdout).toMatch(/^\[4\/4\] two-hidden-batch1-f64 \(0\.00 s\)$/m);
    expect(snapshot(goldens)).toEqual(snapshot(source));
  });

  it('refuses an invalid new set and leaves the old one as it was', () => {
    const { goldens, source } = scratch();
    const before = snapshot(goldens);
    writeFileSync(join(source, `${NEW_CASE}.json`), readFileSync(join(source, `${NEW_CASE}.json`), 'utf8').replace('"schemaVersion": 2', '"schemaVersion": 7'));
    const run = runDriver(['--goldens', goldens], driverEnv(source));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/two-hidden-batch1-f64\.json: schemaVersion: /);
    expect(snapshot(goldens)).toEqual(before);
  });

  it('rejects a case name that would leave goldens/, and an unknown case', () => {
    const { goldens, source } = scratch();
    expect(runDriver(['--goldens', goldens, '--case', '../escape'], driverEnv(source)).stderr).toContain('a case name is lowercase letters, digits and dashes');
    const unknown = runDriver(['--goldens', goldens, '--case', 'no-such-case'], driverEnv(source));
    expect([unknown.status, unknown.stderr.includes('no such case in scripts/cases.json')]).toEqual([2, true]);
  });

  it('says how to install PyTorch when there is no Python with torch', () => {
    const run = runDriver(['--goldens', join(root, 'none')], { ...process.env, PYTHON: '/nonexistent/python3' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('apt-get install -y python3-torch python3-onnx python3-jsonschema');
    expect(run.stderr).toContain('pip install');
  });
});

describe('npm run goldens -- --check', () => {
  it('passes a set identical to a fresh regeneration', () => {
    const { goldens, source } = scratch();
    makeSet(goldens, [NEW_CASE]);
    const run = runDriver(['--goldens', goldens, '--check'], driverEnv(source));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('matches a fresh regeneration byte for byte');
  });

  it('fails a hand-edited number, naming the file and the tensor', () => {
    const { goldens, source } = scratch();
    makeSet(goldens, [NEW_CASE]);
    const file = join(goldens, 'seed-3-4-2.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('-0.04542700573801994', '-0.04542700573801995'));
    const run = runDriver(['--goldens', goldens, '--check'], driverEnv(source));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}: expected.float32.tensors["grad.x"].data[0]: -0.04542700573801995 is not a float32 value`);
  });

  it('fails a hand edit whose digest was forged too, naming the tensor and the ULPs', () => {
    const { goldens, source } = scratch();
    makeSet(goldens, [NEW_CASE]);
    const file = join(goldens, 'seed-3-4-2.json');
    const g = JSON.parse(readFileSync(file, 'utf8'));
    const grad = g.expected.float64.tensors['grad.0.bias'];
    grad.data[1] = grad.data[1] * (1 + 2 ** -50);
    grad.sha256 = createHash('sha256').update(new Uint8Array(new Float64Array(grad.data).buffer)).digest('hex');
    writeFileSync(file, `${JSON.stringify(g, null, 1)}\n`);
    const run = runDriver(['--goldens', goldens, '--check'], driverEnv(source));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/seed-3-4-2\.json: expected\.float64\.tensors\["grad\.0\.bias"\]: 1 \/ 4 changed, up to \d+ ULP .* at \(1\) against a fresh regeneration/);
  });
});

describe('interrupting the driver', () => {
  // Each named point stops the driver with SIGKILL (no cleanup at all) at one moment of the write.
  const points = ['generated', 'copied', 'validated', 'swapping', 'swapped'];

  it.concurrent.each(points)('killed at "%s": goldens/ is byte for byte the old set or the new one', async (point) => {
    const { goldens, source } = scratch();
    const [oldSet, newSet] = [snapshot(goldens), snapshot(source)];
    const run = await runDriverAsync(['--goldens', goldens], driverEnv(source, { GRADPARITY_KILL_AT: point }));
    expect(run.signal).toBe('SIGKILL');
    const after = snapshot(goldens);
    expect([oldSet, newSet]).toContainEqual(after);
    // Up to the swap the old set stays; from the swap on, the new one is in place.
    expect(after).toEqual(point === 'swapped' ? newSet : oldSet);
    // The next run cleans up whatever the killed one left, and finishes the job.
    const again = await runDriverAsync(['--goldens', goldens], driverEnv(source));
    expect(again.status, again.stderr).toBe(0);
    expect(snapshot(goldens)).toEqual(newSet);
    expect(readdirSync(join(goldens, '..')).filter((e) => e.includes('staging'))).toEqual([]);
  });

  // After the first case, and after the last (generated, but the generator not yet done).
  it.concurrent.each([1, 4])('killed with its generator after %i of 4 cases: goldens/ is the old set', async (cases) => {
    const { goldens, source } = scratch();
    const oldSet = snapshot(goldens);
    // The stand-in stalls after `cases` cases: a moment mid-generation, known from the driver's
    // own progress line. Driver and generator are killed together, as a killed CI job would be.
    const child = spawn(DRIVER[0], [DRIVER[1], '--goldens', goldens], { env: driverEnv(source, { FAKE_STALL_AFTER: String(cases) }), stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    const closed = new Promise((r) => child.on('close', r));
    await lineMatching(child, new RegExp(`^\\[${cases}/4\\] `));
    process.kill(-child.pid!, 'SIGKILL');
    await closed;
    expect(snapshot(goldens)).toEqual(oldSet);
  });

  it('without an atomic exchange, a kill between the two renames is rolled back by the next run', async () => {
    const { goldens, source } = scratch();
    const [oldSet, newSet] = [snapshot(goldens), snapshot(source)];
    const env = { GRADPARITY_NO_EXCHANGE: '1' };
    for (const [point, afterKill] of [['journaled', oldSet], ['half-renamed', {}]] as const) {
      const run = await runDriverAsync(['--goldens', goldens], driverEnv(source, { ...env, GRADPARITY_KILL_AT: point }));
      expect(run.signal).toBe('SIGKILL');
      expect(snapshot(goldens)).toEqual(afterKill); // after the first rename, goldens/ is briefly absent
      expect(recoverInterruptedSwap(goldens)).toMatch(point === 'journaled' ? /nothing had moved yet/ : /rolled back to the old set/);
      expect(snapshot(goldens)).toEqual(oldSet);
    }
    const done = await runDriverAsync(['--goldens', goldens], driverEnv(source, env));
    expect(done.status, done.stderr).toBe(0);
    expect(snapshot(goldens)).toEqual(newSet);
  });

  it('on Ctrl-C stops the generator, removes its staging directory and leaves goldens/ unchanged', async () => {
    const { goldens, source } = scratch();
    const oldSet = snapshot(goldens);
    // The stand-in stalls after its first case: the driver is then surely mid-run, with its
    // handlers installed (they are in place before the generator starts).
    const child = spawn(DRIVER[0], [DRIVER[1], '--goldens', goldens], { env: driverEnv(source, { FAKE_STALL_AFTER: '1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const closed = new Promise((r) => child.on('close', r));
    await lineMatching(child, /^\[1\/4\] /);
    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(130);
    expect(stderr).toContain('interrupted (SIGINT)');
    expect(snapshot(goldens)).toEqual(oldSet);
    expect(readdirSync(join(goldens, '..')).filter((e) => e.includes('staging'))).toEqual([]);
  });
});

describe('the commands the tool suggests', () => {
  it('regenerating the whole set, as suggested for a golden whose case is gone, removes that golden', () => {
    const { goldens, source } = scratch();
    // The source (what the generator produces) no longer has relu-kink: its spec was removed.
    rmSync(join(source, 'relu-kink.json'));
    for (const d of DTYPES) rmSync(join(source, 'onnx', `relu-kink.${d}.onnx`));
    const specs = JSON.parse(readFileSync('scripts/cases.json', 'utf8'));
    specs.cases = specs.cases.filter((c: { name: string }) => c.name !== 'relu-kink');
    const casesFile = join(goldens, '..', 'cases.json');
    writeFileSync(casesFile, JSON.stringify(specs));
    const stale = staleness(loadGolden(join(goldens, 'relu-kink.json')), { cases: casesFile })!;
    expect(stale.command).toBe('npm run goldens');
    // `npm run goldens [-- args]` runs the driver with those args; here against the scratch set.
    const args = stale.command.split(' -- ')[1]?.split(' ') ?? [];
    const run = runDriver([...args, '--goldens', goldens], driverEnv(source));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('removed  relu-kink.json');
    expect(existsSync(join(goldens, 'relu-kink.json'))).toBe(false);
  });
});
