/**
 * `npm run bench`: model throughput (megapixels/s and achieved GFLOP/s against the backend's measured
 * peak) by preset x size x backend in Node, 4K tiled cost per pixel against untiled 1080p, peak RSS.
 * Each figure is the median of repeated runs after a warm-up; ratios are taken within this run.
 * Prints a table and writes bench/results/<date>-<machine>.json. `--quick` runs a subset (< 5 min).
 * `--browser` runs bench/browser.ts (headless Chromium) instead; `--peer` runs bench/peer.ts (the SDK
 * against ONNX Runtime on the same frames), `--peer --browser` bench/peer-browser.ts (onnxruntime-web).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendName } from '../src/core/backend.js';
import { flopsPerPixel, PRESETS, type PresetName } from '../src/core/config.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { freshResultBase, resultDate } from './result-file.js';

// `npm run bench -- --peer`: the SDK against ONNX Runtime (bench/peer.ts); with `--browser`, against
// onnxruntime-web in headless Chromium (bench/peer-browser.ts).
if (process.argv.includes('--peer')) {
  await import(process.argv.includes('--browser') ? './peer-browser.js' : './peer.js');
  process.exit(0);
}
// `npm run bench -- --browser`: the browser part instead (bench/browser.ts, same as `npm run bench:browser`).
if (process.argv.includes('--browser')) {
  await import('./browser.js');
  process.exit(0);
}

const { values: args } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, backends: { type: 'string' } } });
const quick = Boolean(args.quick);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median wall time (ms) of `fn` over `reps` runs after `warm` warm-up runs; `fn` must block until done. */
function time(fn: () => void, reps: number, warm = 1): number {
  for (let i = 0; i < warm; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/**
 * The backend's peak: the best GFLOP/s among a few large dense ops (3x3 convolutions of 32 and 64
 * channels, a 1024^3 matMul), each timed after a warm-up. The network is made of such ops.
 */
function peakGflops(reps: number): { gflops: number; what: string } {
  const candidates: { what: string; flops: number; run: () => void; dispose: () => void }[] = [];
  for (const [h, c] of [
    [256, 32],
    [128, 64],
  ] as const) {
    const x = tf.randomUniform([1, h, h, c]) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, c, c]) as tf.Tensor4D;
    candidates.push({ what: `conv2d 3x3 ${c}->${c} on ${h}x${h}`, flops: 2 * 9 * c * c * h * h, run: () => tf.tidy(() => void tf.conv2d(x, w, 1, 'same').dataSync()), dispose: () => tf.dispose([x, w]) });
  }
  const a = tf.randomUniform([1024, 1024]) as tf.Tensor2D;
  const b = tf.randomUniform([1024, 1024]) as tf.Tensor2D;
  candidates.push({ what: 'matMul 1024x1024x1024', flops: 2 * 1024 ** 3, run: () => tf.tidy(() => void tf.matMul(a, b).dataSync()), dispose: () => tf.dispose([a, b]) });
  let best = { gflops: 0, what: '' };
  for (const c of candidates) {
    const ms = time(c.run, reps, 2);
    const gflops = c.flops / ms / 1e6;
    if (gflops > best.gflops) best = { gflops, what: c.what };
    c.dispose();
  }
  return best;
}

interface Row {
  backend: string;
  preset: PresetName;
  size: string;
  tiled: boolean;
  ms: number;
  mpxPerS: number;
  gflops: number;
  peakFraction: number;
}

const sizes: [number, number, boolean][] = quick
  ? [
      [256, 256, false],
      [1280, 720, false],
      [1920, 1080, false],
    ]
  : [
      [256, 256, false],
      [1280, 720, false],
      [1920, 1080, false],
      [3840, 2160, true],
    ];
const backends = (args.backends ?? (quick ? 'wasm' : 'wasm,cpu')).split(',') as BackendName[];
const presets: PresetName[] = ['tiny', 'base'];
const rows: Row[] = [];
const peaks: Record<string, { gflops: number; what: string }> = {};
let rssPeak = 0;
const sampleRss = (): void => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
};

for (const backend of backends) {
  await selectBackend(backend);
  const reps = backend === 'cpu' ? 1 : quick ? 3 : 5;
  peaks[backend] = peakGflops(backend === 'cpu' ? 1 : 3);
  for (const preset of presets) {
    const model = SimpleIR.create(preset, { init: 'random', seed: 1 });
    for (const [w, h, tiled] of sizes) {
      if (backend === 'cpu' && w * h > 1280 * 720) continue; // ~25x slower than wasm: keep the run bounded
      const x = tf.randomUniform([1, h, w, 3]) as tf.Tensor4D;
      const ms = time(() => {
        const y = model.predict(x, { tileSize: tiled ? 512 : 0 });
        y.dataSync();
        y.dispose();
        sampleRss();
      }, reps);
      x.dispose();
      const mpx = (w * h) / 1e6;
      const gflops = (flopsPerPixel(PRESETS[preset]) * w * h) / ms / 1e6;
      rows.push({ backend, preset, size: `${w}x${h}`, tiled, ms, mpxPerS: mpx / (ms / 1000), gflops, peakFraction: gflops / peaks[backend]!.gflops });
      const r = rows.at(-1)!;
      process.stderr.write(`${backend} ${preset} ${r.size}${tiled ? ' tiled' : ''}: ${ms.toFixed(0)} ms, ${r.mpxPerS.toFixed(2)} Mpx/s, ${gflops.toFixed(2)} GFLOP/s (${(100 * r.peakFraction).toFixed(0)} % of peak)\n`);
    }
    model.dispose();
  }
}

const costPerPixel = (preset: PresetName, size: string): number | undefined => {
  const r = rows.find((x) => x.backend === 'wasm' && x.preset === preset && x.size === size);
  return r ? r.ms / (Number(size.split('x')[0]) * Number(size.split('x')[1])) : undefined;
};
const tiling = presets.map((p) => {
  const k4 = costPerPixel(p, '3840x2160');
  const hd = costPerPixel(p, '1920x1080');
  return { preset: p, ratio4kTo1080p: k4 && hd ? k4 / hd : null };
});

console.log(`\nmachine ${hostname()}, ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}`);
console.log(Object.entries(peaks).map(([b, p]) => `peak ${b}: ${p.gflops.toFixed(2)} GFLOP/s (${p.what})`).join('\n'));
console.log('\n| backend | preset | size | ms/frame | Mpx/s | GFLOP/s | % of peak |\n|---|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.backend} | ${r.preset} | ${r.size}${r.tiled ? ' (tiled)' : ''} | ${r.ms.toFixed(0)} | ${r.mpxPerS.toFixed(2)} | ${r.gflops.toFixed(2)} | ${(100 * r.peakFraction).toFixed(0)} |`);
for (const t of tiling) if (t.ratio4kTo1080p) console.log(`4K tiled cost per pixel / 1080p untiled (${t.preset}, wasm): ${t.ratio4kTo1080p.toFixed(2)}x`);
console.log(`peak RSS ${(rssPeak / 1e9).toFixed(2)} GB`);

const date = resultDate();
const outDir = args.out ?? 'bench/results';
await mkdir(outDir, { recursive: true });
const file = `${freshResultBase(outDir, `${date}-${hostname()}${quick ? '-quick' : ''}`)}.json`;
await writeFile(file, JSON.stringify({ date, machine: { host: hostname(), cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, quick, peaks, rows, tiling, rssPeakBytes: rssPeak }, null, 2));
console.log(`written ${file}`);
