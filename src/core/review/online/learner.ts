/**
 * The online Review Learning learner: adapts a running SimpleIR to a new domain with short,
 * time-budgeted optimiser steps on its own copy of the weights, replays a bounded, per-domain balanced
 * memory of difficult crops, and publishes the adapted weights to the model in one swap between frames.
 * Stream plumbing (which frames, when) lives in `streams/review-learning.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { paramSpecs, type SimpleIRConfig } from '../../config.js';
import { createDegradation, DEGRADATION_KINDS, type Degradation, type DegradationKind } from '../../degrade/index.js';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../../errors.js';
import { forward } from '../../model/forward.js';
import { nativeOps, trainingOpsFor } from '../../model/ops.js';
import { Random } from '../../random.js';
import { decodeWeights, encodeWeights } from '../../weights.js';
import { LossHistory } from '../history.js';
import { HardSampleMemory } from '../memory.js';
import {
  cropsToTensors,
  decodeReplayMemory,
  encodeReplayMemory,
  exportReplayMemory,
  importReplayMemory,
  isReplayMemoryJSON,
  tensorsToCrops,
  type ReplayCrop,
  type ReplayExportOptions,
} from '../replay.js';
import { batchComposition } from '../schedule.js';
import { assertFiniteLosses, optimizerStep, type PairBatch, type StepSetup } from '../step.js';
import type { LearnerEvent, LearnerListener, MemoryCounts, SeedSource, StepEvent } from './events.js';
import { resolveLearnerOptions, type ResolvedLearnerOptions, type ReviewLearnerOptions } from './options.js';
import type { LearnerState, LearnerStore } from './store.js';

/** What the learner needs of a model (a `SimpleIR` is one). */
export interface LearnableModel {
  readonly config: SimpleIRConfig;
  readonly metadata: Readonly<Record<string, unknown>>;
  getWeights(): Map<string, Float32Array>;
  /** Replaces every weight at once. */
  setWeights(values: ReadonlyMap<string, Float32Array | tf.Tensor>): void;
}

/** Counters of the time budget. */
export interface BudgetStats {
  /** Frames seen (each grants `stepBudgetMs`). */
  readonly frames: number;
  readonly steps: number;
  /** Time spent learning (steps, sampling, seeding), ms. */
  readonly busyMs: number;
  /** Longest single charge, ms. */
  readonly maxChargeMs: number;
  /** Current credit, ms. */
  readonly credit: number;
}

/** A fresh crop waiting to be trained on. */
interface PoolCrop {
  readonly id: string;
  /** Domain of the crop (the current domain for fresh crops, an earlier one for synthesised review crops). */
  readonly domain?: string;
  readonly degraded: tf.Tensor4D;
  readonly clean: tf.Tensor4D;
  visits: number;
}
let learnerCount = 0;

const mean = (xs: ArrayLike<number>, from = 0, to = xs.length): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i]!;
  return to > from ? s / (to - from) : 0;
};

/**
 * Learns a new domain while a model restores a live stream. It trains its own copy of the weights
 * (tf.Variables, on the active backend) and never touches the model's tensors: adapted weights are
 * staged after a step and published with one `model.setWeights` call at the next frame boundary, so
 * every frame is restored by one complete weight version. Streams drive it (see `reviewLearning`);
 * applications call {@link pause}, {@link resume}, {@link reset}, {@link save} and {@link load}.
 */
export class OnlineReviewLearner {
  /** The options in force. */
  readonly options: ResolvedLearnerOptions;
  private readonly model: LearnableModel;
  private readonly shipped: Map<string, Float32Array>;
  /** The shipped weights as tensors, for review targets (`reviewTarget: 'shipped'`); empty otherwise. */
  private readonly shippedTensors = new Map<string, tf.Tensor>();
  private readonly variables = new Map<string, tf.Variable>();
  /** The moving average of `variables` (`weightAveraging` > 0), what the learner publishes. */
  private readonly averaged = new Map<string, tf.Variable>();
  private optimizer: tf.Optimizer;
  private readonly setup: () => StepSetup;
  private memoryStore: HardSampleMemory<ReplayCrop>;
  private history: LossHistory;
  private readonly rng: Random;
  private pool: PoolCrop[] = [];
  /** Synthesised crops of earlier domains waiting to be reviewed (`replaySynthesis`). */
  private reviewPool: PoolCrop[] = [];
  private synthCounter = 0;
  private listeners = new Set<LearnerListener>();
  private staged: { weights: Map<string, tf.Tensor>; step: number; loss: number } | null = null;
  private seedSource: SeedSource;
  private seedCounts = new Map<string, number>();
  private baseDomains: string[];
  private currentDomain: string | null = null;
  private cropCounter = 0;
  private epoch = 0;
  private stepping = false;
  private isPaused = false;
  private disposed = false;
  private stepCount = 0;
  /** Steps since the optimiser was (re)created, for the warm-up. */
  private optimizerSteps = 0;
  private weightVersion = 0;
  private budget = { frames: 0, busyMs: 0, maxChargeMs: 0, credit: 0 };

