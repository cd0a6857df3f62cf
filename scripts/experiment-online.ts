/**
 * `npm run experiment:online`: online Review Learning of the shipped `tiny` weights on a domain not in
 * training (a new rain style, or haze), in Node on wasm: a fixed number of steps with and without review; the new domain's
 * PSNR gain over the shipped weights, the four original tasks' change, and the growth of live restore
 * latency (p95) while learning runs in the stream. Prints a table and writes
 * bench/results/online-<date>.json (docs/online-learning.md quotes it).
 *
 * Options: --weights PATH (default weights/tiny.json, else training/tiny/weights.json, the running
 * checkpoint), --steps N (default 300), --crop N (128), --batch N (4), --lr X (2e-4; the learner's default is 1e-4), --review X (0.5),
 * --val-size WxH (480x272; multiples of 4), --frames N (live frames, 150), --fps N (10), --frame-size WxH (320x180),
 * --budget MS[,MS...] (learning time per live frame, default 8,100 (8 with --quick); more than one: a live run each, the first is the target's), --out DIR (bench/results), --quick (steps 12, crop 64, val 192x108, 40 frames),
 * --variants LIST (default review,no-review; review = the learner's defaults, review-raw = the
 * defaults without weight averaging, review-clean = clean targets for reviewed crops, review-plain = the
 * learner as first built: clean targets, memory-only replay, no averaging; no-review = the defaults without
 * review (no replay, no seeds), no-review-raw = plain fine-tuning, no averaging), --seed N (the learner's
 * seed: crops, batches; default 7), --eval-at N[,N...] (also validate after these steps: the same run's
 * earlier checkpoints, printed and kept in the JSON), --domain haze|storm-rain (the new domain,
 * default storm-rain: rain at 40-65 degrees from vertical in saturated colours, a style the shipped weights
 * never saw; haze: a degradation kind not in training).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interval, lastValueFrom, map, take, tap } from 'rxjs';
import sharp from 'sharp';
import { trainingPhotosOrExit } from '../src/cli/photos.js';
import { ValidationSet } from '../src/training/validation-set.js';
import { selectBackend } from '../src/core/backend.js';
import { createDegradation, rain, type Degradation } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { OnlineLearner, type OnlineLearnerOptions } from '../src/core/review/online/index.js';
import type { TaskScore } from '../src/core/review/trainer.js';
import { Random } from '../src/core/random.js';
import type { NodeFrame } from '../src/streams/frames.js';
import type { RestoreMetrics } from '../src/streams/metrics.js';
import { restore } from '../src/streams/restore.js';
import { reviewLearning } from '../src/streams/review-learning.js';
import { freshResultBase, resultDate } from '../bench/result-file.js';

const { values: args } = parseArgs({
  options: {
    weights: { type: 'string' },
    steps: { type: 'string' },
    crop: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    review: { type: 'string' },
    'val-size': { type: 'string' },
    frames: { type: 'string' },
    fps: { type: 'string' },
    'frame-size': { type: 'string' },
    budget: { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean' },
    variants: { type: 'string' },
    domain: { type: 'string' },
    seed: { type: 'string' },
    'eval-at': { type: 'string' },
  },
});
const quick = Boolean(args.quick);
const steps = Number(args.steps ?? (quick ? 12 : 300));
const crop = Number(args.crop ?? (quick ? 64 : 128));
const batchSize = Number(args.batch ?? 4);
const lr = Number(args.lr ?? 2e-4);
const reviewRatio = Number(args.review ?? 0.5);
const size = (s: string) => s.split('x').map(Number) as [number, number];
const [vw, vh] = size(args['val-size'] ?? (quick ? '192x108' : '480x272'));
const liveFrames = Number(args.frames ?? (quick ? 40 : 150));
const fps = Number(args.fps ?? 10);
const [fw, fh] = size(args['frame-size'] ?? '320x180');
const budgets = (args.budget ?? (quick ? '8' : '8,100')).split(',').map(Number);
const stepBudgetMs = budgets[0]!;
const learnerSeed = Number(args.seed ?? 7);
const evalAt = new Set((args['eval-at'] ?? '').split(',').filter(Boolean).map(Number));
const outDir = args.out ?? 'bench/results';
const DOMAIN = args.domain ?? 'storm-rain';
if (DOMAIN !== 'haze' && DOMAIN !== 'storm-rain') throw new Error(`unknown --domain ${DOMAIN}: use storm-rain or haze`);
const OLD_TASKS = ['rain', 'snow', 'lowlight', 'blur'];

const weightsPath = args.weights ?? ['weights/tiny.json', 'training/tiny/weights.json'].find((p) => existsSync(p));
if (!weightsPath) throw new Error('No weights: neither weights/tiny.json nor training/tiny/weights.json exists; pass --weights PATH.');

await selectBackend('wasm');
const shipped = await SimpleIR.load(weightsPath);
const set = await trainingPhotosOrExit();
process.stderr.write(`weights ${weightsPath}; ${set.train.length} train / ${set.val.length} val photos; validation ${vw}x${vh}\n`);
/**
 * The new rain style: the SDK's rain with the fall angle and the streak colour replaced, drawn from the
 * seed: 40-65 degrees either side of vertical (wind-driven; training used -30..30) and a saturated colour
 * (street lights, neon signs; training used near-grey streaks). scripts/gpu/degrade_torch.py `storm_rain`
 * is its torch port for the probes.
 */
