/**
 * The online Review Learning learner: adapts a running SimpleIR to a new domain with short,
 * time-budgeted optimiser steps on its own copy of the weights, replays a bounded, per-domain balanced
 * memory of difficult crops, and publishes the adapted weights to the model in one swap between frames.
 * Stream plumbing (which frames, when) lives in `streams/review-learning.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Degradation } from '../../degrade/index.js';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../../errors.js';
import { trainingOpsFor } from '../../model/ops.js';
import { Random } from '../../random.js';
import { LossHistory } from '../history.js';
import { HardSampleMemory } from '../memory.js';
import type { ReplayCrop, ReplayExportOptions } from '../replay.js';
import { createOptimizer, type StepSetup } from '../step.js';
import { TimeBudget, type BudgetStats } from './budget.js';
import { CropPool, randomCrops } from './crop-pool.js';
import { LearnerListeners, type LearnerListener, type MemoryCounts, type SeedSource, type StepEvent } from './events.js';
import { resolveLearnerOptions, type ResolvedLearnerOptions, type OnlineLearnerOptions } from './options.js';
import { MemorySeeder, ReviewSynthesizer, seedFromMetadata, synthesizableDomains } from './seeding.js';
import { createSnapshot, readSnapshot, type LearnerStore } from './store.js';
import { runStep, stepComposition, stepLosses, type StepParts } from './training-step.js';
import { LearnerWeights, type LearnableModel } from './weights.js';

/**
 * Learns a new domain while a model restores a live stream. It trains its own copy of the weights
 * (tf.Variables, on the active backend) and never touches the model's tensors: adapted weights are
 * staged after a step and published with one `model.setWeights` call at the next frame boundary, so
 * every frame is restored by one complete weight version. Streams drive it (see `reviewLearning`);
 * applications call {@link pause}, {@link resume}, {@link reset}, {@link save} and {@link load}.
 */
export class OnlineLearner {
  /** How error messages name the call that creates a learner of this class (a subclass names its own). */
  protected static readonly callName: string = 'new OnlineLearner';
  /** The options in force. */
  readonly options: ResolvedLearnerOptions;
  private readonly model: LearnableModel;
  private readonly shipped: Map<string, Float32Array>;
  private readonly trained: LearnerWeights;
  private optimizer: tf.Optimizer;
  private history: LossHistory;
  private readonly stepSetup: () => StepSetup;
  private memoryStore: HardSampleMemory<ReplayCrop>;
  private readonly rng: Random;
  private readonly seeder: MemorySeeder;
  /** Fresh crops of the current domain. */
  private readonly pool: CropPool;
  /** Synthesised crops of earlier domains waiting to be reviewed (`replaySynthesis`). */
  private readonly reviewPool: CropPool;
  private readonly synthesizer = new ReviewSynthesizer();
  private readonly listeners = new LearnerListeners();
  private seedSource: SeedSource;
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
  private readonly budget: TimeBudget;

  /**
   * A learner for `model`, starting from its current weights (what {@link reset} returns to). Its
   * memory is seeded from `model.metadata.memory` when that is a pixel replay memory; otherwise from
   * the first clean frames, synthesising `seedDomains`.
   * @throws SimpleIRError `INVALID_ARGUMENT` when `model` is not a model (a SimpleIR) or `options` not an object, or an option is out of range.
   */
  constructor(model: LearnableModel, options: OnlineLearnerOptions = {}) {
    const call = (new.target as typeof OnlineLearner).callName;
    const m = model as Partial<LearnableModel> | null;
    if (typeof m?.getWeights !== 'function' || typeof m.setWeights !== 'function' || typeof m.config !== 'object') {
      throw invalidArgument(`${call}(model)`, 'a SimpleIR model (from SimpleIR.load or SimpleIR.create)', model);
    }
    if (!isOptionsObject(options)) throw invalidArgument(`${call}(model, options)`, 'an options object (or nothing)', options);
    this.options = resolveLearnerOptions(options);
    this.model = model;
    this.shipped = model.getWeights();
    this.trained = new LearnerWeights(model.config, this.shipped, this.options);
    ({ optimizer: this.optimizer, history: this.history } = this.freshTraining());
    const ops = trainingOpsFor(tf.getBackend());
    const { edgeWeight, clipNorm } = this.options;
    this.stepSetup = () => ({ config: model.config, ops, variables: this.trained.variables, optimizer: this.optimizer, edgeWeight, clipNorm });
    this.rng = new Random(this.options.seed);
    this.budget = new TimeBudget(this.options.stepBudgetMs);
    this.seeder = new MemorySeeder(this.options);
    const poolTarget = 4 * this.options.batchSize; // four batches, so that a crop's visits spread over several steps
    this.pool = new CropPool(poolTarget, this.options.visitsPerCrop);
    this.reviewPool = new CropPool(poolTarget, this.options.visitsPerCrop);
    this.memoryStore = this.emptyMemory();
    this.seedSource = seedFromMetadata(model.metadata, this.memoryStore, this.options);
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
    return this.trained.published;
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
    return this.budget.stats(this.stepCount);
  }

