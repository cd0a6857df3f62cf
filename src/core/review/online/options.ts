/** Options of the online learner and their defaults. */
import { SimpleIRError } from '../../errors.js';
import type { DegradationKind } from '../../degrade/index.js';

/** Options of the learner; every field has a default. */
export interface OnlineLearnerOptions {
  /** The review memory: `capacity` crops in all (default 256); `perDomain: true` (default) balances them over domains, a number also caps each domain, `false` lets domains compete by score. */
  readonly memory?: { readonly capacity?: number; readonly perDomain?: boolean | number };
  /** Share of each batch drawn from the memory (default 0.5; 0 disables review). */
  readonly reviewRatio?: number;
  /** Adam's learning rate, constant after the warm-up (default 1e-4). */
  readonly learningRate?: number;
  /** Steps of linear warm-up of the learning rate after creation, `reset` and `load` (default 10): Adam's first steps move every weight by about the full rate. */
  readonly warmupSteps?: number;
  /** Side of the square training crops (default 128; smaller frames give smaller crops). */
  readonly cropSize?: number;
  /** Samples per optimiser step, fresh and reviewed together (default 4). */
  readonly batchSize?: number;
  /** Learning time granted per frame, in ms, averaged over frames (default 8). */
  readonly stepBudgetMs?: number;
  /** Domains synthesised from the first clean frames when the weights ship no pixel memory (default the four shipped tasks). Empty: no seeding. */
  readonly seedDomains?: readonly DegradationKind[];
  /** Crops synthesised per seed domain (default 8). */
  readonly seedPerDomain?: number;
  /** Visits of a fresh crop before it retires and is offered to the memory (default 3). */
  readonly visitsPerCrop?: number;
  /** Recent losses kept per crop for the fluctuation score (default 4). */
  readonly historyWindow?: number;
  /** Weight of the loss's edge term (default 0.5). */
  readonly edgeWeight?: number;
  /** Gradient clipping by global norm (default 1). */
  readonly clipNorm?: number;
  /** Seed of crop positions, batch draws and seed degradations (default 1). */
  readonly seed?: number;
  /**
   * Target of reviewed crops of the earlier domains (those present before online learning):
   * `'shipped'` (default) is the shipped weights' own output on the crop (before clipping), so that replay holds
   * the network to what it did on those domains (replay with the old model's outputs, as in dark
   * experience replay); `'clean'` is the crop's clean image. Crops of domains learnt online always
   * use their clean image. Measured in docs/online-learning.md: `'shipped'` forgets about half as much.
   */
  readonly reviewTarget?: 'shipped' | 'clean';
  /**
   * Crops of the earlier domains synthesised per fresh crop, from the same clean image, with the SDK's
   * generator of each domain (random seed and strength; domains the SDK has no generator for are only
   * replayed from the memory). They are reviewed next to the memory's crops (about half the review
   * share), and after `visitsPerCrop` visits they are offered to the memory with their loss
   * fluctuation, so the memory keeps refilling with difficult crops of the earlier domains taken from
   * the stream itself. Default 1; 0 reviews the memory only. Measured in docs/online-learning.md.
   */
  readonly replaySynthesis?: number;
  /**
   * Decay of an exponential moving average of the trained weights (Polyak averaging, as the mean teacher
   * of continual test-time adaptation): the learner publishes, saves and reports the average, starting
   * from the loaded weights, while the optimiser trains the raw weights. Small batches make every Adam
   * step move each weight by about the learning rate, so the raw weights wander by several dB from
   * step to step; their average holds what the steps agree on. 0 publishes the raw weights. Default 0.99
   * (a window of about 100 steps). Measured in docs/online-learning.md.
   */
  readonly weightAveraging?: number;
}

