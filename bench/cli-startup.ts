/**
 * Median wall time of `stagecraft --help` over 20 runs (after 2 warm-up runs).
 * Run: npm run bench:cli-startup (needs `npm run build` first).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median } from './support.js';

const bin = fileURLToPath(new URL('../bin/stagecraft.js', import.meta.url));
const runs = Number(process.env.RUNS ?? 20);

function timeOnce(args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, [bin, ...args], { stdio: 'ignore' });
  const elapsed = performance.now() - start;
  if (result.status !== 0) throw new Error(`stagecraft ${args.join(' ')} exited ${result.status}`);
  return elapsed;
}

function baseline(): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
    samples.push(performance.now() - start);
  }
  return samples;
}

for (const args of [['--help'], ['--version']]) {
  timeOnce(args);
  timeOnce(args);
  const samples = Array.from({ length: runs }, () => timeOnce(args));
  console.log(`stagecraft ${args.join(' ').padEnd(10)} median ${median(samples).toFixed(1)} ms  (min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)}, ${runs} runs)`);
}
console.log(`node -e ''             median ${median(baseline()).toFixed(1)} ms  (bare Node start, for reference)`);
console.log('target: stagecraft --help median <= 150 ms');