  /**
   * A learner for `model`, starting from its current weights (what {@link reset} returns to). Its
   * memory is seeded from `model.metadata.memory` when that is a pixel replay memory; otherwise from
   * the first clean frames, synthesising `seedDomains`.
   */
  constructor(model: LearnableModel, options: ReviewLearnerOptions = {}) {
    if (typeof model !== 'object' || model === null || typeof (model as { getWeights?: unknown }).getWeights !== 'function') {
      throw invalidArgument('new OnlineReviewLearner(model)', 'a SimpleIR model (from SimpleIR.load or SimpleIR.create)', model);
    }
    if (!isOptionsObject(options)) throw invalidArgument('new OnlineReviewLearner(model, options)', 'an options object (or nothing)', options);
    this.options = resolveLearnerOptions(options);
    this.model = model;
    this.shipped = model.getWeights();
    const prefix = `simpleir-online-${++learnerCount}`;
    for (const spec of paramSpecs(model.config)) {
      const initial = tf.tensor(this.shipped.get(spec.name)!, [...spec.shape]);
      this.variables.set(spec.name, tf.variable(initial, true, `${prefix}/${spec.name}`));
      if (this.options.weightAveraging > 0) this.averaged.set(spec.name, tf.variable(initial, false, `${prefix}/average/${spec.name}`));
      if (this.options.reviewTarget === 'shipped') this.shippedTensors.set(spec.name, initial);
      else initial.dispose();
    }
    this.optimizer = tf.train.adam(this.options.learningRate, 0.9, 0.999, 1e-8);
    const ops = trainingOpsFor(tf.getBackend());
    this.setup = () => ({ config: model.config, ops, variables: this.variables, optimizer: this.optimizer, edgeWeight: this.options.edgeWeight, clipNorm: this.options.clipNorm });
    this.rng = new Random(this.options.seed);
    this.history = new LossHistory({ window: this.options.historyWindow, maxIds: 4096 });
    this.memoryStore = this.emptyMemory();
    this.seedSource = this.seedFromMetadata();
    this.baseDomains = this.memoryStore.tasks();
  }

  // ---- state -------------------------------------------------------------------------------

  /** The memory of difficult crops (read it; the learner changes it). */
  get memory(): HardSampleMemory<ReplayCrop> {
    return this.memoryStore;
  }

  /**
   * The learner's current weights, the ones it publishes and saves: the moving average of the trained
   * weights (`weightAveraging`), or the trained weights themselves when averaging is off. Owned by the
   * learner; evaluate with them, do not dispose.
   */
  get weights(): ReadonlyMap<string, tf.Tensor> {
    return this.averaged.size > 0 ? this.averaged : this.variables;
  }

  /** The domain being learnt, once a stream set it. */
  get domain(): string | null {
    return this.currentDomain;
  }

  /** Optimiser steps taken since creation (or the loaded snapshot's count). */
  get steps(): number {
    return this.stepCount;
  }

  /** Published weight versions (0: the shipped weights). */
  get version(): number {
    return this.weightVersion;
  }

  /** True between {@link pause} and {@link resume}. */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Where the memory's earlier domains came from. */
  get seeded(): SeedSource {
    return this.seedSource;
  }

  /** Counters of the time budget. */
  get budgetStats(): BudgetStats {
    return { ...this.budget, steps: this.stepCount };
  }

  /** Memory sizes now. */
  memoryCounts(): MemoryCounts {
    return { memorySize: this.memoryStore.size, memoryByDomain: Object.fromEntries(this.memoryStore.sizeByTask()) };
  }