/** Options with their defaults filled in. */
export interface ResolvedLearnerOptions {
  readonly capacity: number;
  /** Most crops per domain. */
  readonly perDomain: number;
  readonly balance: boolean;
  readonly reviewRatio: number;
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly cropSize: number;
  readonly batchSize: number;
  readonly stepBudgetMs: number;
  readonly seedDomains: readonly DegradationKind[];
  readonly seedPerDomain: number;
  readonly visitsPerCrop: number;
  readonly historyWindow: number;
  readonly edgeWeight: number;
  readonly clipNorm: number;
  readonly seed: number;
  readonly reviewTarget: 'shipped' | 'clean';
  readonly replaySynthesis: number;
  readonly weightAveraging: number;
}
const SHIPPED_TASKS: readonly DegradationKind[] = ['rain', 'snow', 'lowlight', 'blur'];

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new SimpleIRError('INVALID_ARGUMENT', `Learner option ${name} must be an integer >= 1; got ${v}.`);
  return v;
}

/** Checks the options and fills in defaults. */
export function resolveLearnerOptions(o: OnlineLearnerOptions = {}): ResolvedLearnerOptions {
  const capacity = o.memory?.capacity ?? 256;
  if (!Number.isInteger(capacity) || capacity < 0) throw new SimpleIRError('INVALID_ARGUMENT', `memory.capacity must be an integer >= 0; got ${capacity}.`);
  const pd = o.memory?.perDomain ?? true;
  const reviewRatio = o.reviewRatio ?? 0.5;
  if (!(reviewRatio >= 0 && reviewRatio <= 1)) throw new SimpleIRError('INVALID_ARGUMENT', `reviewRatio must be in [0, 1]; got ${reviewRatio}.`);
  const learningRate = o.learningRate ?? 1e-4;
  const stepBudgetMs = o.stepBudgetMs ?? 8;
  if (!Number.isInteger(o.warmupSteps ?? 0) || (o.warmupSteps ?? 0) < 0) throw new SimpleIRError('INVALID_ARGUMENT', `warmupSteps must be an integer >= 0; got ${o.warmupSteps}.`);
  const reviewTarget = o.reviewTarget ?? 'shipped';
  if (reviewTarget !== 'shipped' && reviewTarget !== 'clean') throw new SimpleIRError('INVALID_ARGUMENT', `reviewTarget must be 'shipped' or 'clean'; got ${String(reviewTarget)}.`);
  const replaySynthesis = o.replaySynthesis ?? 1;
  if (!Number.isInteger(replaySynthesis) || replaySynthesis < 0) throw new SimpleIRError('INVALID_ARGUMENT', `replaySynthesis must be an integer >= 0; got ${String(replaySynthesis)}.`);
  const weightAveraging = o.weightAveraging ?? 0.99;
  if (!(weightAveraging >= 0 && weightAveraging < 1)) throw new SimpleIRError('INVALID_ARGUMENT', `weightAveraging must be in [0, 1); got ${String(weightAveraging)}.`);
  if (!(learningRate > 0) || !(stepBudgetMs >= 0)) throw new SimpleIRError('INVALID_ARGUMENT', `learningRate must be > 0 and stepBudgetMs >= 0; got ${learningRate}, ${stepBudgetMs}.`);
  return {
    capacity,
    perDomain: typeof pd === 'number' ? positiveInt('memory.perDomain', pd) : capacity,
    balance: pd !== false,
    reviewRatio,
    learningRate,
    warmupSteps: o.warmupSteps ?? 10,
    cropSize: positiveInt('cropSize', o.cropSize ?? 128),
    batchSize: positiveInt('batchSize', o.batchSize ?? 4),
    stepBudgetMs,
    seedDomains: [...(o.seedDomains ?? SHIPPED_TASKS)],
    seedPerDomain: positiveInt('seedPerDomain', o.seedPerDomain ?? 8),
    visitsPerCrop: positiveInt('visitsPerCrop', o.visitsPerCrop ?? 3),
    historyWindow: o.historyWindow ?? 4,
    edgeWeight: o.edgeWeight ?? 0.5,
    clipNorm: o.clipNorm ?? 1,
    seed: o.seed ?? 1,
    reviewTarget,
    replaySynthesis,
    weightAveraging,
  };
}
