/**
 * `npm run bench -- --peer --browser`: the SDK against onnxruntime-web in headless Chromium, on the
 * same network, weights and photograph frames, in one cross-origin-isolated page (bench/peer-page.ts):
 * tfjs wasm vs ORT's wasm EP (tiny 1280x720, base 1920x1080; ORT on 1 thread, then on 2 in a fresh
 * page) and tfjs webgpu vs ORT's WebGPU EP (SwiftShader, a CPU emulation of a GPU, so small frames:
 * tiny 256x256, base 128x128). Runs alternate SDK / ORT after a warm-up of each; figures are medians
 * and the ratio SDK time / ORT time is taken within the run. Prints a table and writes
 * bench/results/peer-browser-<date>-<host>.json. `--reps N` (default 5; 3 on webgpu).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBrowserFixture, REPO_ROOT, runInPage } from '../test/browser/harness';
import type { PeerResult } from './peer-page';
import type { BackendName } from '../src/core/backend';
import type { PresetName } from '../src/core/config';
import { freshResultBase, resultDate } from './result-file.js';

const { values: args } = parseArgs({ options: { peer: { type: 'boolean' }, browser: { type: 'boolean' }, reps: { type: 'string' }, out: { type: 'string' } } });
const reps = Number(args.reps ?? 5);
const PHOTO = '/cache/photos/val/mate-LadyBird.jpg';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Case { backend: BackendName; ep: 'wasm' | 'webgpu'; preset: PresetName; w: number; h: number; reps: number; ortThreads: number }
const wasmCases = (ortThreads: number): Case[] => [
  { backend: 'wasm', ep: 'wasm', preset: 'tiny', w: 1280, h: 720, reps, ortThreads },
  { backend: 'wasm', ep: 'wasm', preset: 'base', w: 1920, h: 1080, reps, ortThreads },
];
const pages: Case[][] = [
  [...wasmCases(1), { backend: 'webgpu', ep: 'webgpu', preset: 'tiny', w: 256, h: 256, reps: Math.min(reps, 3), ortThreads: 1 }, { backend: 'webgpu', ep: 'webgpu', preset: 'base', w: 128, h: 128, reps: Math.min(reps, 3), ortThreads: 1 }],
  wasmCases(2),
];

const rows: (PeerResult & { sdkMedian: number; ortMedian: number; ratio: number })[] = [];
const fx = await createBrowserFixture({ routes: { '/ort/': join(REPO_ROOT, 'node_modules/onnxruntime-web/dist') } });
let browserVersion = '';
try {
  browserVersion = fx.context.browser()?.version() ?? '';
  for (const cases of pages) {
    const page = await fx.open('/blank.html', { entry: 'bench/peer-page.ts', failOnErrors: false });
    for (const c of cases) {
      const info = await runInPage(page, (b) => window.peerBackend(b), c.backend);
      if ('error' in info || info.name !== c.backend) {
        process.stderr.write(`${c.backend}: unavailable (${JSON.stringify(info)})\n`);
        continue;
      }
      const r = await runInPage(page, (a) => window.peerCompare(a), { preset: c.preset, w: c.w, h: c.h, ep: c.ep, reps: c.reps, ortThreads: c.ortThreads, photo: PHOTO }, { timeoutMs: 600_000 });
      const row = { ...r, sdkMedian: median(r.sdkMs), ortMedian: median(r.ortMs), ratio: median(r.sdkMs) / median(r.ortMs) };
      rows.push(row);
      process.stderr.write(`${r.preset} ${r.size} tfjs ${r.backend} (${r.tfjsThreads ?? '-'} thr) ${row.sdkMedian.toFixed(0)} ms vs ORT web ${r.ep} (${r.ep === 'wasm' ? `${r.ortThreads} thr` : 'gpu'}) ${row.ortMedian.toFixed(0)} ms: SDK/ORT ${row.ratio.toFixed(2)}x, max |diff| ${r.maxAbsDiff.toExponential(1)}\n`);
    }
    if (page.errors.length) process.stderr.write(`page errors:\n${page.errors.join('\n')}\n`);
    await page.close();
  }
} finally {
  await fx.close();
}

const load = loadavg()[0]!;
console.log(`\nmachine ${hostname()}, ${cpus().length} x ${cpus()[0]?.model}, Chromium ${browserVersion}, load average ${load.toFixed(2)}; medians of alternating runs; webgpu is SwiftShader (CPU)`);
console.log('\n| preset | frame | SDK (tfjs) | ORT web | runs | SDK ms | ORT ms | SDK/ORT time | max abs diff |\n|---|---|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const sdk = `${r.backend}${r.tfjsThreads !== null ? `, ${r.tfjsThreads} thr` : ''}`;
  const ort = `${r.ep}${r.ep === 'wasm' ? `, ${r.ortThreads} thr` : ''}`;
  console.log(`| ${r.preset} | ${r.size} | ${sdk} | ${ort} | ${r.sdkMs.length} | ${r.sdkMedian.toFixed(0)} | ${r.ortMedian.toFixed(0)} | ${r.ratio.toFixed(2)}x | ${r.maxAbsDiff.toExponential(1)} |`);
}
const date = resultDate();
const outDir = args.out ?? 'bench/results';
await mkdir(outDir, { recursive: true });
const file = `${freshResultBase(outDir, `peer-browser-${date}-${hostname()}`)}.json`;
await writeFile(file, JSON.stringify({ date, machine: { host: hostname(), cpus: cpus().length, model: cpus()[0]?.model, chromium: browserVersion, loadAverage1m: load }, note: 'webgpu is SwiftShader (CPU emulation of a GPU): not real-GPU figures', ort: 'onnxruntime-web 1.31.1 (ort.webgpu.min.mjs)', rows }, null, 2));
console.log(`written ${file}`);
