/**
 * One optimiser step of SimpleIR on given pairs: forward pass in the backend's differentiable
 * formulation, per-sample loss, global-norm gradient clipping, Adam update. Shared by the offline
 * trainer and the online learner.
 */
import * as tf from '@tensorflow/tfjs';
import { paramSpecs, type SimpleIRConfig } from '../config.js';
import { SimpleIRError } from '../errors.js';
import { forward } from '../model/forward.js';
import type { NetOps } from '../model/ops.js';
import { perSampleLoss } from './loss.js';

/** What a step updates and how: the network's variables, the optimiser and the loss settings. */
export interface StepSetup {
  /** The network's shape. */
  readonly config: SimpleIRConfig;
  /** Differentiable formulation for the active backend (see `trainingOpsFor`). */
  readonly ops: NetOps;
  /** Trainable weights by parameter name. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** The optimiser (Adam in this project); its learning rate is set on each step. */
  readonly optimizer: tf.Optimizer;
  /** Weight of the loss's edge term (see `perSampleLoss`). */
  readonly edgeWeight: number;
  /** Gradients are scaled down so that their global norm is at most this. */
  readonly clipNorm: number;
}

/** A batch of pairs of one crop size, [B, H, W, 3] float32 in [0, 1]. */
export interface PairBatch {
  readonly degraded: tf.Tensor4D;
  readonly clean: tf.Tensor4D;
}

/**
 * Variables of `config`'s parameters holding `values`, named `${prefix}/${parameter}` (tfjs variable names
 * are global: give each owner its own prefix). The caller owns them.
 * @throws SimpleIRError `WEIGHTS_MISMATCH` when `values` lacks a parameter (none are left behind then).
 */
export function createVariables(config: SimpleIRConfig, values: ReadonlyMap<string, Float32Array>, prefix: string, trainable = true): Map<string, tf.Variable> {
  const variables = new Map<string, tf.Variable>();
  for (const spec of paramSpecs(config)) {
    const v = values.get(spec.name);
    if (!v) {
      variables.forEach((x) => x.dispose());
      throw new SimpleIRError('WEIGHTS_MISMATCH', `Initial weights lack ${spec.name}; pass weights made for this config (SimpleIR's getWeights, or initialWeights(config)).`);
    }
    const initial = tf.tensor(v, [...spec.shape]);
    try {
      variables.set(spec.name, tf.variable(initial, trainable, `${prefix}/${spec.name}`));
    } finally {
      initial.dispose();
    }
  }
  return variables;
}

/** Adam as every trainer of this project uses it (beta1 0.9, beta2 0.999, epsilon 1e-8), at `learningRate` until a step sets its own. */
export function createOptimizer(learningRate: number): tf.AdamOptimizer {
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
}

/**
 * Sum of scalars as a tree of pairwise adds: `tf.addN` of every gradient would bind one buffer per
 * input, more than WebGPU allows in one shader (8 storage buffers on some adapters).
 */
function sumAll(xs: tf.Tensor[]): tf.Tensor {
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tf.add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0] ?? tf.scalar(0);
}

/** Scales all gradients by one factor so that their global L2 norm is at most `maxNorm`. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const norm = tf.sqrt(sumAll(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-12)));
    const out: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
    return out;
  });
}

/**
 * One optimiser step at learning rate `lr` on one or more batches (batches may differ in crop size:
 * the loss is the mean of every sample's loss). Returns the per-sample losses, batches in order, as a
 * new [B] tensor owned by the caller (read it with `dataSync()` or, on GPU backends, `await data()`).
 * Does not dispose the batches.
 */
export function optimizerStep(setup: StepSetup, batches: readonly PairBatch[], lr: number): tf.Tensor1D {
  if (batches.length === 0) throw new SimpleIRError('INVALID_ARGUMENT', 'optimizerStep needs at least one batch of pairs.');
  (setup.optimizer as unknown as { learningRate: number }).learningRate = lr;
  const varList = [...setup.variables.values()];
  let perSample!: tf.Tensor1D;
  const { value, grads } = tf.variableGrads(() => {
    const losses = batches.map((b) => perSampleLoss(forward(setup.config, setup.ops, setup.variables, b.degraded, false), b.clean, { edgeWeight: setup.edgeWeight }));
    perSample = tf.keep(losses.length === 1 ? losses[0]! : (tf.concat(losses, 0) as tf.Tensor1D));
    return tf.mean(perSample) as tf.Scalar;
  }, varList);
  const clipped = clipByGlobalNorm(grads, setup.clipNorm);
  setup.optimizer.applyGradients(Object.entries(clipped).map(([name, tensor]) => ({ name, tensor })));
  tf.dispose([value, grads, clipped]);
  return perSample;
}

/**
 * Throws `NON_FINITE` when a loss is not finite (training diverged); `where` names the step in the
 * message, e.g. `at step 12`.
 */
export function assertFiniteLosses(losses: ArrayLike<number>, where: string): void {
  for (let i = 0; i < losses.length; i++) {
    if (!Number.isFinite(losses[i]!)) {
      throw new SimpleIRError('NON_FINITE', `Training diverged: loss is ${losses[i]} ${where}. Lower the learning rate or resume from an earlier checkpoint.`);
    }
  }
}
