/**
 * One optimiser step of the online learner: its batch (fresh crops, memory crops and synthesised crops
 * of earlier domains, grouped by size), the step itself, and the bookkeeping of its losses.
 */
import * as tf from '@tensorflow/tfjs';
import type { Random } from '../../random.js';
import type { LossHistory } from '../history.js';
import type { HardSampleMemory, MemorySample } from '../memory.js';
import { cropsToTensors, tensorsToCrops, type ReplayCrop } from '../replay.js';
import { batchComposition, type BatchComposition } from '../schedule.js';
import { assertFiniteLosses, optimizerStep, type PairBatch, type StepSetup } from '../step.js';
import type { CropPool, PoolCrop } from './crop-pool.js';
import type { ResolvedLearnerOptions } from './options.js';
import type { LearnerWeights } from './weights.js';

/** The parts of the learner a step works with (taken afresh for each step). */
export interface StepParts {
  readonly options: ResolvedLearnerOptions;
  readonly rng: Random;
  readonly memory: HardSampleMemory<ReplayCrop>;
  readonly history: LossHistory;
  /** Fresh crops of the current domain. */
  readonly fresh: CropPool;
  /** Synthesised crops of earlier domains (`replaySynthesis`). */
  readonly review: CropPool;
  /** Domains present before online learning. */
  readonly baseDomains: readonly string[];
  readonly weights: LearnerWeights;
  readonly setup: StepSetup;
}

/** What a step trained on, each kind in batch order, and the per-sample losses in that order (fresh, reviewed, synthesised). */
export interface StepOutcome {
  readonly losses: Float32Array;
  readonly fresh: readonly PoolCrop[];
  readonly reviewed: readonly MemorySample<ReplayCrop>[];
  readonly synthesized: readonly PoolCrop[];
}

/** Fresh and reviewed samples of the next batch, with `synthReady` synthesised review crops waiting. */
export function stepComposition(p: Pick<StepParts, 'options' | 'memory' | 'review'>, synthReady = p.review.unfinished().length): BatchComposition {
  return batchComposition(p.options.batchSize, p.options.reviewRatio, p.memory.size + synthReady);
}

/**
 * Draws a batch and takes one optimiser step on it at learning rate `lr`: fresh crops of one size,
 * synthesised review crops (about half the review share when the memory holds crops) and memory crops.
 */
async function trainOnBatch(p: StepParts, lr: number): Promise<StepOutcome> {
  const synthReady = p.review.unfinished();
  const { fromMemory, fromTask } = stepComposition(p, synthReady.length);
  const fresh = drawFresh(p.fresh, fromTask, p.rng);
  const nSynth = Math.min(synthReady.length, p.memory.size > 0 ? Math.ceil(fromMemory / 2) : fromMemory);
  const synth = p.rng.shuffle(synthReady).slice(0, nSynth);
  const drawn = p.memory.sample(fromMemory - nSynth, p.rng);
  const memoryGroups = reviewBatches(
    p.weights,
    p.options.reviewTarget,
    drawn,
    (r) => `${r.sample.height}x${r.sample.width}`,
    (group) => cropsToTensors(group.map((r) => r.sample)),
    (r) => p.baseDomains.includes(r.task),
  );
  const synthGroups = reviewBatches(p.weights, p.options.reviewTarget, synth, (c) => c.degraded.shape.join(), concatCrops, () => true);
  const batches: PairBatch[] = [concatCrops(fresh), ...memoryGroups.map((g) => g.batch), ...synthGroups.map((g) => g.batch)];
  try {
    const perSample = optimizerStep(p.setup, batches, lr);
    try {
      const losses = (await perSample.data()) as Float32Array;
      return { losses, fresh, reviewed: memoryGroups.flatMap((g) => g.members), synthesized: synthGroups.flatMap((g) => g.members) };
    } finally {
      perSample.dispose();
    }
  } finally {
    batches.forEach((b) => tf.dispose([b.degraded, b.clean]));
  }
}

/**
 * A whole step, the `step`-th: trains on a batch at rate `lr`, checks and records its losses, and retires
 * the crops that finished their visits (telling `added` of those the memory took). Resolves to `null`,
 * recording nothing more, once `stale()` (a reset or load happened meanwhile).
 * @throws SimpleIRError `NON_FINITE` when a loss is not finite (nothing is recorded then).
 */
export async function runStep(
  p: StepParts,
  lr: number,
  domain: string,
  step: number,
  stale: () => boolean,
  added: (domain: string, id: string, score: number) => void,
): Promise<StepOutcome | null> {
  const outcome = await trainOnBatch(p, lr);
  if (stale()) return null;
  assertFiniteLosses(outcome.losses, `in online step ${step} (domain ${domain})`);
  recordLosses(p, outcome, domain);
  await retireFinished(p, p.fresh, domain, stale, added);
  await retireFinished(p, p.review, domain, stale, added);
  return stale() ? null : outcome;
}

