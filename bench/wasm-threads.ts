/**
 * `npx tsx bench/wasm-threads.ts`: the wasm backend in headless Chromium (a cross-origin isolated page)
 * on 1 thread against N threads (`selectBackend('wasm', { wasmThreads })`), same random-weight model
 * and input. The thread count is set once per page, so each measurement is a fresh page; pages
 * alternate A B B A ... so that a change of the machine's load falls on both. Per page: one warm-up
 * pass, then up to `--reps` timed passes (`predict` + `await data()`), median.
 * Prints a table (ms per frame, each run and the median, and N threads / 1 thread) and writes
 * bench/results/wasm-threads-<date>.json.
 *
 * Options: --threads 2 (the count compared with 1)  --cases tiny@1280x720,base@1920x1080
 *          --rounds 2 (A B B A per round)  --reps 3  --out DIR  --label NAME (added to the file name)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBrowserFixture, runInPage } from '../test/browser/harness';
import type { ModelTiming } from './browser-page';
import type { PresetName } from '../src/core/config';
import { freshResultBase, resultDate } from './result-file.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    cases: { type: 'string', default: 'tiny@1280x720,base@1920x1080' },
    rounds: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results' },
    label: { type: 'string' },
  },
});
const many = Number(args.threads);
const rounds = Number(args.rounds);
const reps = Number(args.reps);
const cases = args.cases.split(',').map((c) => {
  const [preset, size] = c.split('@') as [PresetName, string];
  const [w, h] = size.split('x').map(Number) as [number, number];
  return { preset, w, h };
});
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Run {
  threads: number;
  /** What tfjs reported in that page. */
  reported: number;
  ms: number;
  runs: number[];
}

const fx = await createBrowserFixture();
const results: { preset: string; size: string; runs: Run[]; medianOne: number; medianMany: number; ratio: number; pairRatios: number[] }[] = [];
try {
  for (const { preset, w, h } of cases) {
    const runs: Run[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const threads of [1, many, many, 1]) {
        const page = await fx.open('/blank.html', { entry: 'bench/browser-page.ts', failOnErrors: false });
        try {
          const info = await runInPage(page, ([t]) => window.benchBackend('wasm', t), [threads] as [number], { timeoutMs: 120_000 });
          if ('error' in info) throw new Error(`wasm did not start: ${info.error}`);
          const t: ModelTiming = await runInPage(page, ([p, ww, hh, n]) => window.benchModel(p, ww, hh, n, 60_000), [preset, w, h, reps] as [PresetName, number, number, number], { timeoutMs: 400_000 });
          runs.push({ threads, reported: info.wasmThreads ?? 0, ms: t.ms, runs: t.runs });
          log(`${preset} ${w}x${h}: ${threads} thread(s) (tfjs: ${info.wasmThreads}) ${t.ms.toFixed(0)} ms [${t.runs.map((v) => v.toFixed(0)).join(', ')}], load ${loadavg()[0]!.toFixed(1)}`);
        } finally {
          await page.close();
        }
      }
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const one = runs.filter((r) => r.threads === 1);
    const more = runs.filter((r) => r.threads === many);
    // Neighbouring pages pair up: (A, B) and (B, A) of each round.
    const pairRatios = one.map((o, i) => o.ms / more[i]!.ms);
    results.push({ preset, size: `${w}x${h}`, runs, medianOne: med(one.map((r) => r.ms)), medianMany: med(more.map((r) => r.ms)), ratio: med(one.map((r) => r.ms)) / med(more.map((r) => r.ms)), pairRatios });
  }
} finally {
  await fx.close();
}

console.log(`\nwasm in headless Chromium, 1 thread against ${many}; machine: ${cpus().length} logical cores (${cpus()[0]?.model}), load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log(`| preset | size | 1 thread ms/frame (median) | ${many} threads ms/frame (median) | speed-up (1 / ${many} threads) | per-pair speed-ups |`);
console.log('|---|---|---:|---:|---:|---|');
for (const r of results) {
  console.log(`| ${r.preset} | ${r.size} | ${r.medianOne.toFixed(0)} | ${r.medianMany.toFixed(0)} | x${r.ratio.toFixed(2)} | ${r.pairRatios.map((x) => `x${x.toFixed(2)}`).join(', ')} |`);
}
await mkdir(args.out, { recursive: true });
const file = `${freshResultBase(args.out, `wasm-threads-${resultDate()}${args.label ? `-${args.label}` : ''}`)}.json`;
await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, cpu: cpus()[0]?.model, threads: many, rounds, reps, results }, null, 2)}\n`);
console.log(`\nwritten: ${file}`);