  /** Adds a listener of every event; returns the function that removes it. */
  listen(listener: LearnerListener): () => void {
    if (this.disposed) {
      listener.complete?.();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- application controls ----------------------------------------------------------------

  /** Stops taking steps (frames keep flowing; a step under way finishes and is published). */
  pause(): void {
    this.isPaused = true;
  }

  /** Takes steps again. */
  resume(): void {
    this.isPaused = false;
  }

  /**
   * Returns to the shipped weights, published to the model at once: clears the optimiser state, the
   * fresh crops and the loss history, and forgets the domains learnt online (earlier domains stay in
   * the memory). A step under way is discarded.
   */
  reset(): void {
    this.assertLive();
    this.epoch++;
    this.assignVariables(this.shipped);
    this.restart();
    for (const task of this.memoryStore.tasks()) if (!this.baseDomains.includes(task)) this.memoryStore.remove(task);
    this.publishNow('reset', this.shipped);
  }

  /** Writes weights, memory and state to `store` (see {@link LearnerStore}). */
  async save(store: LearnerStore, options: ReplayExportOptions = {}): Promise<void> {
    this.assertLive();
    const values = new Map<string, Float32Array>();
    for (const [name, v] of this.weights) values.set(name, (await v.data()) as Float32Array);
    const state: LearnerState = {
      format: 'simpleir-online-learner',
      version: 1,
      domain: this.currentDomain,
      steps: this.stepCount,
      weightVersion: this.weightVersion,
      seeded: this.seedSource,
      baseDomains: this.baseDomains,
      savedAt: new Date().toISOString(),
    };
    const metadata = { ...this.model.metadata, memory: exportReplayMemory(this.memoryStore, options), onlineLearning: state };
    const weights = encodeWeights(this.model.config, values, { dtype: 'float32', metadata });
    await store.write({ state, weights, memory: encodeReplayMemory(this.memoryStore) });
  }

  /**
   * Reads a snapshot from `store` and continues from it: weights (published to the model at once),
   * memory, domain and step count; the optimiser starts afresh.
   * @throws SimpleIRError `WEIGHTS_NOT_FOUND` when the store is empty, `WEIGHTS_MISMATCH` for another config.
   */
  async load(store: LearnerStore): Promise<void> {
    this.assertLive();
    const snap = await store.read();
    if (!snap) throw new SimpleIRError('WEIGHTS_NOT_FOUND', 'The learner store holds no saved learner; call save() first.');
    if (snap.state?.format !== 'simpleir-online-learner' || snap.state.version !== 1) {
      throw new SimpleIRError('CORRUPT_INPUT', 'The learner store holds something that is not a saved learner (version 1).');
    }
    const decoded = decodeWeights(snap.weights.manifest, snap.weights.data);
    if (JSON.stringify(decoded.config) !== JSON.stringify(this.model.config)) {
      throw new SimpleIRError('WEIGHTS_MISMATCH', `The saved learner is for config ${JSON.stringify(decoded.config)}, this model is ${JSON.stringify(this.model.config)}.`);
    }
    const memory = this.emptyMemory();
    for (const e of decodeReplayMemory(snap.memory)) memory.add(e.task, e.id, e.sample, e.score);
    this.epoch++;
    this.assignVariables(decoded.tensors);
    this.restart();
    this.memoryStore = memory;
    this.currentDomain = snap.state.domain;
    this.stepCount = snap.state.steps;
    this.seedSource = snap.state.seeded === 'pending' ? 'none' : snap.state.seeded;
    this.baseDomains = [...snap.state.baseDomains];
    this.publishNow('load', decoded.tensors);
  }

  /** Releases variables, optimiser state and crops; completes the listeners. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.epoch++;
    this.variables.forEach((v) => v.dispose());
    this.averaged.forEach((v) => v.dispose());
    this.shippedTensors.forEach((t) => t.dispose());
    this.optimizer.dispose();
    this.clearPool();
    this.dropStaged();
    const ls = [...this.listeners];
    this.listeners.clear();
    ls.forEach((l) => l.complete?.());
  }

  /** True while a step is under way (wait for it to end before timing or saving, if that matters). */
  get busy(): boolean {
    return this.stepping;
  }

  /** True after {@link dispose}. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- stream side: frames, crops and steps --------------------------------------------------

  /** Sets the domain fresh crops belong to; a change drops the fresh crops of the previous one. */
  setDomain(domain: string): void {
    this.assertLive();
    if (typeof domain !== 'string' || domain === '') throw new SimpleIRError('INVALID_ARGUMENT', 'The learning domain must be a non-empty string.');
    if (domain === this.currentDomain) return;
    const previous = this.currentDomain;
    this.currentDomain = domain;
    this.clearPool();
    this.emit({ type: 'domain', reason: 'switch', domain, previous, seeded: this.seedSource, ...this.memoryCounts() });
  }

  /**
   * A frame boundary: publishes staged weights (one `setWeights`, so the next frames see all of them)
   * and grants the frame's learning time. Call it before handing the frame on.
   */
  frameBoundary(): void {
    if (this.disposed) return;
    const s = this.staged;
    if (s) {
      this.staged = null;
      try {
        this.model.setWeights(s.weights);
      } finally {
        s.weights.forEach((t) => t.dispose());
      }
      this.weightVersion++;
      this.emit({ type: 'swap', version: this.weightVersion, step: s.step, loss: s.loss, reason: 'step', ...this.memoryCounts() });
    }
    this.budget.frames++;
    this.budget.credit = Math.min(this.budget.credit + this.options.stepBudgetMs, this.options.stepBudgetMs);
  }

  /** Debits time spent learning outside {@link step} (sampling frames, seeding), ms. */
  charge(ms: number): void {
    this.budget.busyMs += ms;
    this.budget.maxChargeMs = Math.max(this.budget.maxChargeMs, ms);
    this.budget.credit -= ms;
  }

  /** True when the memory waits for clean frames to synthesise its earlier domains from. */
  get needsSeedFrames(): boolean {
    return this.seedSource === 'pending';
  }

  /** True while the budget has credit left (learning work may start now). */
  get hasCredit(): boolean {
    return !this.disposed && !this.isPaused && this.budget.credit > 0;
  }

  /** True when a step should run now: not paused, budget left, seeded, and fresh crops or a clean frame to take them from. */
  get stepDue(): boolean {
    return !this.disposed && !this.isPaused && !this.stepping && this.currentDomain !== null && this.seedSource !== 'pending' && this.budget.credit > 0;
  }

  /**
   * Fresh crops the next step wants from a clean frame: enough for its batch, and at most a batch's
   * worth more to keep the pool at four batches (0 when no step is due).
   */
  cropsWanted(): number {
    if (!this.stepDue) return 0;
    const { fromTask } = this.composition();
    const available = this.unfinished(this.pool).length;
    return Math.max(fromTask - available, Math.min(fromTask, this.poolTarget - available), 0);
  }

  /** True when the pool holds a crop to train on. */
  get hasFreshCrops(): boolean {
    return this.unfinished(this.pool).length > 0;
  }

  /**
   * Synthesises `count` fresh pairs from a clean frame ([1, H, W, 3] float in [0, 1], not disposed):
   * random crops degraded by `degrade` at `time` seconds.
   */
  addCleanFrame(frame: tf.Tensor4D, degrade: Degradation, time: number, count = 1): void {
    this.assertLive();
    if (count < 1) return;
    const clean = this.randomCrops(frame, count);
    try {
      const degraded = degrade.apply(clean, { time }) as tf.Tensor4D;
      try {
        this.addToPool(degraded, clean);
      } finally {
        degraded.dispose();
      }
    } finally {
      clean.dispose();
    }
    this.synthesizeReview(frame, count * this.options.replaySynthesis);
  }

  /** Adds one fresh pair from an application's pair (same-size [1, H, W, 3] tensors, not disposed): one random crop of both. */
  addPair(degraded: tf.Tensor4D, clean: tf.Tensor4D): void {
    this.assertLive();
    if (degraded.shape.join() !== clean.shape.join()) {
      throw new SimpleIRError('INVALID_IMAGE', `A training pair's degraded and clean images differ in size: [${degraded.shape}] vs [${clean.shape}].`);
    }
    const both = tf.concat([degraded, clean], 3) as tf.Tensor4D;
    try {
      const crop = this.randomCrops(both, 1);
      const [d, c] = tf.split(crop, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      crop.dispose();
      this.addToPool(d, c);
      tf.dispose([d, c]);
    } finally {
      both.dispose();
    }
    this.synthesizeReview(clean, this.options.replaySynthesis);
  }

  /** Earlier domains that can be synthesised (they have a generator in the SDK). */
  private get synthesizableDomains(): DegradationKind[] {
    return this.baseDomains.filter((d): d is DegradationKind => (DEGRADATION_KINDS as readonly string[]).includes(d));
  }

  /**
   * Adds `count` crops of earlier domains (round-robin) to the review pool, synthesised from random
   * crops of the clean image `frame` with random seeds and strengths. The pool keeps four batches.
   */
  private synthesizeReview(frame: tf.Tensor4D, count: number): void {
    const domains = this.synthesizableDomains;
    if (count < 1 || domains.length === 0 || this.options.reviewRatio === 0) return;
    for (let i = 0; i < count; i++) {
      const kind = domains[this.synthCounter % domains.length]!;
      const id = `s${++this.synthCounter}`;
      const clean = tf.keep(this.randomCrops(frame, 1));
      const d = createDegradation(kind, { seed: this.rng.int(0, 0x7fffffff), strength: this.rng.uniform(0, 1) });
      try {
        const degraded = tf.keep(d.apply(clean) as tf.Tensor4D);
        this.reviewPool.push({ id, domain: kind, degraded, clean, visits: 0 });
      } catch (e) {
        clean.dispose();
        throw e;
      } finally {
        d.dispose();
      }
    }
    this.trimPool(this.reviewPool);
  }

  /**
   * Synthesises earlier domains into the memory from a clean frame while {@link needsSeedFrames}: a
   * few crops per seed domain per frame, until `seedPerDomain` each (then emits a `domain` event).
   */
  async seedFrom(frame: tf.Tensor4D): Promise<void> {
    if (this.seedSource !== 'pending' || this.disposed) return;
    const epoch = this.epoch;
    const perFrame = Math.ceil(this.options.seedPerDomain / 2);
    for (const kind of this.options.seedDomains) {
      const have = this.seedCounts.get(kind) ?? 0;
      const n = Math.min(perFrame, this.options.seedPerDomain - have);
      if (n <= 0) continue;
      const clean = this.randomCrops(frame, n);
      const d = createDegradation(kind, { seed: this.rng.int(0, 0x7fffffff), strength: this.rng.uniform(0, 1) });
      let degraded: tf.Tensor4D | undefined;
      try {
        degraded = d.apply(clean) as tf.Tensor4D;
        const crops = await tensorsToCrops(degraded, clean);
        if (epoch !== this.epoch) return;
        crops.forEach((crop, i) => this.memoryStore.add(kind, `seed-${have + i}`, crop, 0));
        this.seedCounts.set(kind, have + n);
      } finally {
        d.dispose();
        tf.dispose([clean, degraded!].filter(Boolean));
      }
    }
    if (this.options.seedDomains.every((k) => (this.seedCounts.get(k) ?? 0) >= this.options.seedPerDomain)) {
      this.seedSource = 'synthesized';
      this.baseDomains = this.memoryStore.tasks();
      this.emit({ type: 'domain', reason: 'seed', domain: this.currentDomain, previous: this.currentDomain, seeded: 'synthesized', ...this.memoryCounts() });
    }
  }

  /**
   * One optimiser step on fresh crops plus reviewed memory crops, whatever the budget (streams check
   * {@link stepDue} first). Stages the new weights for the next frame boundary. Resolves to the step's
   * event, or `null` when paused, busy, unseeded or without fresh crops.
   * @throws SimpleIRError `NON_FINITE` when the loss diverges (nothing is staged then).
   */
  async step(): Promise<StepEvent | null> {
    if (this.disposed || this.isPaused || this.stepping || this.currentDomain === null || this.seedSource === 'pending' || !this.hasFreshCrops) return null;
    this.stepping = true;
    const t0 = performance.now();
    try {
      return await this.runStep(t0);
    } finally {
      this.stepping = false;
    }
  }

  private async runStep(t0: number): Promise<StepEvent | null> {
    const epoch = this.epoch;
    const domain = this.currentDomain!;
    const synthReady = this.unfinished(this.reviewPool);
    const { fromMemory, fromTask } = this.composition(synthReady.length);
    const fresh = this.drawFresh(fromTask);
    const nSynth = Math.min(synthReady.length, this.memoryStore.size > 0 ? Math.ceil(fromMemory / 2) : fromMemory);
    for (let i = synthReady.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i);
      [synthReady[i], synthReady[j]] = [synthReady[j]!, synthReady[i]!];
    }
    const synth = synthReady.slice(0, nSynth);
    const reviewed = this.memoryStore.sample(fromMemory - nSynth, this.rng);
    const groups = this.reviewGroups(reviewed.map((r) => r.sample), reviewed.map((r) => this.baseDomains.includes(r.task)));
    const synthGroups = this.synthGroups(synth);
    const { learningRate, warmupSteps } = this.options;
    const lr = warmupSteps > 0 ? (learningRate * Math.min(warmupSteps, this.optimizerSteps + 1)) / warmupSteps : learningRate;
    this.optimizerSteps++;
    const batches: PairBatch[] = [
      { degraded: tf.concat(fresh.map((c) => c.degraded), 0) as tf.Tensor4D, clean: tf.concat(fresh.map((c) => c.clean), 0) as tf.Tensor4D },
      ...groups.map((g) => g.batch),
      ...synthGroups.map((g) => g.batch),
    ];
    let losses: Float32Array;
    try {
      const perSample = optimizerStep(this.setup(), batches, lr);
      try {
        losses = (await perSample.data()) as Float32Array;
      } finally {
        perSample.dispose();
      }
    } finally {
      batches.forEach((b) => tf.dispose([b.degraded, b.clean]));
    }
    if (epoch !== this.epoch) return null;
    assertFiniteLosses(losses, `in online step ${this.stepCount + 1} (domain ${domain})`);
    fresh.forEach((c, i) => this.history.record(`${domain}/${c.id}`, losses[i]!));
    const order = groups.flatMap((g) => g.members);
    order.forEach((m, k) => {
      const r = reviewed[m]!;
      const key = `${r.task}/${r.id}`;
      this.history.record(key, losses[fresh.length + k]!);
      if (this.history.isScored(key)) this.memoryStore.add(r.task, r.id, r.sample, this.history.fluctuation(key));
    });
    let k = fresh.length + order.length;
    for (const g of synthGroups) for (const c of g.members) this.history.record(`${c.domain}/${c.id}`, losses[k++]!);
    fresh.forEach((c) => c.visits++);
    synth.forEach((c) => c.visits++);
    await this.retire('pool', domain, epoch);
    await this.retire('reviewPool', domain, epoch);
    if (epoch !== this.epoch) return null;
    this.stepCount++;
    const loss = mean(losses);
    this.updateAverage();
    this.stage(loss);
    const ms = performance.now() - t0;
    this.charge(ms);
    const event: StepEvent = {
      type: 'step',
      step: this.stepCount,
      domain,
      loss,
      freshLoss: mean(losses, 0, fresh.length),
      reviewLoss: reviewed.length + synth.length > 0 ? mean(losses, fresh.length) : null,
      reviewed: reviewed.length + synth.length,
      synthesized: synth.length,
      lr,
      ms,
      credit: this.budget.credit,
      ...this.memoryCounts(),
    };
    this.emit(event);
    return event;
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Fresh and reviewed samples of the next batch; `synthReady` synthesised review crops are waiting. */
  private composition(synthReady = this.unfinished(this.reviewPool).length): { fromMemory: number; fromTask: number } {
    return batchComposition(this.options.batchSize, this.options.reviewRatio, this.memoryStore.size + synthReady);
  }

  /** The crops of a pool still to be visited. */
  private unfinished(pool: readonly PoolCrop[]): PoolCrop[] {
    return pool.filter((c) => c.visits < this.options.visitsPerCrop);
  }

  private emptyMemory(): HardSampleMemory<ReplayCrop> {
    const { capacity, perDomain, balance } = this.options;
    return new HardSampleMemory<ReplayCrop>({ capacity, perTask: perDomain, balance });
  }

  /** Seeds the memory from `model.metadata.memory` when it holds pixels; else plans synthesis. */
  private seedFromMetadata(): SeedSource {
    const shipped = this.model.metadata.memory;
    if (isReplayMemoryJSON(shipped)) {
      for (const e of importReplayMemory(shipped)) this.memoryStore.add(e.domain, e.id, e.crop, e.score);
      if (this.memoryStore.size > 0) return 'shipped';
    }
    return this.options.seedDomains.length > 0 && this.options.capacity > 0 ? 'pending' : 'none';
  }

  /** `count` random crops of `cropSize` (or the largest that fits, a multiple of the scale) from [1, H, W, C]. */
  private randomCrops(frame: tf.Tensor4D, count: number): tf.Tensor4D {
    const [, h, w, ch] = frame.shape;
    const s = this.model.config.scale;
    const side = Math.floor(Math.min(this.options.cropSize, h, w) / s) * s;
    if (side < s) throw new SimpleIRError('INVALID_IMAGE', `A ${w}x${h} frame is too small to crop for learning (needs ${s}x${s}).`);
    return tf.tidy(() => {
      const crops = Array.from({ length: count }, () => tf.slice(frame, [0, this.rng.int(0, h - side), this.rng.int(0, w - side), 0], [1, side, side, ch]));
      return count === 1 ? crops[0]! : (tf.concat(crops, 0) as tf.Tensor4D);
    });
  }

  private addToPool(degraded: tf.Tensor4D, clean: tf.Tensor4D): void {
    const n = degraded.shape[0];
    for (let i = 0; i < n; i++) {
      const [, h, w] = degraded.shape;
      const d = tf.keep(tf.slice(degraded, [i, 0, 0, 0], [1, h, w, 3]));
      const c = tf.keep(tf.slice(clean, [i, 0, 0, 0], [1, h, w, 3]));
      this.pool.push({ id: `c${++this.cropCounter}`, degraded: d, clean: c, visits: 0 });
    }
    this.trimPool(this.pool);
  }

  /** Bounds a pool to {@link poolTarget}: crops not trained on yet leave first (oldest first), so that scoring crops finish their visits. */
  private trimPool(pool: PoolCrop[]): void {
    while (pool.length > this.poolTarget) {
      const i = Math.max(0, pool.findIndex((c) => c.visits === 0));
      const [old] = pool.splice(i, 1);
      tf.dispose([old!.degraded, old!.clean]);
    }
  }

  /** Fresh crops kept for training: four batches, so that a crop's visits spread over several steps. */
  private get poolTarget(): number {
    return 4 * this.options.batchSize;
  }

  /** `n` fresh crops of one size drawn at random (each crop is visited `visitsPerCrop` times, then retires). */
  private drawFresh(n: number): PoolCrop[] {
    const ready = this.unfinished(this.pool);
    const size = this.rng.pick(ready).degraded.shape.join();
    const same = ready.filter((c) => c.degraded.shape.join() === size);
    for (let i = same.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i);
      [same[i], same[j]] = [same[j]!, same[i]!];
    }
    return same.slice(0, Math.max(1, n));
  }

  /**
   * Reviewed crops grouped by size, each group a batch; `members` are indexes into `crops`. With
   * `reviewTarget: 'shipped'`, the targets of crops of earlier domains (`base[i]`) are the shipped
   * weights' restoration of their degraded image instead of their clean image.
   */
  private reviewGroups(crops: readonly ReplayCrop[], base: readonly boolean[]): { batch: PairBatch; members: number[] }[] {
    const bySize = new Map<string, number[]>();
    crops.forEach((c, i) => {
      const key = `${c.height}x${c.width}`;
      bySize.set(key, [...(bySize.get(key) ?? []), i]);
    });
    return [...bySize.values()].map((members) => {
      const batch = cropsToTensors(members.map((i) => crops[i]!));
      if (this.options.reviewTarget !== 'shipped' || !members.some((i) => base[i])) return { batch, members };
      const clean = tf.tidy(() => {
        const restored = this.shippedOutput(batch.degraded);
        const mask = tf.tensor4d(members.map((i) => (base[i] ? 1 : 0)), [members.length, 1, 1, 1]);
        return tf.add(tf.mul(restored, mask), tf.mul(batch.clean, tf.sub(1, mask))) as tf.Tensor4D;
      });
      batch.clean.dispose();
      return { batch: { degraded: batch.degraded, clean }, members };
    });
  }

  /** The shipped weights' output (before clipping) on `degraded`: the review target of earlier domains. */
  private shippedOutput(degraded: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => forward(this.model.config, nativeOps, this.shippedTensors, degraded, false));
  }

  /** Synthesised review crops grouped by size, each group a batch; targets as {@link reviewGroups} (they are all of earlier domains). */
  private synthGroups(crops: readonly PoolCrop[]): { batch: PairBatch; members: PoolCrop[] }[] {
    const bySize = new Map<string, PoolCrop[]>();
    for (const c of crops) {
      const key = c.degraded.shape.join();
      bySize.set(key, [...(bySize.get(key) ?? []), c]);
    }
    return [...bySize.values()].map((members) => {
      const degraded = tf.concat(members.map((c) => c.degraded), 0) as tf.Tensor4D;
      const clean =
        this.options.reviewTarget === 'shipped'
          ? this.shippedOutput(degraded)
          : (tf.concat(members.map((c) => c.clean), 0) as tf.Tensor4D);
      return { batch: { degraded, clean }, members };
    });
  }

  /**
   * Takes the crops that finished their visits out of a pool (`pool`: fresh crops of `domain`;
   * `reviewPool`: synthesised crops, each of its own domain) and offers the scored ones to the memory.
   * After a reset or load (`epoch` changed) they are only released.
   */
  private async retire(which: 'pool' | 'reviewPool', domain: string, epoch: number): Promise<void> {
    const done = (c: PoolCrop): boolean => c.visits >= this.options.visitsPerCrop;
    const leaving = this[which].filter(done);
    this[which] = this[which].filter((c) => !done(c));
    for (const c of leaving) {
      const cropDomain = c.domain ?? domain;
      const key = `${cropDomain}/${c.id}`;
      try {
        if (epoch !== this.epoch || !this.history.isScored(key) || this.options.capacity === 0) continue;
        const score = this.history.fluctuation(key);
        const [crop] = await tensorsToCrops(c.degraded, c.clean);
        if (epoch !== this.epoch) continue;
        if (this.memoryStore.add(cropDomain, c.id, crop!, score)) {
          this.emit({ type: 'hard-sample', domain: cropDomain, id: c.id, score, ...this.memoryCounts() });
        }
      } finally {
        tf.dispose([c.degraded, c.clean]);
        this.history.delete(key);
      }
    }
  }

  /** average <- decay * average + (1 - decay) * trained, after each step (`weightAveraging` > 0). */
  private updateAverage(): void {
    const decay = this.options.weightAveraging;
    for (const [name, avg] of this.averaged) {
      tf.tidy(() => avg.assign(tf.add(tf.mul(avg, decay), tf.mul(this.variables.get(name)!, 1 - decay))));
    }
  }

  /** Keeps a copy of the published weights to publish at the next frame boundary (replacing an unpublished one). */
  private stage(loss: number): void {
    this.dropStaged();
    const weights = new Map<string, tf.Tensor>();
    for (const [name, v] of this.weights) weights.set(name, tf.clone(v));
    this.staged = { weights, step: this.stepCount, loss };
  }

  private dropStaged(): void {
    this.staged?.weights.forEach((t) => t.dispose());
    this.staged = null;
  }

  private assignVariables(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.variables) tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape)));
    for (const [name, v] of this.averaged) tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape)));
  }

  private publishNow(reason: 'reset' | 'load', values: ReadonlyMap<string, Float32Array>): void {
    this.dropStaged();
    this.model.setWeights(values);
    this.weightVersion++;
    this.emit({ type: 'swap', version: this.weightVersion, step: this.stepCount, loss: null, reason, ...this.memoryCounts() });
  }

  /** Fresh optimiser, pool and history (after a reset or load). */
  private restart(): void {
    this.optimizer.dispose();
    this.optimizer = tf.train.adam(this.options.learningRate, 0.9, 0.999, 1e-8);
    this.optimizerSteps = 0;
    this.clearPool();
    this.history = new LossHistory({ window: this.options.historyWindow, maxIds: 4096 });
  }

  private clearPool(): void {
    this.pool.forEach((c) => tf.dispose([c.degraded, c.clean]));
    this.pool = [];
    this.reviewPool.forEach((c) => tf.dispose([c.degraded, c.clean]));
    this.reviewPool = [];
  }

  private emit(event: LearnerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l.next(event);
      } catch (e) {
        // Like an RxJS subscriber without an error handler: reported later, off the learner.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new SimpleIRError('DISPOSED', 'This learner was disposed; create a new one.');
  }
}
