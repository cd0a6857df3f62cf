/**
 * `npx tsx scripts/profile-4k.ts [--presets tiny,base] [--reps 3] [--inner 2] [--only NAME,...] [--skip NAME,...]
 * [--baseline DIR]`:
 * where the time of a tiled 4K frame goes on Node wasm, stage by stage, against an untiled 1080p frame,
 * as per-pixel ratios. Each round runs every case in turn, each `--inner` times (default 2) after one
 * untimed run: a case that follows a 4K one is slower at first (the 4K output's garbage, the heap), so
 * timing single runs of alternating cases favours 4K. Rounds alternate the cases because the machine
 * may be shared: compare figures of one run only. Figures are medians of all timed runs. `--baseline DIR` also
 * times `predict` of another checkout's sources in the same process, e.g.
 * `git archive HEAD~1 src | tar -x -C /tmp/base` then `--baseline /tmp/base`.
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/core/backend.js';
import { fullResReceptiveRadius, type PresetName, type SimpleIRConfig } from '../src/core/config.js';
import { body, fullResolution, type ParamMap } from '../src/core/model/forward.js';
import { nativeOps, type NetOps } from '../src/core/model/ops.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { axisTilePlan, cropWindow, fullResolutionTiled, resolveTiling, type AxisTilePlan } from '../src/core/model/tiling.js';

const { values: args } = parseArgs({ options: { presets: { type: 'string' }, reps: { type: 'string' }, inner: { type: 'string' }, only: { type: 'string' }, skip: { type: 'string' }, baseline: { type: 'string' } } });
const presets = (args.presets ?? 'tiny').split(',') as PresetName[];
const reps = Number(args.reps ?? 3);
const inner = Number(args.inner ?? 2);
const only = args.only?.split(',');
const skip = args.skip?.split(',') ?? [];
type PredictWith = (config: SimpleIRConfig, weights: ParamMap, x: tf.Tensor4D, options?: { tileSize?: number }) => tf.Tensor4D;
const baseline: PredictWith | undefined = args.baseline
  ? ((await import(pathToFileURL(join(resolve(args.baseline), 'src/core/model/simpleir.ts')).href)) as { predictWith: PredictWith }).predictWith
  : undefined;

/** The stage applied to each tile by {@link tiledByPadAdd}. */
type TileStage = (xt: tf.Tensor4D, ft: tf.Tensor4D) => tf.Tensor4D;

/** The tile plan as it was before issue 7's profiling (kept here only to compare): tiles of exactly `size`. */
function oldAxisTilePlan(length: number, size: number, overlap: number, radius: number, step: number): AxisTilePlan {
  if (size >= length) return { starts: [0], size: length, weights: [new Float32Array(length).fill(1)] };
  const starts: number[] = [];
  for (let k = 0; ; k++) {
    const start = Math.min(k * (size - overlap), length - size);
    starts.push(start - (start % step));
    if (start + size >= length) break;
  }
  const ramp = Math.max(1, overlap - 2 * radius);
  const raw = starts.map((_, i) =>
    Float32Array.from({ length: size }, (_, p) => {
      const d = Math.min(i > 0 ? p + 0.5 - radius : Infinity, i < starts.length - 1 ? size - p - 0.5 - radius : Infinity);
      return d <= 0 ? 0 : Math.min(1, d / ramp);
    }),
  );
  const total = new Float32Array(length);
  raw.forEach((w, i) => w.forEach((v, p) => (total[starts[i]! + p] = total[starts[i]! + p]! + v)));
  return { starts, size, weights: raw.map((w, i) => w.map((v, p) => (v === 0 ? 0 : v / total[starts[i]! + p]!))) };
}

/**
 * The blend as it was before issue 7's profiling (kept here only to compare): tiles cut with tf.slice,
 * each weighted tile padded to a full-width strip and added, each strip padded to the frame and added.
 */
