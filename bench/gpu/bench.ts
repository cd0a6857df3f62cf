/**
 * The prepared GPU run (issue 17 part 4): `model.predict` of `tiny` and `base` on a frame already on
 * the GPU, timed in Node on Dawn's WebGPU (the `webgpu` npm package), bundled into one file by
 * bench/gpu/build.mjs and run on a lent machine by bench/gpu/run-device.sh. Reports ms per frame, fps,
 * GFLOP/s (the config's `flopsPerPixel` x pixels / time) against the card's fp32 peak, the compute
 * dispatches of one frame, and the adapter's name; writes JSON.
 *
 * Options: --presets tiny,base  --sizes 1280x720,1920x1080,3840x2160  --warmup 3  --iterations 20
 *   --backend webgpu|cpu|wasm (cpu/wasm: dry runs of the timing code where Dawn finds no adapter)
 *   --dawn PATH (dawn.node; default: beside this file, else node_modules/webgpu/dist/<platform>-<arch>)
 *   --peak-tflops N (the card's fp32 peak; default: looked up from the adapter's name)
 *   --tile-size auto|N (predict's `tileSize`; default auto: on webgpu, tiles from the device's limits,
 *     1448 px with usual limits, so 4K makes 6 tiles and 1080p none)  --untiled (= --tile-size 0; on
 *     webgpu a frame past the limits, such as 4K, is then refused)
 *   --out DIR (default $OUT, else bench/results)  --label NAME
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { BackendName, PresetName, SimpleIR } from '../../src/index';
import { activeWebGPULimits, resolveTiling } from '../../src/core/model/tiling';

const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'tiny,base' },
    sizes: { type: 'string', default: '1280x720,1920x1080,3840x2160' },
    warmup: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '20' },
    backend: { type: 'string', default: 'webgpu' },
    dawn: { type: 'string' },
    'peak-tflops': { type: 'string' },
    untiled: { type: 'boolean', default: false },
    'tile-size': { type: 'string', default: 'auto' },
    out: { type: 'string', default: process.env.OUT || 'bench/results' },
    label: { type: 'string' },
  },
});

/** predict's `tileSize` option. */
const TILE_SIZE: number | 'auto' = args.untiled ? 0 : args['tile-size'] === 'auto' ? 'auto' : Number(args['tile-size']);

/** fp32 (non-tensor-core) peaks in TFLOP/s, matched against the adapter's description. */
const FP32_PEAK_TFLOPS: readonly [RegExp, number][] = [
  [/H200/i, 66.9],
  [/H100.*PCIe/i, 51.2],
  [/H100/i, 66.9],
  [/A100/i, 19.5],
  [/L40S/i, 91.6],
];

/** One preset at one size. */
interface Measurement {
  preset: PresetName;
  width: number;
  height: number;
  tiled: boolean;
  /** The tile size predict used (0: untiled), as resolveTiling chose it on this backend. */
  tileSize: number;
  /** Median, min and max of the timed frames (ms), each ending when one output value was read back. */
  msMedian: number;
  msMin: number;
  msMax: number;
  fps: number;
  flopsPerPixel: number;
  gflops: number;
  /** Share of the card's fp32 peak, when the peak is known. */
  peakShare: number | null;
  /** `dispatchWorkgroups` calls of one frame's `predict` (webgpu only; tfjs records them as `predict` runs). */
  dispatches: number | null;
  warmupMs: number[];
  tensorsBefore: number;
  tensorsAfter: number;
}

/** The GPU and runtime the numbers came from. */
interface Adapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
}

function fail(message: string): never {
  process.stderr.write(`gpubench: ${message}\n`);
  process.exit(2);
}

/** The dawn.node to load: --dawn, else one beside this file (the bundle), else the installed package's. */
function dawnPath(): string {
  const candidates = [
    args.dawn,
    join(dirname(resolve(process.argv[1] ?? '.')), 'dawn.node'),
    resolve('node_modules/webgpu/dist', `${process.platform}-${process.arch}`, 'dawn.node'),
  ].filter((p): p is string => typeof p === 'string');
  const found = candidates.find((p) => existsSync(p));
  if (!found) fail(`no dawn.node found (looked at ${candidates.join(', ')}); pass --dawn PATH or run bench/gpu/build.mjs, which copies it beside the bundle.`);
  return found;
}