  /** Memory sizes now. */
  memoryCounts(): MemoryCounts {
    return { memorySize: this.memoryStore.size, memoryByDomain: Object.fromEntries(this.memoryStore.sizeByTask()) };
  }

  /** Adds a listener of every event; returns the function that removes it. */
  listen(listener: LearnerListener): () => void {
    return this.listeners.add(listener);
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
    this.trained.assign(this.shipped);
    this.restart();
    for (const task of this.memoryStore.tasks()) if (!this.baseDomains.includes(task)) this.memoryStore.remove(task);
    this.publishNow('reset', this.shipped);
  }

  /** Writes weights, memory and state to `store` (see {@link LearnerStore}). */
  async save(store: LearnerStore, options: ReplayExportOptions = {}): Promise<void> {
    this.assertLive();
    const facts = { domain: this.currentDomain, steps: this.stepCount, weightVersion: this.weightVersion, seeded: this.seedSource, baseDomains: this.baseDomains };
    await store.write(await createSnapshot(this.model.config, this.model.metadata, this.weights, this.memoryStore, facts, options));
  }

  /**
   * Reads a snapshot from `store` and continues from it: weights (published to the model at once),
   * memory, domain and step count; the optimiser starts afresh.
   * @throws SimpleIRError `WEIGHTS_NOT_FOUND` when the store is empty, `WEIGHTS_MISMATCH` for another config.
   */
  async load(store: LearnerStore): Promise<void> {
    this.assertLive();
    const snap = await readSnapshot(store, this.model.config);
    const memory = this.emptyMemory();
    for (const e of snap.memory) memory.add(e.task, e.id, e.sample, e.score);
    this.epoch++;
    this.trained.assign(snap.weights);
    this.restart();
    this.memoryStore = memory;
    this.currentDomain = snap.state.domain;
    this.stepCount = snap.state.steps;
    this.seedSource = snap.state.seeded === 'pending' ? 'none' : snap.state.seeded;
    this.baseDomains = [...snap.state.baseDomains];
    this.publishNow('load', snap.weights);
  }

  /** Releases variables, optimiser state and crops; completes the listeners. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.epoch++;
    this.trained.dispose();
    this.optimizer.dispose();
    this.clearPools();
    this.listeners.complete();
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
    this.clearPools();
    this.listeners.emit({ type: 'domain', reason: 'switch', domain, previous, seeded: this.seedSource, ...this.memoryCounts() });
  }

  /**
   * A frame boundary: publishes staged weights (one `setWeights`, so the next frames see all of them)
   * and grants the frame's learning time. Call it before handing the frame on.
   */
  frameBoundary(): void {
    if (this.disposed) return;
    const s = this.trained.publishStaged(this.model);
    if (s) {
      this.weightVersion++;
      this.listeners.emit({ type: 'swap', version: this.weightVersion, step: s.step, loss: s.loss, reason: 'step', ...this.memoryCounts() });
    }
    this.budget.grantFrame();
  }

  /** Debits time spent learning outside {@link step} (sampling frames, seeding), ms. */
  charge(ms: number): void {
    this.budget.charge(ms);
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
    const { fromTask } = stepComposition(this.stepParts());
    const available = this.pool.unfinished().length;
    return Math.max(fromTask - available, Math.min(fromTask, this.pool.target - available), 0);
  }

  /** True when the pool holds a crop to train on. */
  get hasFreshCrops(): boolean {
    return this.pool.unfinished().length > 0;
  }

  /**
   * Synthesises `count` fresh pairs from a clean frame ([1, H, W, 3] float in [0, 1], not disposed):
   * random crops degraded by `degrade` at `time` seconds.
   */
  addCleanFrame(frame: tf.Tensor4D, degrade: Degradation, time: number, count = 1): void {
    this.assertLive();
    if (count < 1) return;
    this.pool.addDegradedCrops(this.randomCrops(frame, count), degrade, time, this.freshId);
    this.synthesizeReview(frame, count * this.options.replaySynthesis);
  }

  /** Adds one fresh pair from an application's pair (same-size [1, H, W, 3] tensors, not disposed): one random crop of both. */
  addPair(degraded: tf.Tensor4D, clean: tf.Tensor4D): void {
    this.assertLive();
    if (degraded.shape.join() !== clean.shape.join()) {
      throw new SimpleIRError('INVALID_IMAGE', `A training pair's degraded and clean images differ in size: [${degraded.shape}] vs [${clean.shape}].`);
    }
    this.pool.addPairCrop(degraded, clean, (both) => this.randomCrops(both, 1), this.freshId);
    this.synthesizeReview(clean, this.options.replaySynthesis);
  }

