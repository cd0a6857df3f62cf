/**
 * The Review Learning trainer: stages trained in turn, per-sample loss histories, difficult samples kept
 * in a bounded memory and replayed in later stages with a shrinking share. The same loop runs the
 * baselines (sequential, mixed, random-review). Data, validation and checkpoint storage are supplied by
 * the caller, so it runs in Node and in the browser alike.
 */
import * as tf from '@tensorflow/tfjs';
import { validateConfig, type SimpleIRConfig } from '../config.js';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import { trainingOpsFor } from '../model/ops.js';
import { Random } from '../random.js';
import { LossHistory, type LossHistoryJSON } from './history.js';
import { HardSampleMemory, selectForMemory, type HardSampleMemoryJSON } from './memory.js';
import { batchComposition, cosineLr, planStages, type ReviewShareKind, type StagePlan, type StrategyName } from './schedule.js';
import { assertFiniteLosses, createOptimizer, createVariables, optimizerStep, type StepSetup } from './step.js';

/** One training sample: the `index`-th sample of a task's pool; the data source makes it deterministically. */
export interface SampleRef {
  readonly task: string;
  readonly index: number;
}

/** Makes training pairs. Tensors are [B, S, S, 3] float32 in [0, 1]; the trainer disposes them. */
export interface PairSource {
  /** Number of distinct samples in each task's pool. */
  readonly poolSize: number;
  /** The degraded inputs and clean targets of these samples, in order. */
  pairs(samples: readonly SampleRef[]): Promise<{ degraded: tf.Tensor4D; clean: tf.Tensor4D }> | { degraded: tf.Tensor4D; clean: tf.Tensor4D };
}

/** Per-task validation figures. */
export interface TaskScore {
  /** PSNR of the restored images against the clean ones, dB. */
  readonly psnr: number;
  /** PSNR of the degraded inputs against the clean ones, dB. */
  readonly psnrDegraded: number;
  readonly ssim?: number;
  readonly ssimDegraded?: number;
}

/** Options of the trainer. All have defaults except `config` and `tasks`. */
export interface OfflineTrainerOptions {
  readonly config: SimpleIRConfig;
  /** Tasks in training order (easiest first; see `orderTasksByDifficulty`). */
  readonly tasks: readonly string[];
  readonly strategy?: StrategyName;
  /** Optimiser steps over all stages (default 2000). */
  readonly steps?: number;
  /** Relative step budget per task, e.g. `{ blur: 2 }` gives blur twice the steps of the others. */
  readonly stageWeights?: Readonly<Record<string, number>>;
  readonly batchSize?: number;
  /** Peak learning rate of each stage (default 2e-3), cosine-decayed to `minLr` within the stage. */
  readonly learningRate?: number;
  readonly minLearningRate?: number;
  /** Warm-up steps at the start of each stage (default 5 % of the stage). */
  readonly warmupFraction?: number;
  /** Review share of stage 2 (rho_0; default 0.5), shrinking as rho_0 / (t - 1) (see `reviewShareKind`). */
  readonly rho0?: number;
  /** How the review share changes by stage (default 'inverse': rho_0 / (t - 1); see `reviewShare`). */
  readonly reviewShareKind?: ReviewShareKind;
  /**
   * Stage i starts at `learningRate * stageLrDecay ** i` (default 1: every stage at the full rate). Below 1,
   * later stages fine-tune more gently, which forgets less (docs/review-learning.md).
   */
  readonly stageLrDecay?: number;
  /** Review quantity Q: difficult samples kept per task (default 64). */
  readonly reviewQuantity?: number;
  /** Window of the per-sample loss history (default 6). */
  readonly historyWindow?: number;
  /** Weight of the edge term of the loss (default 0.5). */
  readonly edgeWeight?: number;
  /** Clip the gradients' global norm to this (default 1). */
  readonly clipNorm?: number;
  readonly seed?: number;
}

/** One logged step. */
export interface StepRecord {
  readonly step: number;
  readonly stage: number;
  readonly task: string;
  readonly loss: number;
  readonly lr: number;
  readonly reviewed: number;
  readonly ms: number;
}

/** Everything needed to resume training exactly where it stopped (weights and optimiser state apart). */
export interface TrainerState {
  readonly version: 1;
  readonly options: Required<Omit<OfflineTrainerOptions, 'stageWeights'>> & { stageWeights: Record<string, number> };
  readonly step: number;
  readonly history: LossHistoryJSON;
  readonly memory: HardSampleMemoryJSON<SampleRef>;
  /** Loss curve, one averaged point per `curveEvery` steps. */
  readonly curve: { step: number; stage: number; loss: number }[];
  /** Validation after each finished stage (and at start). */
  readonly validation: { step: number; stage: number; afterTask: string | null; scores: Record<string, TaskScore> }[];
  readonly elapsedMs: number;
}

