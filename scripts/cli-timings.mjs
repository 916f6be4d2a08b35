// Wall time of the CLI's commands, median of N runs each (default 7): start-up (--help,
// --version) and the main job (check). `node scripts/cli-timings.mjs [runs] [-- <bin> ...]`
// times bin/gradparity.js, or the given launcher(s), e.g. an older checkout's, side by side.
import { spawnSync } from 'node:child_process';

const [runsArg, sep, ...launchers] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);
const bins = sep === '--' && launchers.length > 0 ? launchers : ['bin/gradparity.js'];
const commands = [['--help'], ['--version'], ['eval', 'goldens/seed-3-4-2.json'], ['check', '--no-reports']];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const bin of bins) {
  for (const args of commands) {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      const run = spawnSync(process.execPath, [bin, ...args], { stdio: 'ignore' });
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (run.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${run.status}`);
    }
    console.log(`${bin} ${args.join(' ')}: median ${median(times).toFixed(3)} s, best ${Math.min(...times).toFixed(3)} s over ${runs} runs`);
  }
}