/** Installs Dawn as `navigator.gpu` (tfjs-backend-webgpu looks there) with its GPU* globals; returns the adapter's info. */
async function installDawn(): Promise<Adapter> {
  const path = dawnPath();
  process.stderr.write(`# dawn: ${path}\n`);
  const dawn = createRequire(resolve('.') + '/')(path) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `node ${process.version}` }, configurable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    fail('Dawn found no WebGPU adapter (navigator.gpu.requestAdapter() returned null). On a GPU machine, check that the Vulkan loader is installed (`ldconfig -p | grep libvulkan`) and, for NVIDIA, set VK_DRIVER_FILES to nvidia_icd.json; here, run with --backend cpu to exercise the timing code.');
  }
  const info = (adapter as { info?: Record<string, string | boolean> }).info ?? {};
  return {
    vendor: String(info.vendor ?? ''),
    architecture: String(info.architecture ?? ''),
    device: String(info.device ?? ''),
    description: String(info.description ?? ''),
    fallback: Boolean(info.isFallbackAdapter),
  };
}

/** Counts `dispatchWorkgroups` calls while installed (Dawn's prototype, which every compute pass uses). */
function dispatchCounter(): { count: () => number; stop: () => void } {
  const proto = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder?.prototype;
  if (!proto) return { count: () => 0, stop: () => undefined };
  const original = proto.dispatchWorkgroups as (...a: unknown[]) => unknown;
  let n = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  return { count: () => n, stop: () => void (proto.dispatchWorkgroups = original) };
}