function tiledByPadAdd(config: SimpleIRConfig, stage: TileStage, x: tf.Tensor4D, f: tf.Tensor4D, tileSize: number, overlap: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const s = config.scale;
  const radius = fullResReceptiveRadius(config);
  const rows = oldAxisTilePlan(h, tileSize, overlap, radius, s);
  const cols = oldAxisTilePlan(w, tileSize, overlap, radius, s);
  let frame: tf.Tensor4D | null = null;
  rows.starts.forEach((y0, ri) => {
    const strip = tf.tidy(() => {
      let acc: tf.Tensor4D | null = null;
      cols.starts.forEach((x0, ci) => {
        const xt = tf.slice(x, [0, y0, x0, 0], [1, rows.size, cols.size, 3]);
        const ft = tf.slice(f, [0, y0 / s, x0 / s, 0], [1, rows.size / s, cols.size / s, f.shape[3]]);
        const out = stage(xt, ft);
        const wy = tf.tensor4d(rows.weights[ri]!, [1, rows.size, 1, 1]);
        const wx = tf.tensor4d(cols.weights[ci]!, [1, 1, cols.size, 1]);
        const weighted = tf.mul(out, tf.mul(wy, wx));
        const placed = tf.pad(weighted, [[0, 0], [0, 0], [x0, w - x0 - cols.size], [0, 0]]) as tf.Tensor4D;
        acc = acc ? (tf.add(acc, placed) as tf.Tensor4D) : placed;
      });
      return acc!;
    });
    const placedStrip = tf.tidy(() => tf.pad(strip, [[0, 0], [y0, h - y0 - rows.size], [0, 0], [0, 0]]) as tf.Tensor4D);
    strip.dispose();
    if (frame) {
      const next: tf.Tensor4D = tf.add(frame, placedStrip);
      frame.dispose();
      placedStrip.dispose();
      frame = next;
    } else frame = placedStrip;
  });
  return frame!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Case {
  readonly name: string;
  readonly pixels: number;
  /** The 1080p case this one's cost per pixel is compared with. */
  readonly versus?: string;
  /** Runs once; returns nothing, leaves no tensor behind. */
  readonly run: () => void;
}

/** Runs `fn` in a tidy scope and forces the result (wasm runs kernels eagerly; reading a value is a cheap barrier). */
function timed(fn: () => tf.Tensor): () => void {
  return () => {
    const y = tf.tidy(fn);
    y.dataSync();
    y.dispose();
  };
}

function randomFrame(h: number, w: number): tf.Tensor4D {
  return tf.randomUniform([1, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
}

/** The cases for one model: whole predict and its stages at 1080p (untiled) and 4K (tiled). */
function casesFor(preset: PresetName, model: SimpleIR, frames: { hd: tf.Tensor4D; uhd: tf.Tensor4D }, features: { hd: tf.Tensor4D; uhd: tf.Tensor4D }): Case[] {
  const c = model.config;
  const p: ParamMap = model.params;
  const ops: NetOps = nativeOps;
  const hdPx = 1920 * 1080;
  const uhdPx = 3840 * 2160;
  const stage: TileStage = (xt, ft) => fullResolution(c, ops, p, xt, ft, true);
  const blendOnly: TileStage = (xt) => tf.clone(xt);
  const { tileSize, overlap } = resolveTiling(c, 2160, 3840, { tileSize: 512 });
  const bytesHd = new Uint8Array(hdPx * 3).fill(128);
  const bytesUhd = new Uint8Array(uhdPx * 3).fill(128);
  const toTensor = (bytes: Uint8Array, h: number, w: number) => () => {
    const t = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(Int32Array.from(bytes), [h, w, 3], 'int32'), 'float32'), 255).expandDims(0));
    t.dispose();
  };
  const toBytes = (x: tf.Tensor4D) => () => {
    const t = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.squeeze(x, [0]), 255)), 'int32'));
    Uint8ClampedArray.from(t.dataSync());
    t.dispose();
  };
  type Plan = typeof axisTilePlan;
  const tiles = (crop: (t: tf.Tensor4D, y0: number, x0: number, h: number, w: number) => tf.Tensor4D, run: boolean, plan: Plan) => () => {
    const rows = plan(2160, tileSize, overlap, fullResReceptiveRadius(c), c.scale);
    const cols = plan(3840, tileSize, overlap, fullResReceptiveRadius(c), c.scale);
    for (const y0 of rows.starts) {
      for (const x0 of cols.starts) {
        tf.tidy(() => {
          const xt = crop(frames.uhd, y0, x0, rows.size, cols.size);
          const ft = crop(features.uhd, y0 / c.scale, x0 / c.scale, rows.size / c.scale, cols.size / c.scale);
          if (run) fullResolution(c, ops, p, xt, ft, true);
        });
      }
    }
  };
  const slice = (t: tf.Tensor4D, y0: number, x0: number, h: number, w: number): tf.Tensor4D => tf.slice(t, [0, y0, x0, 0], [1, h, w, t.shape[3]]);
  const hd = { predict: 'predict 1080p untiled', body: 'body 1080p (480x270 grid)', fullRes: 'full-res 1080p untiled', toTensor: 'bytes->tensor 1080p', toBytes: 'tensor->bytes 1080p' };
  const cases: Case[] = [
    { name: hd.predict, pixels: hdPx, run: timed(() => model.predict(frames.hd, { tileSize: 0 })) },
    { name: 'predict 4K tiled', pixels: uhdPx, versus: hd.predict, run: timed(() => model.predict(frames.uhd, { tileSize })) },
    { name: 'predict 4K tiled, old (512-px plan, tf.slice, pad+add blend)', pixels: uhdPx, versus: hd.predict, run: timed(() => tiledByPadAdd(c, stage, frames.uhd, body(c, ops, p, frames.uhd, true), tileSize, overlap)) },
    ...(baseline
      ? [
          { name: 'baseline: predict 1080p untiled', pixels: hdPx, run: timed(() => baseline(c, p, frames.hd, { tileSize: 0 })) },
          { name: 'baseline: predict 4K tiled', pixels: uhdPx, versus: 'baseline: predict 1080p untiled', run: timed(() => baseline(c, p, frames.uhd, { tileSize })) },
        ]
      : []),
    { name: hd.body, pixels: hdPx, run: timed(() => body(c, ops, p, frames.hd, true)) },
    { name: 'body 4K (960x540 grid)', pixels: uhdPx, versus: hd.body, run: timed(() => body(c, ops, p, frames.uhd, true)) },
    { name: hd.fullRes, pixels: hdPx, run: timed(() => fullResolution(c, ops, p, frames.hd, features.hd, true)) },
    // Untiled, base's full-resolution stage at 4K holds ~3 GB at once: past wasm's 4 GB heap with the rest.
    ...(preset === 'tiny' ? [{ name: 'full-res 4K untiled', pixels: uhdPx, versus: hd.fullRes, run: timed(() => fullResolution(c, ops, p, frames.uhd, features.uhd, true)) }] : []),
    { name: 'full-res 4K tiled', pixels: uhdPx, versus: hd.fullRes, run: timed(() => fullResolutionTiled(c, ops, p, frames.uhd, features.uhd, tileSize, overlap)) },
    { name: 'full-res 4K tiled, old (512-px plan, tf.slice, pad+add blend)', pixels: uhdPx, versus: hd.fullRes, run: timed(() => tiledByPadAdd(c, stage, frames.uhd, features.uhd, tileSize, overlap)) },
    { name: '4K tiles run, not assembled', pixels: uhdPx, versus: hd.fullRes, run: tiles(cropWindow, true, axisTilePlan) },
    { name: '4K tiles run, not assembled, old 512-px plan', pixels: uhdPx, versus: hd.fullRes, run: tiles(cropWindow, true, oldAxisTilePlan) },
    { name: '4K tiles cut only, cropWindow', pixels: uhdPx, run: tiles(cropWindow, false, axisTilePlan) },
    { name: '4K tiles cut only, old tf.slice', pixels: uhdPx, run: tiles(slice, false, oldAxisTilePlan) },
    { name: '4K old blend alone (slice, weight, pad, add)', pixels: uhdPx, run: timed(() => tiledByPadAdd(c, blendOnly, frames.uhd, features.uhd, tileSize, overlap)) },
    { name: hd.toTensor, pixels: hdPx, run: toTensor(bytesHd, 1080, 1920) },
    { name: 'bytes->tensor 4K', pixels: uhdPx, versus: hd.toTensor, run: toTensor(bytesUhd, 2160, 3840) },
    { name: hd.toBytes, pixels: hdPx, run: toBytes(frames.hd) },
    { name: 'tensor->bytes 4K', pixels: uhdPx, versus: hd.toBytes, run: toBytes(frames.uhd) },
  ];
  return cases.filter((k) => (!only || only.some((o) => k.name.includes(o))) && !skip.some((o) => k.name.includes(o)));
}

