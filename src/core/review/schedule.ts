/**
 * Schedules of Review Learning: how much of each batch is review, how a batch splits, the
 * learning rate over a stage, and what each training strategy does stage by stage.
 */

import { SimpleIRError } from '../errors.js';
import type { MemorySelection } from './memory.js';

/** How the review share falls over stages: `rho0/(t-1)`, constant `rho0`, or linear in t. */
export type ReviewShareKind = 'inverse' | 'constant' | 'linear-decay';

/**
 * Review share rho_t of stage index `stage` (0-based; stage t = stage + 1). The first stage has
 * nothing to review: 0. For t >= 2: `'inverse'` rho0 / (t - 1); `'constant'` rho0;
 * `'linear-decay'` rho0 * (T - t + 1) / (T - 1), falling linearly from rho0 at t = 2 to
 * rho0 / (T - 1) at the last stage t = T, which needs `stages` (T).
 */
export function reviewShare(stage: number, rho0: number, kind: ReviewShareKind = 'inverse', stages?: number): number {
  checkInt('stage', stage, 0);
  checkFraction('rho0', rho0);
  if (kind === 'linear-decay') {
    if (stages === undefined || !Number.isInteger(stages) || stages <= stage) {
      throw new SimpleIRError('INVALID_ARGUMENT', `reviewShare: 'linear-decay' needs the number of stages (an integer > stage ${stage}), got ${stages}.`, { stage, stages });
    }
  } else if (kind !== 'inverse' && kind !== 'constant') {
    throw new SimpleIRError('INVALID_ARGUMENT', `reviewShare: kind must be 'inverse', 'constant' or 'linear-decay', got ${String(kind)}.`, { kind });
  }
  if (stage === 0) return 0;
  if (kind === 'inverse') return rho0 / stage;
  if (kind === 'constant') return rho0;
  const t = stage + 1;
  const total = stages as number;
  return (rho0 * (total - t + 1)) / (total - 1);
}

/** How one batch splits between memory (review) samples and samples of the current task. */
export interface BatchComposition {
  /** Samples drawn from the memory. */
  fromMemory: number;
  /** Samples drawn from the current task. */
  fromTask: number;
}

/**
 * Splits a batch of `batchSize` by review `share` given `memorySize` samples in memory.
 * `fromMemory` is `round(share * batchSize)`, at least 1 when `share > 0`, the memory is not
 * empty and `batchSize > 1`; at most `batchSize - 1` when `share < 1` (the current task always
 * trains); never more than `memorySize`. With `batchSize = 1` a share below 0.5 reviews nothing.
 */
export function batchComposition(batchSize: number, share: number, memorySize: number): BatchComposition {
  checkInt('batchSize', batchSize, 1);
  checkFraction('share', share);
  checkInt('memorySize', memorySize, 0);
  let fromMemory = Math.round(share * batchSize);
  if (share > 0 && batchSize > 1) fromMemory = Math.max(1, fromMemory);
  if (share < 1) fromMemory = Math.min(fromMemory, batchSize - 1);
  fromMemory = Math.min(fromMemory, memorySize);
  return { fromMemory, fromTask: batchSize - fromMemory };
}

/** Options of {@link cosineLr}. */
export interface CosineLrOptions {
  /** Steps of linear warm-up before the decay (default 0). */
  warmup?: number;
  /** Learning rate reached at the end of the decay (default 0). */
  minLr?: number;
}

/**
 * Learning rate at `step` (0-based) of `totalSteps`: a linear warm-up to `lr0` over the first
 * `warmup` steps (`lr0 * (step + 1) / warmup`, never 0), then a cosine decay from `lr0` to
 * `minLr`: `minLr + (lr0 - minLr) * (1 + cos(pi * p)) / 2` with
 * `p = (step - warmup) / (totalSteps - warmup)`, held at `minLr` from `totalSteps` on.
 */