/** A checkpoint: trainer state, weights and Adam moments, all as plain data. */
export interface Checkpoint {
  readonly state: TrainerState;
  readonly weights: Map<string, Float32Array>;
  readonly optimizer: { name: string; values: Float32Array; shape: number[] }[];
}

/** Callbacks of {@link OfflineTrainer.run}. */
export interface RunHooks {
  /** After every step. */
  onStep?(record: StepRecord): void;
  /** Validation of the current weights on every task (called at the start and after each stage). */
  validate?(weights: ReadonlyMap<string, tf.Tensor>, config: SimpleIRConfig): Promise<Record<string, TaskScore>>;
  /** Persist a checkpoint (called every `checkpointEvery` steps and at the end). */
  saveCheckpoint?(checkpoint: Checkpoint): Promise<void>;
  /** Steps between checkpoints (default 100). */
  checkpointEvery?: number;
  /** Stop after this many steps of this call (default: run to the end). */
  maxSteps?: number;
  /** Stops training at the next step boundary. */
  signal?: AbortSignal;
}

const CURVE_EVERY = 10;

function resolveOptions(o: OfflineTrainerOptions): TrainerState['options'] {
  const config = validateConfig(o.config);
  if (!Array.isArray(o.tasks) || o.tasks.length === 0) throw new SimpleIRError('INVALID_ARGUMENT', 'Trainer needs at least one task.');
  const opts = {
    config,
    tasks: [...o.tasks],
    strategy: o.strategy ?? 'review',
    steps: o.steps ?? 2000,
    stageWeights: { ...(o.stageWeights ?? {}) },
    batchSize: o.batchSize ?? 8,
    learningRate: o.learningRate ?? 2e-3,
    minLearningRate: o.minLearningRate ?? 1e-5,
    warmupFraction: o.warmupFraction ?? 0.05,
    rho0: o.rho0 ?? 0.5,
    reviewShareKind: o.reviewShareKind ?? 'inverse',
    stageLrDecay: o.stageLrDecay ?? 1,
    reviewQuantity: o.reviewQuantity ?? 64,
    historyWindow: o.historyWindow ?? 6,
    edgeWeight: o.edgeWeight ?? 0.5,
    clipNorm: o.clipNorm ?? 1,
    seed: o.seed ?? 1,
  } as const;
  for (const [k, v] of Object.entries({ steps: opts.steps, batchSize: opts.batchSize })) {
    if (!Number.isInteger(v) || v < 1) throw new SimpleIRError('INVALID_ARGUMENT', `Trainer option ${k} must be a positive integer; got ${v}.`);
  }
  if (!Number.isInteger(opts.reviewQuantity) || opts.reviewQuantity < 0) throw new SimpleIRError('INVALID_ARGUMENT', `reviewQuantity must be an integer >= 0; got ${opts.reviewQuantity}.`);
  if (!(opts.stageLrDecay > 0 && opts.stageLrDecay <= 1)) throw new SimpleIRError('INVALID_ARGUMENT', `stageLrDecay must be in (0, 1]; got ${opts.stageLrDecay}.`);
  if (!(opts.learningRate > 0)) throw new SimpleIRError('INVALID_ARGUMENT', `learningRate must be > 0; got ${opts.learningRate}.`);
  return opts;
}

/** Splits the step budget over the stages in proportion to the tasks' weights. */
function weightedPlan(o: TrainerState['options']): StagePlan[] {
  const plan = planStages(o.tasks, o.strategy, { rho0: o.rho0, stepsTotal: Math.max(o.steps, o.tasks.length), shareKind: o.reviewShareKind ?? 'inverse' });
  if (plan.length === 1) return plan;
  const w = plan.map((s) => o.stageWeights[s.tasks[0]!] ?? 1);
  const total = w.reduce((a, b) => a + b, 0);
  let assigned = 0;
  return plan.map((s, i) => {
    const steps = i === plan.length - 1 ? o.steps - assigned : Math.max(1, Math.round((o.steps * w[i]!) / total));
    assigned += steps;
    return { ...s, steps };
  });
}

const sampleKey = (s: SampleRef): string => `${s.task}#${s.index}`;

/** Distinguishes the variables of trainers alive at the same time (tfjs variable names are global). */
let trainerCount = 0;

/**
 * Trains a SimpleIR network with Review Learning (or a baseline strategy) on pairs from a
 * {@link PairSource}. Create it fresh or from a checkpoint; call {@link run}; read {@link weights}.
 */