/** A [1, H, W, 3] frame computed on the backend (a smooth pattern), so that no upload is timed. */
function frameOnBackend(height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = tf.div(tf.range(0, height, 1, 'float32'), height).reshape([1, height, 1, 1]);
    const cols = tf.div(tf.range(0, width, 1, 'float32'), width).reshape([1, 1, width, 1]);
    const rgb = tf.tensor1d([0.9, 0.5, 0.2]).reshape([1, 1, 1, 3]);
    return tf.clipByValue(tf.add(tf.mul(tf.add(rows, cols), rgb), 0.05), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Runs one frame and waits for it: reading back one output value waits for all work queued before it.
 * `dispatches`, when given, receives the dispatches that `predict` itself issued (not the readback's).
 */
async function oneFrame(model: SimpleIR, x: tf.Tensor4D, dispatches?: { count: () => number; seen?: number }): Promise<number> {
  const t0 = performance.now();
  const before = dispatches?.count() ?? 0;
  const y = model.predict(x, { tileSize: TILE_SIZE });
  if (dispatches) dispatches.seen = dispatches.count() - before;
  const corner = tf.slice(y, [0, 0, 0, 0], [1, 1, 1, 1]);
  const [v] = await corner.data();
  const ms = performance.now() - t0;
  corner.dispose();
  y.dispose();
  if (!Number.isFinite(v)) fail(`the output is not finite (${v}) at ${x.shape.join('x')}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function measure(model: SimpleIR, preset: PresetName, width: number, height: number, peak: number | null): Promise<Measurement> {
  const warmup = Number(args.warmup);
  const iterations = Number(args.iterations);
  const x = frameOnBackend(height, width);
  await x.data().then(() => undefined, () => undefined);
  const tensorsBefore = tf.memory().numTensors;
  const warmupMs: number[] = [];
  for (let i = 0; i < warmup; i++) warmupMs.push(await oneFrame(model, x));
  const counter: { count: () => number; stop: () => void; seen?: number } = dispatchCounter();
  try {
    await oneFrame(model, x, counter);
  } finally {
    counter.stop();
  }
  const dispatches = tf.getBackend() === 'webgpu' ? (counter.seen ?? null) : null;
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) ms.push(await oneFrame(model, x));
  const tensorsAfter = tf.memory().numTensors;
  x.dispose();
  const msMedian = median(ms);
  const s = model.config.scale;
  const { tileSize } = resolveTiling(model.config, Math.ceil(height / s) * s, Math.ceil(width / s) * s, { tileSize: TILE_SIZE }, activeWebGPULimits());
  const gflops = (model.flopsPerPixel * width * height) / (msMedian / 1000) / 1e9;
  return {
    preset,
    width,
    height,
    tiled: tileSize > 0,
    tileSize,
    msMedian,
    msMin: Math.min(...ms),
    msMax: Math.max(...ms),
    fps: 1000 / msMedian,
    flopsPerPixel: model.flopsPerPixel,
    gflops,
    peakShare: peak ? gflops / (peak * 1000) : null,
    dispatches,
    warmupMs,
    tensorsBefore,
    tensorsAfter,
  };
}

const presets = args.presets.split(',') as PresetName[];
const sizes = args.sizes.split(',').map((s) => {
  const [w, h] = s.split('x').map(Number);
  if (!w || !h) fail(`--sizes takes WxH,WxH...; got ${JSON.stringify(s)}`);
  return [w, h] as const;
});
if (!(Number(args.iterations) >= 1) || !(Number(args.warmup) >= 0)) fail(`--iterations must be >= 1 and --warmup >= 0; got ${args.iterations}, ${args.warmup}`);
const backend = args.backend as BackendName;
if (!['webgpu', 'cpu', 'wasm'].includes(backend)) fail(`--backend takes webgpu, cpu or wasm; got ${JSON.stringify(args.backend)}`);

const adapter = backend === 'webgpu' ? await installDawn() : null;
// Imported after Dawn is installed: tfjs-backend-webgpu registers itself at import only when navigator.gpu exists.
const { SimpleIR: Model, selectBackend } = await import('../../src/index');
const name = adapter ? [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' ') : `${backend} (no GPU)`;
const peak = args['peak-tflops'] ? Number(args['peak-tflops']) : (FP32_PEAK_TFLOPS.find(([re]) => re.test(name))?.[1] ?? null);
process.stderr.write(`# adapter: ${name}; fp32 peak: ${peak ?? 'unknown'} TFLOP/s\n`);
const info = await selectBackend(backend, { onWarning: (w) => process.stderr.write(`# warning: ${w}\n`) });
if (info.name !== backend) fail(`backend ${backend} could not start: ${JSON.stringify(info.skipped)}`);

const results: Measurement[] = [];
for (const preset of presets) {
  const model = await Model.load(preset);
  for (const [width, height] of sizes) {
    process.stderr.write(`# ${preset} ${width}x${height}...\n`);
    const r = await measure(model, preset, width, height, peak);
    results.push(r);
    process.stderr.write(`#   ${r.msMedian.toFixed(2)} ms (${r.fps.toFixed(1)} fps), ${r.gflops.toFixed(1)} GFLOP/s, ${r.dispatches ?? '-'} dispatches\n`);
  }
  model.dispose();
}

console.log(`adapter: ${name}${adapter?.fallback ? ' (fallback adapter)' : ''}; backend ${backend}; node ${process.version}`);
console.log(`\n| preset | size | ms/frame (median) | fps | GFLOP/s | of fp32 peak | dispatches |\n|---|---|---:|---:|---:|---:|---:|`);
for (const r of results) {
  const share = r.peakShare === null ? '-' : `${(r.peakShare * 100).toFixed(1)} %`;
  console.log(`| ${r.preset} | ${r.width}x${r.height}${r.tiled ? ' (tiled)' : ''} | ${r.msMedian.toFixed(2)} | ${r.fps.toFixed(1)} | ${r.gflops.toFixed(1)} | ${share} | ${r.dispatches ?? '-'} |`);
}
const date = new Date().toISOString();
await mkdir(args.out, { recursive: true });
const file = join(args.out, `gpubench-${date.slice(0, 10)}${args.label ? `-${args.label}` : ''}.json`);
const body = { date, label: args.label, node: process.version, backend, adapter, adapterName: name, fp32PeakTflops: peak, warmup: Number(args.warmup), iterations: Number(args.iterations), untiled: args.untiled, tileSizeOption: TILE_SIZE, results };
await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
console.log(`\nwrote ${file}`);