export function cosineLr(step: number, totalSteps: number, lr0: number, options: CosineLrOptions = {}): number {
  const warmup = options.warmup ?? 0;
  const minLr = options.minLr ?? 0;
  checkInt('step', step, 0);
  checkInt('totalSteps', totalSteps, 1);
  checkInt('warmup', warmup, 0);
  if (warmup >= totalSteps) {
    throw new SimpleIRError('INVALID_ARGUMENT', `cosineLr: warmup (${warmup}) must be shorter than totalSteps (${totalSteps}).`, { warmup, totalSteps });
  }
  if (!(Number.isFinite(lr0) && lr0 > 0) || !(Number.isFinite(minLr) && minLr >= 0 && minLr <= lr0)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `cosineLr: need lr0 > 0 and 0 <= minLr <= lr0, got lr0 ${lr0}, minLr ${minLr}.`, { lr0, minLr });
  }
  if (step < warmup) return (lr0 * (step + 1)) / warmup;
  const p = Math.min(1, (step - warmup) / (totalSteps - warmup));
  return minLr + ((lr0 - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
}

/** The training strategies: Review Learning and its three baselines. */
export type StrategyName = 'review' | 'sequential' | 'mixed' | 'random-review';

/** Every {@link StrategyName}, in a fixed order (for CLIs and experiment tables). */
export const STRATEGY_NAMES: readonly StrategyName[] = ['review', 'sequential', 'mixed', 'random-review'];

/** What each strategy does, in one line. */
export const STRATEGY_DESCRIPTIONS: Readonly<Record<StrategyName, string>> = {
  review: 'one stage per task, easiest first; difficult (loss-fluctuating) samples of past tasks are replayed with a shrinking share',
  sequential: 'one stage per task, plain fine-tuning: no memory, no review (Q = 0)',
  mixed: 'one stage over all tasks at once: no memory, no review',
  'random-review': 'as review, but the memory is filled with random instead of difficult samples',
};

/** Plan of one training stage. */
export interface StagePlan {
  /** Stage index, 0-based. */
  stage: number;
  /** Tasks the stage draws fresh samples from. */
  tasks: string[];
  /** Optimiser steps of the stage. */
  steps: number;
  /** Share of each batch drawn from the memory. */
  reviewShare: number;
  /** Earlier tasks whose memory samples the stage reviews. */
  reviewFrom: string[];
  /**
   * How the stage's samples enter the memory at its end (`'none'`: not at all). Every stage of
   * a reviewing strategy fills it, the last included, so the memory can ship with the weights
   * and serve later online learning.
   */
  memorySelection: MemorySelection | 'none';
}

/** Options of {@link planStages}. */
export interface PlanOptions {
  /** Review share of the second stage, in [0, 1]. */
  rho0: number;
  /** Optimiser steps over all stages, split evenly (earlier stages take the remainder). */
  stepsTotal: number;
  /** How the review share falls (default `'inverse'`). */
  shareKind?: ReviewShareKind;
}

/**
 * The stage plan of `strategy` over `tasks` (already in training order, see `order.ts`).
 * `'mixed'` is one stage over all tasks; `'sequential'` one stage per task without memory;
 * `'review'` and `'random-review'` one stage per task, reviewing all earlier tasks with
 * {@link reviewShare} and filling the memory with difficult or random samples.
 */
export function planStages(tasks: readonly string[], strategy: StrategyName, options: PlanOptions): StagePlan[] {
  if (tasks.length === 0 || new Set(tasks).size !== tasks.length) {
    throw new SimpleIRError('INVALID_ARGUMENT', `planStages: tasks must be a non-empty list of distinct names, got [${tasks.join(', ')}].`, { tasks });
  }
  if (!STRATEGY_NAMES.includes(strategy)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `planStages: unknown strategy '${String(strategy)}'; expected one of ${STRATEGY_NAMES.join(', ')}.`, { strategy });
  }
  checkFraction('rho0', options.rho0);
  const stageCount = strategy === 'mixed' ? 1 : tasks.length;
  checkInt('stepsTotal', options.stepsTotal, stageCount);
  const stepsOf = (i: number) => Math.floor(options.stepsTotal / stageCount) + (i < options.stepsTotal % stageCount ? 1 : 0);
  if (strategy === 'mixed') {
    return [{ stage: 0, tasks: [...tasks], steps: options.stepsTotal, reviewShare: 0, reviewFrom: [], memorySelection: 'none' }];
  }
  const reviews = strategy === 'review' || strategy === 'random-review';
  return tasks.map((task, i) => ({
    stage: i,
    tasks: [task],
    steps: stepsOf(i),
    reviewShare: reviews ? reviewShare(i, options.rho0, options.shareKind ?? 'inverse', tasks.length) : 0,
    reviewFrom: reviews ? tasks.slice(0, i) : [],
    memorySelection: strategy === 'review' ? 'difficult' : strategy === 'random-review' ? 'random' : 'none',
  }));
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new SimpleIRError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got ${value}.`, { [name]: value });
  }
}

function checkFraction(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new SimpleIRError('INVALID_ARGUMENT', `${name} must be a number in [0, 1], got ${value}.`, { [name]: value });
  }
}