await selectBackend('wasm');
const frames = { hd: randomFrame(1080, 1920), uhd: randomFrame(2160, 3840) };
for (const preset of presets) {
  const model = SimpleIR.create(preset, { init: 'random', seed: 1 });
  const features = { hd: body(model.config, nativeOps, model.params, frames.hd, true), uhd: body(model.config, nativeOps, model.params, frames.uhd, true) };
  const cases = casesFor(preset, model, frames, features);
  const times = new Map<string, number[]>(cases.map((k) => [k.name, []]));
  const tensorsBefore = tf.memory().numTensors;
  for (let round = 0; round < reps; round++) {
    for (const k of cases) {
      k.run();
      for (let i = 0; i < inner; i++) {
        const t0 = performance.now();
        k.run();
        const ms = performance.now() - t0;
        times.get(k.name)!.push(ms);
        process.stderr.write(`round ${round} ${preset} ${k.name}: ${ms.toFixed(0)} ms\n`);
      }
    }
  }
  if (tf.memory().numTensors !== tensorsBefore) throw new Error(`tensor leak: ${tensorsBefore} -> ${tf.memory().numTensors}`);
  const ms = new Map(cases.map((k) => [k.name, median(times.get(k.name)!)]));
  const nsPerPixel = (k: Case): number => (ms.get(k.name)! * 1e6) / k.pixels;
  console.log(`\n${preset}, wasm, median of ${reps} rounds x ${inner} runs, each case's runs after an untimed one; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}:\n`);
  console.log('| case | ms | ns/pixel | per pixel vs 1080p |\n|---|---:|---:|---:|');
  for (const k of cases) {
    const base = k.versus ? cases.find((b) => b.name === k.versus) : undefined;
    const ratio = base ? `${(nsPerPixel(k) / nsPerPixel(base)).toFixed(2)}x` : '';
    console.log(`| ${k.name} | ${ms.get(k.name)!.toFixed(0)} | ${nsPerPixel(k).toFixed(0)} | ${ratio} |`);
  }
  for (const [now, before] of [['predict 1080p untiled', 'baseline: predict 1080p untiled'], ['predict 4K tiled', 'baseline: predict 4K tiled']] as const) {
    if (ms.has(now) && ms.has(before)) console.log(`${now}: ${(ms.get(now)! / ms.get(before)!).toFixed(2)}x the baseline's time`);
  }
  tf.dispose([features.hd, features.uhd]);
  model.dispose();
}
tf.dispose([frames.hd, frames.uhd]);
console.log(`\nRSS at the end ${(process.memoryUsage().rss / 1e9).toFixed(2)} GB`);
