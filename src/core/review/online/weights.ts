/**
 * The online learner's weights: the trained variables, their moving average (what the learner
 * publishes), the shipped weights (review targets), and the copy staged for the next frame boundary.
 */
import * as tf from '@tensorflow/tfjs';
import { paramSpecs, type SimpleIRConfig } from '../../config.js';
import { forward } from '../../model/forward.js';
import { nativeOps } from '../../model/ops.js';
import { createVariables } from '../step.js';
import type { ResolvedLearnerOptions } from './options.js';

/** What the learner needs of a model (a `SimpleIR` is one). */
export interface LearnableModel {
  readonly config: SimpleIRConfig;
  readonly metadata: Readonly<Record<string, unknown>>;
  getWeights(): Map<string, Float32Array>;
  /** Replaces every weight at once. */
  setWeights(values: ReadonlyMap<string, Float32Array | tf.Tensor>): void;
}

/** Weights staged for publication, with the step that made them and its loss. */
export interface StagedWeights {
  readonly weights: Map<string, tf.Tensor>;
  readonly step: number;
  readonly loss: number;
}

/** Distinguishes the variables of learners alive at the same time (tfjs variable names are global). */
let learnerCount = 0;

/** The trained, averaged, shipped and staged weights of one learner; it owns all of their tensors. */
export class LearnerWeights {
  /** The weights the optimiser trains. */
  readonly variables: Map<string, tf.Variable>;
  /** The moving average of `variables` (`weightAveraging` > 0), what the learner publishes. */
  private readonly averaged: Map<string, tf.Variable>;
  /** The shipped weights as tensors, for review targets (`reviewTarget: 'shipped'`); empty otherwise. */
  private readonly shippedTensors = new Map<string, tf.Tensor>();
  private staged: StagedWeights | null = null;

  /** Variables (and their average) of `config`, starting from `shipped`. */
  constructor(
    private readonly config: SimpleIRConfig,
    shipped: ReadonlyMap<string, Float32Array>,
    private readonly options: Pick<ResolvedLearnerOptions, 'weightAveraging' | 'reviewTarget'>,
  ) {
    const prefix = `simpleir-online-${++learnerCount}`;
    this.variables = createVariables(config, shipped, prefix);
    this.averaged = options.weightAveraging > 0 ? createVariables(config, shipped, `${prefix}/average`, false) : new Map();
    if (options.reviewTarget === 'shipped') for (const spec of paramSpecs(config)) this.shippedTensors.set(spec.name, tf.tensor(shipped.get(spec.name)!, [...spec.shape]));
  }

  /** The weights the learner publishes and saves: the average, or the trained weights when averaging is off. */
  get published(): ReadonlyMap<string, tf.Tensor> {
    return this.averaged.size > 0 ? this.averaged : this.variables;
  }

  /** average <- decay * average + (1 - decay) * trained, after each step (`weightAveraging` > 0). */
  updateAverage(): void {
    const decay = this.options.weightAveraging;
    for (const [name, avg] of this.averaged) {
      tf.tidy(() => avg.assign(tf.add(tf.mul(avg, decay), tf.mul(this.variables.get(name)!, 1 - decay))));
    }
  }

  /** Sets the trained weights and their average to `values`. */
  assign(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.variables) tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape)));
    for (const [name, v] of this.averaged) tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape)));
  }

  /** The shipped weights' output (before clipping) on `degraded`: the review target of earlier domains (`reviewTarget: 'shipped'` only). */
  shippedOutput(degraded: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => forward(this.config, nativeOps, this.shippedTensors, degraded, false));
  }

  /** Keeps a copy of the published weights to publish at the next frame boundary (replacing an unpublished one). */
  stage(step: number, loss: number): void {
    this.dropStaged();
    const weights = new Map<string, tf.Tensor>();
    for (const [name, v] of this.published) weights.set(name, tf.clone(v));
    this.staged = { weights, step, loss };
  }

  /** Forgets the staged weights. */
  dropStaged(): void {
    this.staged?.weights.forEach((t) => t.dispose());
    this.staged = null;
  }

  /** Publishes the staged weights to `model` in one `setWeights`; returns their step and loss, or `null` when none were staged. */
  publishStaged(model: LearnableModel): { step: number; loss: number } | null {
    const s = this.staged;
    if (!s) return null;
    this.staged = null;
    try {
      model.setWeights(s.weights);
    } finally {
      s.weights.forEach((t) => t.dispose());
    }
    return { step: s.step, loss: s.loss };
  }

  /** Releases every tensor. */
  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.averaged.forEach((v) => v.dispose());
    this.shippedTensors.forEach((t) => t.dispose());
    this.dropStaged();
  }
}