export class OfflineTrainer {
  readonly options: TrainerState['options'];
  readonly plan: readonly StagePlan[];
  private readonly variables: Map<string, tf.Variable>;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly history: LossHistory;
  private memory: HardSampleMemory<SampleRef>;
  private stepIndex = 0;
  private curve: TrainerState['curve'] = [];
  private validation: TrainerState['validation'] = [];
  private elapsedMs = 0;
  private curveAcc = { sum: 0, n: 0 };
  private readonly stepSetup: StepSetup;

  constructor(options: OfflineTrainerOptions, initial: ReadonlyMap<string, Float32Array>, resume?: Checkpoint) {
    if (!resume && !isOptionsObject(options)) throw invalidArgument('new OfflineTrainer(options, initial)', 'an options object like { config, tasks: [...] }', options);
    if (!resume && !(initial instanceof Map)) throw invalidArgument('new OfflineTrainer(options, initial)', 'initial weights as a Map of name to Float32Array (see initialWeights)', initial);
    this.options = resume ? resume.state.options : resolveOptions(options);
    this.plan = weightedPlan(this.options);
    const weights = resume ? resume.weights : initial;
    this.variables = createVariables(this.options.config, weights, `simpleir-train-${++trainerCount}`);
    this.optimizer = createOptimizer(this.options.learningRate);
    this.stepSetup = {
      config: this.options.config,
      ops: trainingOpsFor(tf.getBackend()),
      variables: this.variables,
      optimizer: this.optimizer,
      edgeWeight: this.options.edgeWeight,
      clipNorm: this.options.clipNorm,
    };
    this.history = resume ? LossHistory.fromJSON(resume.state.history) : new LossHistory({ window: this.options.historyWindow });
    const capacity = Math.max(1, this.options.reviewQuantity * this.options.tasks.length);
    this.memory = resume
      ? HardSampleMemory.fromJSON(resume.state.memory, (s) => s as SampleRef)
      : new HardSampleMemory<SampleRef>({ capacity, perTask: this.options.reviewQuantity, balance: true });
    if (resume) {
      this.stepIndex = resume.state.step;
      this.curve = [...resume.state.curve];
      this.validation = [...resume.state.validation];
      this.elapsedMs = resume.state.elapsedMs;
    }
  }

  /** Restores Adam's moments from a checkpoint (call once after constructing from it). */
  async restoreOptimizer(checkpoint: Checkpoint): Promise<void> {
    if (checkpoint.optimizer.length === 0) return;
    await this.optimizer.setWeights(checkpoint.optimizer.map((o) => ({ name: o.name, tensor: tf.tensor(o.values, o.shape) })));
  }

  /** Steps done so far. */
  get step(): number {
    return this.stepIndex;
  }

  /** True when every planned step is done. */
  get finished(): boolean {
    return this.stepIndex >= this.totalSteps;
  }

  /** Steps over all stages. */
  get totalSteps(): number {
    return this.plan.reduce((a, s) => a + s.steps, 0);
  }

  /** The current weights (owned by the trainer). */
  get weights(): ReadonlyMap<string, tf.Tensor> {
    return this.variables;
  }

  /** The memory of difficult samples. */
  get reviewMemory(): HardSampleMemory<SampleRef> {
    return this.memory;
  }

  /** The per-sample loss history. */
  get lossHistory(): LossHistory {
    return this.history;
  }

  /** Stage index and step within the stage of a global step. */
  stageAt(step: number): { stage: number; local: number } {
    let start = 0;
    for (let i = 0; i < this.plan.length; i++) {
      if (step < start + this.plan[i]!.steps) return { stage: i, local: step - start };
      start += this.plan[i]!.steps;
    }
    return { stage: this.plan.length - 1, local: this.plan[this.plan.length - 1]!.steps };
  }

  /** Draws the samples of one step: fresh ones from the stage's tasks plus reviewed ones from the memory. */
  drawBatch(step: number, poolSize: number): { samples: SampleRef[]; reviewed: number } {
    const { stage } = this.stageAt(step);
    const plan = this.plan[stage]!;
    const rng = new Random(this.options.seed * 1_000_003 + step);
    const { fromMemory, fromTask } = batchComposition(this.options.batchSize, plan.reviewShare, this.memory.size);
    const samples: SampleRef[] = [];
    for (let i = 0; i < fromTask; i++) samples.push({ task: rng.pick(plan.tasks), index: rng.int(0, poolSize - 1) });
    const reviewed = fromMemory > 0 ? this.memory.sample(fromMemory, rng).map((m) => m.sample) : [];
    return { samples: [...samples, ...reviewed], reviewed: reviewed.length };
  }

  /** One optimiser step on the given pairs; returns the per-sample losses. */
  trainStep(degraded: tf.Tensor4D, clean: tf.Tensor4D, lr: number): Float32Array {
    const perSample = optimizerStep(this.stepSetup, [{ degraded, clean }], lr);
    const losses = perSample.dataSync() as Float32Array;
    perSample.dispose();
    assertFiniteLosses(losses, `at step ${this.stepIndex}`);
    return losses;
  }

