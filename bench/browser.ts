/**
 * `npm run bench:browser`: the browser part of the benchmarks, in headless Chromium (Debian's, through
 * the browser test harness; WebGPU and WebGL run on SwiftShader, a CPU emulation of a GPU, on a machine
 * with no GPU):
 *  1. model throughput (Mpx/s, achieved GFLOP/s against the backend's peak measured in the same page)
 *     by backend (wasm, webgl when it starts, webgpu) x preset (tiny, base) x size;
 *  2. the zero-copy WebGPU frame path against the fallback (CPU copy) path on the same VideoFrames,
 *     with an identity model (frame paths alone) and with tiny, ratio taken in one run;
 *  3. live mode under overload: frames at 30 fps into restore(tiny, { mode: 'live' });
 *  4. pipeline overhead: the first frames of the sample clip (examples/assets/sample-rain.mp4, cut by
 *     ffmpeg) through fromMp4 -> restore(tiny, lossless) -> toMp4 against restore alone on copies of the
 *     same decoded frames, alternating, on wasm (plus decode alone and encode alone, to place the difference).
 * Prints tables and writes bench/results/<date>-<machine>-browser.json (with `--parts`, the parts' names
 * are added: `...-browser-pipeline.json`). Each figure is a median after a warm-up; runs whose warm-up
 * is slow get fewer repetitions (see `budgetMs`), so parts 1-3 stay near 5 minutes on a 2-core machine;
 * part 4 adds about 2.
 *
 * Options: --backends wasm,webgl,webgpu  --sizes 256x256,1280x720  --live-frames 90  --out DIR
 *          --parts throughput,paths,live,pipeline (default all)  --pipeline-frames 30  --pipeline-reps 6
 *          --pipeline-backends wasm  --pipeline-size WxH (default the clip's 640x360; e.g. 128x72 for webgpu)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBrowserFixture, REPO_ROOT, runInPage, type BrowserFixture, type TestPage } from '../test/browser/harness';
import { ffmpeg, fixtureDir } from '../test/browser/video-fixtures';
import type { LiveResult, ModelTiming, PathTiming, PeakResult } from './browser-page';
import { pipelineRow, type PipelineRow, type PipelineTiming } from './pipeline-overhead';
import type { BackendName } from '../src/core/backend';
import type { PresetName } from '../src/core/config';
import { freshResultBase, resultDate } from './result-file.js';

const ALL_PARTS = ['throughput', 'paths', 'live', 'pipeline'];
const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,webgl,webgpu' },
    sizes: { type: 'string', default: '256x256,1280x720' },
    'live-frames': { type: 'string', default: '90' },
    parts: { type: 'string', default: ALL_PARTS.join(',') },
    'pipeline-frames': { type: 'string', default: '30' },
    'pipeline-reps': { type: 'string', default: '6' },
    'pipeline-backends': { type: 'string', default: 'wasm' },
    'pipeline-size': { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
    browser: { type: 'boolean' }, // accepted so that `npm run bench:browser -- --browser` is harmless
  },
});

const backends = args.backends.split(',') as BackendName[];
const sizes = args.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const presets: PresetName[] = ['tiny', 'base'];
const parts = new Set(args.parts.split(','));
for (const p of parts) if (!ALL_PARTS.includes(p)) throw new Error(`--parts: unknown part '${p}' (known: ${ALL_PARTS.join(', ')})`);
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const t0 = performance.now();
const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

// The pipeline's clip: the first frames of the sample clip, re-encoded as the sample recipe does (libx264, CRF 22), audio kept.
const media = await fixtureDir();
const SAMPLE_CLIP = join(REPO_ROOT, 'examples/assets/sample-rain.mp4');
const SAMPLE_FPS = 24;
const pipelineFrames = Number(args['pipeline-frames']);
let fx: BrowserFixture;
try {
  if (parts.has('pipeline')) {
    const scale = args['pipeline-size'] ? ['-vf', `scale=${args['pipeline-size'].replace('x', ':')}`] : [];
    await ffmpeg(['-i', SAMPLE_CLIP, '-t', String(pipelineFrames / SAMPLE_FPS), '-frames:v', String(pipelineFrames), ...scale, '-c:v', 'libx264', '-preset', 'slow', '-crf', '22', '-pix_fmt', 'yuv420p', '-c:a', 'copy', join(media.dir, 'pipeline.mp4')]);
  }
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
} catch (e) {
  await media.remove();
  throw e;
}
let page: TestPage;
const call = <A, R>(fn: (a: A) => R | Promise<R>, a: A): Promise<R> => runInPage(page, fn, a, { timeoutMs: 400_000 });

interface BackendResult {
  backend: string;
  fallbackAdapter?: boolean;
  error?: string;
  peak?: PeakResult;
  rows: (ModelTiming & { peakFraction: number })[];
  skipped: string[];
}
const results: BackendResult[] = [];
let paths: PathTiming[] = [];
const live: LiveResult[] = [];
const pipeline: (PipelineTiming & { row: PipelineRow })[] = [];
let browserVersion = '';

try {
  browserVersion = fx.context.browser()?.version() ?? '';
  page = await fx.open('/blank.html', { entry: 'bench/browser-page.ts', failOnErrors: false });
  const ua = await call(() => navigator.userAgent, undefined);
  browserVersion ||= /Chrome\/([\d.]+)/.exec(ua)?.[1] ?? ua;

  // 1. Model throughput.
  for (const want of parts.has('throughput') ? backends : []) {
    const info = await call((b) => window.benchBackend(b), want);
    if ('error' in info || info.name !== want) {
      const error = 'error' in info ? info.error : `got ${info.name}`;
      log(`${want}: unavailable (${error})`);
      results.push({ backend: want, error, rows: [], skipped: [] });
      continue;
    }
    const r: BackendResult = { backend: want, fallbackAdapter: info.fallbackAdapter, rows: [], skipped: [] };
    results.push(r);
    r.peak = await call((big) => window.benchPeak(big), want === 'wasm');
    log(`[${elapsed()}] ${want} peak ${r.peak.gflops.toFixed(2)} GFLOP/s (${r.peak.what})`);
    for (const preset of presets) {
      let last: ModelTiming | undefined;
      for (const [w, h] of sizes) {
        // Predict from the previous size; skip a cell whose one run would take over a minute.
        if (last && (last.ms * (w * h)) / (Number(last.size.split('x')[0]) * Number(last.size.split('x')[1])) > 60_000) {
          r.skipped.push(`${preset} ${w}x${h} (predicted > 60 s per frame)`);
          log(`[${elapsed()}] ${want} ${preset} ${w}x${h}: skipped (predicted > 60 s per frame)`);
          continue;
        }
        const m = await call((a) => window.benchModel(a.preset, a.w, a.h, 5, a.budget), { preset, w, h, budget: w * h > 1e6 ? 12_000 : 8_000 });
        last = m;
        const peakFraction = m.gflops / r.peak.gflops;
        r.rows.push({ ...m, peakFraction });
        log(`[${elapsed()}] ${want} ${preset} ${m.size}: ${m.ms.toFixed(0)} ms (${m.runs.length} runs; warm-up ${m.warmMs.toFixed(0)} ms), ${m.mpxPerS.toFixed(3)} Mpx/s, ${m.gflops.toFixed(2)} GFLOP/s, ${(100 * peakFraction).toFixed(0)} % of peak`);
      }
    }
  }

  // 2 and 3 on webgpu (the zero-copy path needs it).
  const gpu = parts.has('paths') || parts.has('live') ? await call((b) => window.benchBackend(b), 'webgpu' as BackendName) : { error: 'not asked for' };
  if (!('error' in gpu) && gpu.name === 'webgpu') {
    for (const [w, h] of parts.has('paths') ? ([[640, 360], [1280, 720]] as const) : []) {
      const id = await call((a) => window.benchPaths('identity', a.w, a.h, 5, 3), { w, h });
      paths.push(...id);
      log(`[${elapsed()}] paths identity ${w}x${h}: gpu ${id[0]!.msPerFrame.toFixed(1)} ms/frame, cpu ${id[1]!.msPerFrame.toFixed(1)} ms/frame`);
    }
    // With the model: tiny on SwiftShader WebGPU takes seconds per 256x256 frame (~25 s at 640x360), so 256x256, one frame per path.
    if (parts.has('paths')) {
      const tiny = await call((a) => window.benchPaths('tiny', a.w, a.h, 1, 1), { w: 256, h: 256 });
      paths.push(...tiny);
      log(`[${elapsed()}] paths tiny 256x256: gpu ${tiny[0]!.msPerFrame.toFixed(0)} ms/frame, cpu ${tiny[1]!.msPerFrame.toFixed(0)} ms/frame`);
    }
    if (parts.has('live')) {
      const frames = Number(args['live-frames']);
      const lr = await call((a) => window.benchLive(a.w, a.h, a.frames, 30), { w: 256, h: 256, frames });
      live.push(lr);
      log(`[${elapsed()}] live webgpu 256x256: in ${lr.metrics?.framesIn} out ${lr.metrics?.framesOut} dropped ${lr.metrics?.dropped}`);
    }
  } else if (parts.has('paths') || parts.has('live')) {
    log('webgpu unavailable: zero-copy and live parts skipped');
  }
  // Live mode on wasm as well (a CPU backend: compute blocks the page's thread, so the 30 fps timer also slows).
  if (parts.has('live') && backends.includes('wasm')) {
    await call((b) => window.benchBackend(b), 'wasm' as BackendName);
    const lr = await call((a) => window.benchLive(a.w, a.h, a.frames, 30), { w: 640, h: 360, frames: Number(args['live-frames']) });
    live.push(lr);
    log(`[${elapsed()}] live wasm 640x360: in ${lr.metrics?.framesIn} out ${lr.metrics?.framesOut} dropped ${lr.metrics?.dropped}`);
  }
  // 4. Pipeline overhead; wasm by default (webgpu here is SwiftShader: ~25 s per 640x360 frame).
  for (const want of parts.has('pipeline') ? (args['pipeline-backends'].split(',') as BackendName[]) : []) {
    const info = await call((b) => window.benchBackend(b), want);
    if ('error' in info || info.name !== want) {
      log(`pipeline ${want}: unavailable (${'error' in info ? info.error : `got ${info.name}`})`);
      continue;
    }
    const t = await call((a) => window.benchPipeline(a.url, 'tiny', a.reps), { url: '/media/pipeline.mp4', reps: Number(args['pipeline-reps']) });
    const row = pipelineRow(t);
    pipeline.push({ ...t, row });
    log(`[${elapsed()}] pipeline ${want} tiny ${t.size}, ${t.frames} frames: pipeline ${row.pipelineFps.toFixed(2)} fps, restore-only ${row.restoreFps.toFixed(2)} fps, overhead ${(100 * row.overhead).toFixed(1)} % (paired ${(100 * row.pairedOverhead).toFixed(1)} %)`);
  }
  if (page.errors.length) log(`page errors:\n${page.errors.join('\n')}`);
} finally {
  await fx.close();
  await media.remove();
}

// Report.
const cpu = `${cpus().length} x ${cpus()[0]?.model}`;
console.log(`\nmachine ${hostname()}, ${cpu}, Chromium ${browserVersion}, total ${elapsed()}`);
for (const r of results) {
  if (r.error) console.log(`${r.backend}: unavailable (${r.error})`);
  else console.log(`peak ${r.backend}${r.fallbackAdapter ? ' (fallback adapter)' : ''}: ${r.peak!.gflops.toFixed(2)} GFLOP/s (${r.peak!.what})`);
}
if (results.length) console.log('\n| backend | preset | size | ms/frame | runs | Mpx/s | GFLOP/s | % of peak |\n|---|---|---|---:|---:|---:|---:|---:|');
for (const r of results) for (const m of r.rows) console.log(`| ${r.backend} | ${m.preset} | ${m.size} | ${m.ms.toFixed(0)} | ${m.runs.length} | ${m.mpxPerS.toFixed(3)} | ${m.gflops.toFixed(2)} | ${(100 * m.peakFraction).toFixed(0)} |`);
for (const r of results) for (const s of r.skipped) console.log(`skipped: ${r.backend} ${s}`);
if (paths.length) {
  console.log('\n| model | size | zero-copy (gpu) ms/frame | fallback (cpu) ms/frame | fallback / zero-copy |\n|---|---|---:|---:|---:|');
  for (let i = 0; i < paths.length; i += 2) {
    const g = paths[i]!;
    const c = paths[i + 1]!;
    console.log(`| ${g.model} | ${g.size} | ${g.msPerFrame.toFixed(1)} | ${c.msPerFrame.toFixed(1)} | ${(c.msPerFrame / g.msPerFrame).toFixed(2)} |`);
  }
}
if (live.length) {
  console.log('\n| live (tiny) | size | frames in | input fps | out | dropped | errors | output fps | drop rate | latency p50 / p95 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const l of live) {
    const m = l.metrics;
    console.log(`| ${l.backend} | ${l.size} | ${m?.framesIn} | ${l.inputFps.toFixed(1)} | ${m?.framesOut} | ${m?.dropped} | ${m?.errors} | ${l.outputFps.toFixed(2)} | ${(100 * l.dropRate).toFixed(0)} % | ${m?.latencyP50.toFixed(0)} / ${m?.latencyP95.toFixed(0)} |`);
  }
}
if (pipeline.length) {
  console.log('\n| pipeline | size | frames | runs | decode→restore→encode fps | restore-only fps | overhead | paired overhead | frames out = in |\n|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { row: r, threads } of pipeline) {
    console.log(`| ${r.backend}${threads ? ` (${threads} thread${threads > 1 ? 's' : ''})` : ''}, ${r.preset} | ${r.size} | ${r.frames} | ${r.runs} | ${r.pipelineFps.toFixed(2)} | ${r.restoreFps.toFixed(2)} | ${(100 * r.overhead).toFixed(1)} % | ${(100 * r.pairedOverhead).toFixed(1)} % | ${r.framesMatch ? 'yes' : 'NO'} |`);
  }
  console.log('\n| pipeline | ms/frame: pipeline | restore only | decode only | encode + mux only | pipeline − restore | start ms | tail ms |\n|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { row: r } of pipeline) {
    const ms = r.msPerFrame;
    console.log(`| ${r.backend}, ${r.preset} | ${ms.pipeline.toFixed(1)} | ${ms.restore.toFixed(1)} | ${ms.decode.toFixed(1)} | ${ms.encode.toFixed(1)} | ${(ms.pipeline - ms.restore).toFixed(1)} | ${r.startMs.toFixed(0)} | ${r.tailMs.toFixed(0)} |`);
  }
}

const date = resultDate();
await mkdir(args.out, { recursive: true });
// A run of some parts only gets their names in the file name, so that it does not replace a whole run's file.
const subset = ALL_PARTS.every((p) => parts.has(p)) ? '' : `-${[...parts].join('-')}`;
const file = `${freshResultBase(args.out, `${date}-${hostname()}-browser${subset}`)}.json`;
await writeFile(file, JSON.stringify({ date, machine: { host: hostname(), cpus: cpus().length, model: cpus()[0]?.model, node: process.version, chromium: browserVersion }, note: 'webgpu and webgl run on SwiftShader (CPU emulation of a GPU): not real-GPU figures', totalSeconds: (performance.now() - t0) / 1000, parts: [...parts], backends: results, paths, live, pipeline }, null, 2));
console.log(`written ${file}`);
