import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT, runCli } from '../../src/cli/program.ts';

// Every gradparity command the documentation shows must work as printed. The commands are taken
// from the Markdown itself (code spans and code blocks), so a renamed option or a moved file
// fails here before a reader trips over it. Synopses (with <placeholders>, [optional parts] or
// alternatives a|b) describe commands rather than show one, and are left out.

const DOCS = ['README.md', 'CONTRIBUTING.md', 'docs/tolerance-policy.md'];

/** `gradparity …` commands in code spans and code-block lines, whitespace normalised. */
function documentedCommands(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const spans = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```|`([^`]+)`/g)].flatMap((m) => (m[1] !== undefined ? m[1].split('\n') : [m[2]!]));
  return spans
    .map((s) => s.replace(/\s+/g, ' ').replace(/#.*$/, '').trim())
    .filter((s) => /^(npx )?gradparity \S/.test(s))
    .filter((s) => !/[<>|]|\s\[|\.\.\./.test(s));
}

/** Shell words: single quotes protect brackets, and a `*` in the last path segment is a glob. */
function shellWords(command: string): string[] {
  const words = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => ({ word: m[1] ?? m[2]!, quoted: m[1] !== undefined }));
  return words.flatMap(({ word, quoted }) => {
    if (quoted || !word.includes('*')) return [word];
    const pattern = new RegExp(`^${word.split('/').at(-1)!.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    return readdirSync(dirname(word)).filter((f) => pattern.test(f)).sort().map((f) => join(dirname(word), f));
  });
}

const commands = [...new Set(DOCS.flatMap(documentedCommands))];

// The commands run in a project of their own: a goldens/ folder with a few of the committed
// goldens (the seed case the examples name, a kink, an unreduced loss, a graph onnxruntime cannot
// run) and schema.json. Whether every golden passes is the main job's test (test/parity); here
// the question is whether each command works as printed, and reports/ lands in that project.
const FIXTURE_CASES = ['seed-3-4-2', 'relu-kink', 'ce-none-f64', 'gelu-mlp-f64'];
const repo = process.cwd();
const project = mkdtempSync(join(tmpdir(), 'gradparity-docs-'));
beforeAll(() => {
  mkdirSync(join(project, 'goldens', 'onnx'), { recursive: true });
  cpSync(join(repo, 'goldens', 'schema.json'), join(project, 'goldens', 'schema.json'));
  for (const c of FIXTURE_CASES) {
    cpSync(join(repo, 'goldens', `${c}.json`), join(project, 'goldens', `${c}.json`));
    for (const d of ['float32', 'float64']) cpSync(join(repo, 'goldens', 'onnx', `${c}.${d}.onnx`), join(project, 'goldens', 'onnx', `${c}.${d}.onnx`));
  }
  process.chdir(project);
});
afterAll(() => {
  process.chdir(repo);
  rmSync(project, { recursive: true, force: true });
});

describe('the commands the documentation shows', () => {
  it('are found', () => {
    expect(commands).toContain('npx gradparity check goldens/*.json');
    expect(commands.length).toBeGreaterThan(3);
  });

  // As a reader would run them, but outside CI's bookkeeping: no job summary, no annotations.
  afterEach(() => vi.unstubAllEnvs());

  it.each(commands)('%s', async (command) => {
    vi.stubEnv('GITHUB_STEP_SUMMARY', '');
    vi.stubEnv('GITHUB_ACTIONS', '');
    const [, ...args] = shellWords(command.replace(/^npx /, ''));
    let err = '';
    const code = await runCli(args, { out: () => undefined, err: (t) => (err += t) });
    // A bare `gradparity gradcheck` in prose names the command; it needs a golden to run.
    if (args.length === 1 && args[0] === 'gradcheck') return void expect(code).toBe(EXIT.badInput);
    expect(code, err).toBe(EXIT.ok);
  });
});