  /**
   * Synthesises earlier domains into the memory from a clean frame while {@link needsSeedFrames}: a
   * few crops per seed domain per frame, until `seedPerDomain` each (then emits a `domain` event).
   */
  async seedFrom(frame: tf.Tensor4D): Promise<void> {
    if (this.seedSource !== 'pending' || this.disposed) return;
    const epoch = this.epoch;
    const done = await this.seeder.seed(this.memoryStore, (n) => this.randomCrops(frame, n), this.rng, () => epoch !== this.epoch);
    if (done && epoch === this.epoch) {
      this.seedSource = 'synthesized';
      this.baseDomains = this.memoryStore.tasks();
      this.listeners.emit({ type: 'domain', reason: 'seed', domain: this.currentDomain, previous: this.currentDomain, seeded: 'synthesized', ...this.memoryCounts() });
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

  // ---- internals -----------------------------------------------------------------------------

  private async runStep(t0: number): Promise<StepEvent | null> {
    const epoch = this.epoch;
    const stale = (): boolean => epoch !== this.epoch;
    const domain = this.currentDomain!;
    const parts = this.stepParts();
    const { learningRate, warmupSteps } = this.options;
    const lr = warmupSteps > 0 ? (learningRate * Math.min(warmupSteps, this.optimizerSteps + 1)) / warmupSteps : learningRate;
    this.optimizerSteps++;
    const added = (cropDomain: string, id: string, score: number): void => this.listeners.emit({ type: 'hard-sample', domain: cropDomain, id, score, ...this.memoryCounts() });
    const outcome = await runStep(parts, lr, domain, this.stepCount + 1, stale, added);
    if (!outcome) return null;
    this.stepCount++;
    const losses = stepLosses(outcome);
    this.trained.updateAverage();
    this.trained.stage(this.stepCount, losses.loss);
    const ms = performance.now() - t0;
    this.charge(ms);
    const { reviewed, synthesized } = outcome;
    const event: StepEvent = {
      type: 'step', step: this.stepCount, domain, ...losses, reviewed: reviewed.length + synthesized.length,
      synthesized: synthesized.length, lr, ms, credit: this.budget.credit, ...this.memoryCounts(),
    };
    this.listeners.emit(event);
    return event;
  }

  /** What a step works with, as it is now. */
  private stepParts(): StepParts {
    const { options, rng, memoryStore: memory, history, pool: fresh, reviewPool: review, baseDomains, trained: weights } = this;
    return { options, rng, memory, history, fresh, review, baseDomains, weights, setup: this.stepSetup() };
  }

  /** The id of the next fresh crop. */
  private readonly freshId = (): string => `c${++this.cropCounter}`;

  /** Adds `count` synthesised crops of the earlier domains, cut from the clean image `frame`, to the review pool. */
  private synthesizeReview(frame: tf.Tensor4D, count: number): void {
    const domains = synthesizableDomains(this.baseDomains);
    if (count < 1 || domains.length === 0 || this.options.reviewRatio === 0) return;
    this.synthesizer.addTo(this.reviewPool, domains, count, () => this.randomCrops(frame, 1), this.rng);
  }

  private emptyMemory(): HardSampleMemory<ReplayCrop> {
    const { capacity, perDomain, balance } = this.options;
    return new HardSampleMemory<ReplayCrop>({ capacity, perTask: perDomain, balance });
  }

  /** `count` random crops of `cropSize` (or the largest that fits, a multiple of the scale) from [1, H, W, C]. */
  private randomCrops(frame: tf.Tensor4D, count: number): tf.Tensor4D {
    return randomCrops(frame, count, this.options.cropSize, this.model.config.scale, this.rng);
  }

  private publishNow(reason: 'reset' | 'load', values: ReadonlyMap<string, Float32Array>): void {
    this.trained.dropStaged();
    this.model.setWeights(values);
    this.weightVersion++;
    this.listeners.emit({ type: 'swap', version: this.weightVersion, step: this.stepCount, loss: null, reason, ...this.memoryCounts() });
  }

  /** A new optimiser and loss history: at creation, and after a reset or load. */
  private freshTraining(): { optimizer: tf.Optimizer; history: LossHistory } {
    return { optimizer: createOptimizer(this.options.learningRate), history: new LossHistory({ window: this.options.historyWindow, maxIds: 4096 }) };
  }

  /** Fresh optimiser, pools and history (after a reset or load). */
  private restart(): void {
    this.optimizer.dispose();
    ({ optimizer: this.optimizer, history: this.history } = this.freshTraining());
    this.optimizerSteps = 0;
    this.clearPools();
  }

  private clearPools(): void {
    this.pool.clear();
    this.reviewPool.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new SimpleIRError('DISPOSED', 'This learner was disposed; create a new one.');
  }
}