/** Records a step's losses: fresh and synthesised crops in the loss history, reviewed memory crops too, re-scoring them in the memory; counts the visits. */
function recordLosses(p: Pick<StepParts, 'history' | 'memory'>, outcome: StepOutcome, domain: string): void {
  const { losses, fresh, reviewed, synthesized } = outcome;
  let k = 0;
  for (const c of fresh) p.history.record(`${domain}/${c.id}`, losses[k++]!);
  for (const r of reviewed) {
    const key = `${r.task}/${r.id}`;
    p.history.record(key, losses[k++]!);
    if (p.history.isScored(key)) p.memory.add(r.task, r.id, r.sample, p.history.fluctuation(key));
  }
  for (const c of synthesized) p.history.record(`${c.domain}/${c.id}`, losses[k++]!);
  fresh.forEach((c) => c.visits++);
  synthesized.forEach((c) => c.visits++);
}

/** The mean loss of a step's batch, of its fresh crops, and of its reviewed crops (`null` when none). */
export function stepLosses(outcome: StepOutcome): { loss: number; freshLoss: number; reviewLoss: number | null } {
  const { losses, fresh, reviewed, synthesized } = outcome;
  return {
    loss: mean(losses),
    freshLoss: mean(losses, 0, fresh.length),
    reviewLoss: reviewed.length + synthesized.length > 0 ? mean(losses, fresh.length) : null,
  };
}

/**
 * Takes the crops that finished their visits out of `pool` (fresh crops of `domain`, or synthesised
 * crops, each of its own domain), offers the scored ones to the memory and tells `added` of each one
 * it took. Once `stale()` (a reset or load happened) they are only released.
 */
async function retireFinished(
  p: Pick<StepParts, 'history' | 'memory' | 'options'>,
  pool: CropPool,
  domain: string,
  stale: () => boolean,
  added: (domain: string, id: string, score: number) => void,
): Promise<void> {
  for (const c of pool.takeFinished()) {
    const cropDomain = c.domain ?? domain;
    const key = `${cropDomain}/${c.id}`;
    try {
      if (stale() || !p.history.isScored(key) || p.options.capacity === 0) continue;
      const score = p.history.fluctuation(key);
      const [crop] = await tensorsToCrops(c.degraded, c.clean);
      if (stale()) continue;
      if (p.memory.add(cropDomain, c.id, crop!, score)) added(cropDomain, c.id, score);
    } finally {
      tf.dispose([c.degraded, c.clean]);
      p.history.delete(key);
    }
  }
}

/** `n` fresh crops (at least one) of one size, drawn at random from the crops still to be visited. */
function drawFresh(pool: CropPool, n: number, rng: Random): PoolCrop[] {
  const ready = pool.unfinished();
  const size = rng.pick(ready).degraded.shape.join();
  const same = ready.filter((c) => c.degraded.shape.join() === size);
  return rng.shuffle(same).slice(0, Math.max(1, n));
}

/** Pool crops as one batch (new tensors). */
function concatCrops(crops: readonly PoolCrop[]): PairBatch {
  return { degraded: tf.concat(crops.map((c) => c.degraded), 0) as tf.Tensor4D, clean: tf.concat(crops.map((c) => c.clean), 0) as tf.Tensor4D };
}

/**
 * Review samples grouped by `size`, each group one batch made by `toBatch`, its `members` in batch
 * order. With `reviewTarget: 'shipped'`, the targets of samples of earlier domains (`isBase`) are the
 * shipped weights' restoration of their degraded image instead of their clean image.
 */
function reviewBatches<T>(
  weights: LearnerWeights,
  reviewTarget: ResolvedLearnerOptions['reviewTarget'],
  samples: readonly T[],
  size: (sample: T) => string,
  toBatch: (group: T[]) => PairBatch,
  isBase: (sample: T) => boolean,
): { batch: PairBatch; members: T[] }[] {
  const bySize = new Map<string, T[]>();
  for (const s of samples) bySize.set(size(s), [...(bySize.get(size(s)) ?? []), s]);
  return [...bySize.values()].map((members) => {
    const batch = toBatch(members);
    if (reviewTarget !== 'shipped' || !members.some(isBase)) return { batch, members };
    const clean = tf.tidy(() => {
      const restored = weights.shippedOutput(batch.degraded);
      const mask = tf.tensor4d(members.map((s) => (isBase(s) ? 1 : 0)), [members.length, 1, 1, 1]);
      return tf.add(tf.mul(restored, mask), tf.mul(batch.clean, tf.sub(1, mask))) as tf.Tensor4D;
    });
    batch.clean.dispose();
    return { batch: { degraded: batch.degraded, clean }, members };
  });
}

function mean(xs: ArrayLike<number>, from = 0, to = xs.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i]!;
  return to > from ? s / (to - from) : 0;
}