function stormRain(options: { seed: number; strength: number }): Degradation {
  const rng = new Random(options.seed).fork(0x5707);
  const angle = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(40, 65);
  const [hue, sat, val] = [rng.next(), rng.uniform(0.45, 0.85), rng.uniform(0.85, 1)];
  const channel = (n: number): number => {
    const k = (n + hue * 6) % 6;
    return val - val * sat * Math.max(0, Math.min(1, k, 4 - k));
  };
  return rain({ ...options, angle, tint: [channel(5), channel(3), channel(1)] });
}

/** A generator of the new domain for one seed and strength. */
const makeDomain = (options: { seed: number; strength: number }): Degradation =>
  DOMAIN === 'haze' ? createDegradation('haze', options) : stormRain(options);

const validation = await ValidationSet.create({ files: set.val, tasks: [DOMAIN, ...OLD_TASKS], width: vw, height: vh, generators: { 'storm-rain': stormRain } });

/** Clean training frames as [1, H, W, 3] float tensors and as RGB byte frames. */
async function cleanFrames(width: number, height: number): Promise<{ tensors: tf.Tensor4D[]; bytes: Uint8Array[] }> {
  const bytes: Uint8Array[] = [];
  for (const file of set.train) {
    const { data } = await sharp(file).rotate().resize({ width, height, fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    bytes.push(new Uint8Array(data));
  }
  const tensors = bytes.map((b) => tf.tidy(() => tf.div(tf.cast(tf.tensor4d(b, [1, height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor4D));
  return { tensors, bytes };
}

/**
 * A generator of the new domain that draws a new instance (seed, strength uniform in [0, 1]) on every
 * call, so that the learner sees the domain's range, not one instance of it.
 */
function varied(seed: number): Degradation {
  const rng = new Random(seed);
  return {
    kind: DOMAIN === 'haze' ? 'haze' : 'rain',
    params: { varied: true },
    apply(clean, options) {
      const d = makeDomain({ seed: rng.int(0, 0x7fffffff), strength: rng.uniform(0, 1) });
      try {
        return d.apply(clean, options);
      } finally {
        d.dispose();
      }
    },
    dispose() {},
  };
}

/** Learner variants (see the header). */
const VARIANTS = ['review', 'review-raw', 'review-clean', 'review-plain', 'no-review', 'no-review-raw'] as const;
type Variant = (typeof VARIANTS)[number];
const learnerOptions = (variant: Variant): OnlineLearnerOptions => ({
  ...(variant === 'review-plain' ? { reviewTarget: 'clean' as const, replaySynthesis: 0 } : {}),
  ...(variant === 'review-clean' ? { reviewTarget: 'clean' as const } : {}),
  ...(variant.endsWith('-raw') || variant === 'review-plain' ? { weightAveraging: 0 } : {}),
  memory: { capacity: 256, perDomain: true },
  reviewRatio: variant.startsWith('review') ? reviewRatio : 0,
  seedDomains: variant.startsWith('review') ? undefined : [],
  learningRate: lr,
  cropSize: crop,
  batchSize,
  stepBudgetMs,
  seed: learnerSeed,
});

const gains = (scores: Record<string, TaskScore>, base: Record<string, TaskScore>): Record<string, number> =>
  Object.fromEntries(Object.keys(scores).map((t) => [t, scores[t]!.psnr - base[t]!.psnr]));

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

interface RunResult {
  name: string;
  seeded: string;
  scores: Record<string, TaskScore>;
  /** PSNR change against the shipped weights, dB. */
  delta: Record<string, number>;
  newDomainGain: number;
  oldTasksMeanDelta: number;
  steps: number;
  msPerStep: number;
  lastLosses: number[];
  /** Validation after earlier steps (`--eval-at`): change against the shipped weights, dB. */
  checkpoints: { steps: number; delta: Record<string, number>; newDomainGain: number; oldTasksMeanDelta: number }[];
}

const oldMean = (delta: Record<string, number>): number => OLD_TASKS.reduce((a, t) => a + delta[t]!, 0) / OLD_TASKS.length;

async function adapt(name: Variant, frames: tf.Tensor4D[]): Promise<RunResult> {
  const model = await SimpleIR.load(weightsPath!);
  const learner = new OnlineLearner(model, learnerOptions(name));
  for (let i = 0; learner.needsSeedFrames; i++) await learner.seedFrom(frames[i % frames.length]!);
  learner.setDomain(DOMAIN);
  const degrade = varied(11);
  const losses: number[] = [];
  const checkpoints: RunResult['checkpoints'] = [];
  let evalMs = 0;
  const t0 = Date.now();
  for (let i = 0; i < steps; i++) {
    learner.frameBoundary();
    learner.addCleanFrame(frames[(i * 7) % frames.length]!, degrade, i / 25, Math.max(1, learner.cropsWanted()));
    const e = await learner.step();
    if (e) losses.push(e.loss);
    if ((i + 1) % 25 === 0) process.stderr.write(`  ${name} step ${i + 1}/${steps} loss ${(losses.slice(-25).reduce((a, b) => a + b, 0) / Math.min(25, losses.length)).toFixed(4)} memory ${learner.memory.size}\n`);
    if (evalAt.has(i + 1) && i + 1 < steps) {
      const e0 = Date.now();
      const delta = gains(validation.evaluate(model.config, learner.weights, { ssim: false }), base);
      checkpoints.push({ steps: i + 1, delta, newDomainGain: delta[DOMAIN]!, oldTasksMeanDelta: oldMean(delta) });
      process.stderr.write(`  ${name} after ${i + 1} steps: ${DOMAIN} ${round(delta[DOMAIN]!)} dB, old tasks ${round(oldMean(delta))} dB\n`);
      evalMs += Date.now() - e0;
    }
  }
  const msPerStep = (Date.now() - t0 - evalMs) / steps;
  const scores = validation.evaluate(model.config, learner.weights, { ssim: false });
  const delta = gains(scores, base);
  const result: RunResult = {
    name,
    seeded: learner.seeded,
    scores,
    delta,
    newDomainGain: delta[DOMAIN]!,
    oldTasksMeanDelta: oldMean(delta),
    steps: learner.steps,
    msPerStep,
    lastLosses: losses.slice(-10),
    checkpoints,
  };
  learner.dispose();
  model.dispose();
  process.stderr.write(`${name}: ${DOMAIN} ${round(result.newDomainGain)} dB, old tasks ${round(result.oldTasksMeanDelta)} dB (${(msPerStep / 1000).toFixed(2)} s/step)\n`);
  return result;
}

/**
 * Restore latency of a live stream of clean frames at `fps`, with or without learning in the stream, and
 * the gaps between restored frames. In Node a step blocks the event loop, and the interval source makes
 * no frame while it is blocked, so a step shows as a gap in the output (a freeze), not as latency.
 */
async function liveLatency(learn: boolean, frames: Uint8Array[], budget = stepBudgetMs): Promise<{ metrics: RestoreMetrics; steps: number; seeded: string; budget: number; gapP95: number; gapMax: number }> {
  const model = await SimpleIR.load(weightsPath!);
  const learner = learn ? new OnlineLearner(model, { ...learnerOptions('review'), stepBudgetMs: budget }) : undefined;
  const degrade = varied(13);
  let final: RestoreMetrics | undefined;
  const source = interval(1000 / fps).pipe(
    take(liveFrames),
    map((i): NodeFrame => ({ data: frames[i % frames.length]!, width: fw, height: fh, channels: 3, timestamp: Math.round((i * 1e6) / fps) })),
  );
  const restored = restore(model, { mode: 'live', onMetrics: (m) => (final = m) });
  const outTimes: number[] = [];
  const timed = tap(() => void outTimes.push(performance.now()));
  await lastValueFrom(learner ? source.pipe(reviewLearning(learner, { domain: DOMAIN, pairs: 'synthesize', degrade }), restored, timed) : source.pipe(restored, timed), { defaultValue: undefined });
  while (learner?.busy) await new Promise((r) => setTimeout(r, 20));
  const gaps = outTimes.slice(1).map((t, i) => t - outTimes[i]!).sort((a, b) => a - b);
  const gapP95 = gaps.length ? gaps[Math.min(gaps.length - 1, Math.ceil(0.95 * gaps.length) - 1)]! : 0;
  const out = { metrics: final!, steps: learner?.steps ?? 0, seeded: learner?.seeded ?? 'none', budget: learn ? budget : 0, gapP95, gapMax: gaps.at(-1) ?? 0 };
  learner?.dispose();
  model.dispose();
  return out;
}

const base = validation.evaluate(shipped.config, shipped.params, { ssim: false });
const train = await cleanFrames(Math.max(crop * 3, 384), Math.max(crop * 2, 216));
const variants = (args.variants ?? 'review,no-review').split(',') as Variant[];
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}: use ${VARIANTS.join(', ')}`);
const runs: RunResult[] = [];
for (const v of variants) runs.push(await adapt(v, train.tensors));
tf.dispose(train.tensors);

const live = await cleanFrames(fw, fh);
tf.dispose(live.tensors);
// Warm-up run (kernels, caches), then the two measured ones.
await liveLatency(false, live.bytes);
const baseline = await liveLatency(false, live.bytes);
const learning = await liveLatency(true, live.bytes);
const more = [];
for (const b of budgets.slice(1)) more.push(await liveLatency(true, live.bytes, b));
const p95Growth = learning.metrics.latencyP95 / baseline.metrics.latencyP95 - 1;

const tasks = [DOMAIN, ...OLD_TASKS];
const row = (label: string, cells: number[], extra = ''): string => `| ${label} | ${cells.map((c) => c.toFixed(2)).join(' | ')} | ${extra} |`;
const table = [
  `| weights | ${tasks.join(' | ')} | old tasks, mean |`,
  `| --- | ${tasks.map(() => '---').join(' | ')} | --- |`,
  row('shipped: PSNR (dB)', tasks.map((t) => base[t]!.psnr), (OLD_TASKS.reduce((a, t) => a + base[t]!.psnr, 0) / 4).toFixed(2)),
  row('shipped: gain over degraded', tasks.map((t) => base[t]!.psnr - base[t]!.psnrDegraded), ''),
  ...runs.flatMap((r) => [
    ...r.checkpoints.map((c) => row(`${r.name}, ${c.steps} steps: change (dB)`, tasks.map((t) => c.delta[t]!), c.oldTasksMeanDelta.toFixed(2))),
    row(`${r.name}, ${r.steps} steps: change (dB)`, tasks.map((t) => r.delta[t]!), r.oldTasksMeanDelta.toFixed(2)),
  ]),
].join('\n');
const latency = [
  `| live stream (${fw}x${fh}, ${fps} fps) | frames in | out | dropped | p50 (ms) | p95 (ms) | p95 growth | steps | gap p95 (ms) | longest gap (ms) |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...[baseline, learning, ...more].map(
    (r) =>
      `| ${r.budget ? `restore + learning, ${r.budget} ms/frame` : 'restore only'} | ${r.metrics.framesIn} | ${r.metrics.framesOut} | ${r.metrics.dropped} | ${r.metrics.latencyP50.toFixed(1)} | ${r.metrics.latencyP95.toFixed(1)} | ${r.budget ? `${(100 * (r.metrics.latencyP95 / baseline.metrics.latencyP95 - 1)).toFixed(1)} %` : ''} | ${r.steps} | ${r.gapP95.toFixed(0)} | ${r.gapMax.toFixed(0)} |`,
  ),
].join('\n');
console.log(`\n${table}\n\n${latency}\n\np95 latency growth while learning: ${(100 * p95Growth).toFixed(1)} % (target <= 25 %)`);
const review = runs.find((r) => r.name === 'review');
const none = runs.find((r) => r.name === 'no-review');
if (review) console.log(`new-domain gain with review ${review.newDomainGain.toFixed(2)} dB (target >= 2); old tasks with review ${review.oldTasksMeanDelta.toFixed(2)} dB (target >= -0.5)${none ? `, without ${none.oldTasksMeanDelta.toFixed(2)} dB` : ''}`);

const date = resultDate();
await mkdir(outDir, { recursive: true });
const file = `${freshResultBase(outDir, `online-${date}`)}.json`;
await writeFile(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      host: hostname(),
      backend: tf.getBackend(),
      weights: weightsPath,
      weightsMetadata: { ...shipped.metadata, memory: shipped.metadata.memory ? '(omitted)' : undefined },
      settings: { domain: DOMAIN, variants, learnerSeed, steps, crop, batchSize, lr, reviewRatio, validation: `${vw}x${vh}`, liveFrames, fps, frameSize: `${fw}x${fh}`, stepBudgetMs, budgets, quick },
      shipped: base,
      runs,
      latency: { baseline, learning, p95Growth, otherBudgets: more },
      table,
      latencyTable: latency,
    },
    null,
    1,
  ),
);
console.log(`written ${file}`);
validation.dispose();
shipped.dispose();