  /** Fills the memory with the stage's difficult (or random) samples at the end of a stage. */
  private closeStage(stage: number, poolSize: number): void {
    const plan = this.plan[stage]!;
    if (plan.memorySelection === 'none' || this.options.reviewQuantity === 0) return;
    for (const task of plan.tasks) {
      const candidates = Array.from({ length: poolSize }, (_, i) => sampleKey({ task, index: i })).filter((k) => this.history.isScored(k));
      const rng = new Random(this.options.seed * 7919 + stage);
      const chosen = selectForMemory(this.history, candidates, this.options.reviewQuantity, plan.memorySelection, rng);
      for (const key of chosen) {
        const index = Number(key.slice(key.lastIndexOf('#') + 1));
        this.memory.add(task, key, { task, index }, this.history.fluctuation(key));
      }
    }
  }

  /** Runs (or resumes) training until the end of the plan, `maxSteps`, or an abort. */
  async run(source: PairSource, hooks: RunHooks = {}): Promise<void> {
    const every = hooks.checkpointEvery ?? 100;
    const stopAt = Math.min(this.totalSteps, this.stepIndex + (hooks.maxSteps ?? Infinity));
    if (this.stepIndex === 0 && hooks.validate && this.validation.length === 0) {
      this.validation.push({ step: 0, stage: -1, afterTask: null, scores: await hooks.validate(this.variables, this.options.config) });
    }
    while (this.stepIndex < stopAt && !hooks.signal?.aborted) {
      const step = this.stepIndex;
      const { stage, local } = this.stageAt(step);
      const plan = this.plan[stage]!;
      // Checkpoints written before stageLrDecay existed resume at the full rate.
      const lr = cosineLr(local, plan.steps, this.options.learningRate * (this.options.stageLrDecay ?? 1) ** stage, {
        warmup: Math.max(1, Math.round(plan.steps * this.options.warmupFraction)),
        minLr: this.options.minLearningRate,
      });
      const t0 = Date.now();
      const { samples, reviewed } = this.drawBatch(step, source.poolSize);
      const { degraded, clean } = await source.pairs(samples);
      let losses: Float32Array;
      try {
        losses = this.trainStep(degraded, clean, lr);
      } finally {
        degraded.dispose();
        clean.dispose();
      }
      samples.forEach((s, i) => this.history.record(sampleKey(s), losses[i]!));
      const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
      this.curveAcc.sum += mean;
      this.curveAcc.n += 1;
      if ((step + 1) % CURVE_EVERY === 0) {
        this.curve.push({ step: step + 1, stage, loss: this.curveAcc.sum / this.curveAcc.n });
        this.curveAcc = { sum: 0, n: 0 };
      }
      const ms = Date.now() - t0;
      this.elapsedMs += ms;
      this.stepIndex = step + 1;
      hooks.onStep?.({ step: step + 1, stage, task: plan.tasks.join('+'), loss: mean, lr, reviewed, ms });
      const stageEnded = local + 1 === plan.steps;
      if (stageEnded) {
        this.closeStage(stage, source.poolSize);
        if (hooks.validate) {
          this.validation.push({ step: step + 1, stage, afterTask: plan.tasks.join('+'), scores: await hooks.validate(this.variables, this.options.config) });
        }
      }
      if (hooks.saveCheckpoint && (stageEnded || this.stepIndex % every === 0 || this.stepIndex === stopAt)) {
        await hooks.saveCheckpoint(await this.checkpoint());
      }
    }
  }

  /** The full training state as plain data. */
  async checkpoint(): Promise<Checkpoint> {
    const weights = new Map<string, Float32Array>();
    for (const [name, v] of this.variables) weights.set(name, v.dataSync() as Float32Array);
    const opt = await this.optimizer.getWeights();
    const optimizer = opt.map((w) => ({ name: w.name, values: w.tensor.dataSync() as Float32Array, shape: [...w.tensor.shape] }));
    // getWeights returns the optimiser's own moment variables plus a fresh iteration-count scalar.
    tf.dispose(opt.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
    return {
      state: {
        version: 1,
        options: this.options,
        step: this.stepIndex,
        history: this.history.toJSON(),
        memory: this.memory.toJSON((s) => s),
        curve: this.curve,
        validation: this.validation,
        elapsedMs: this.elapsedMs,
      },
      weights,
      optimizer,
    };
  }

  /** Per-stage validation records so far. */
  get validationLog(): TrainerState['validation'] {
    return this.validation;
  }

  /** The loss curve so far. */
  get lossCurve(): TrainerState['curve'] {
    return this.curve;
  }

  /** Releases variables and optimiser state. */
  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.optimizer.dispose();
  }
}
