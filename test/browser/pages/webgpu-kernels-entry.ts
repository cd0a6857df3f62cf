/**
 * Browser entry of webgpu-kernels.test.ts: each custom kernel (channel normalisation, channel mean and
 * max) against the same computation in tfjs operations, on webgpu, on seeded inputs; and the dispatches
 * each takes.
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import { predictWith } from '../../../src/core/model/simpleir';
import { channelMeanMax, channelMeanMaxByOps, normalise, normaliseByOps } from '../../../src/core/model/forward';
import { Random } from '../../../src/core/random';
import { gpuDone, startGpuWorkCount } from '../../../bench/gpu-work-page';

/** The kernels compared, by name: the dispatching function and its tfjs operations. */
const KERNELS = {
  normalise: [normalise, normaliseByOps],
  meanMax: [channelMeanMax, channelMeanMaxByOps],
} as const;

/** A kernel of {@link KERNELS}. */
export type KernelName = keyof typeof KERNELS;

export interface KernelResult {
  backend: string;
  shape: number[];
  /** Largest |kernel - tfjs operations|, and the largest |value| of the output (to see it is not all zero). */
  maxDiff: number;
  maxAbs: number;
  /** Dispatches of the kernel and of the operations. */
  kernelDispatches: number;
  opsDispatches: number;
  /** Inside tf.grad: the kernel is not used and the gradient exists (sum of |dx|). */
  gradAbsSum: number;
  tensorsLeft: number;
}

/** What {@link Window.compareModel} found. */
export interface ModelCompareResult {
  backend: string;
  /** Largest |folded weights + kernels - raw weights + tfjs operations| of the restored frame. */
  maxDiff: number;
  /** Largest |output - input|: the random weights change the frame. */
  change: number;
  tensorsLeft: number;
}

declare global {
  interface Window {
    /** `tiny` with random weights on a seeded 64x64 frame on webgpu: predict (folds, kernels) against the raw weights in tfjs operations. */
    compareModel: () => Promise<ModelCompareResult>;
    compareKernel: (args: { kernel: KernelName; shape: [number, number, number, number] }) => Promise<KernelResult>;
  }
}

window.compareKernel = async ({ kernel: name, shape }) => {
  const [viaKernel, viaOps] = KERNELS[name];
  const info = await selectBackend('webgpu', { onWarning: () => undefined });
  const before = tf.memory().numTensors;
  const rng = new Random(11);
  const size = shape.reduce((a, b) => a * b, 1);
  // Channels of different offsets and spreads, as features are: a pixel's mean is far from 0.
  const c = shape[3];
  const x = tf.tensor4d(Float32Array.from({ length: size }, (_, i) => 3 + (i % c) * 0.25 + rng.normal() * (1 + (i % 3))), shape);
  await gpuDone();
  const run = async (f: () => tf.Tensor): Promise<{ y: tf.Tensor; dispatches: number }> => {
    const { work, stop } = startGpuWorkCount();
    let y: tf.Tensor;
    try {
      y = f();
      await gpuDone();
    } finally {
      stop();
    }
    return { y, dispatches: work.dispatches };
  };
  const kernel = await run(() => viaKernel(x));
  const ops = await run(() => tf.tidy(() => viaOps(x)));
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(kernel.y, ops.y))));
  const m = tf.tidy(() => tf.max(tf.abs(kernel.y)));
  const maxDiff = (await d.data())[0]!;
  const maxAbs = (await m.data())[0]!;
  tf.dispose([kernel.y, ops.y, d, m]);
  // Only the input is left.
  const tensorsLeft = tf.memory().numTensors - before - 1;
  const gsum = tf.tidy(() => {
    const weights = tf.range(0, size).reshape(shape);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(viaKernel(t as tf.Tensor4D), tf.slice(weights, [0, 0, 0, 0], [...shape.slice(0, 3), name === 'meanMax' ? 2 : shape[3]]))))(x);
    return tf.sum(tf.abs(g));
  });
  const result: KernelResult = {
    backend: info.name,
    shape,
    maxDiff,
    maxAbs,
    kernelDispatches: kernel.dispatches,
    opsDispatches: ops.dispatches,
    gradAbsSum: (await gsum.data())[0]!,
    tensorsLeft,
  };
  tf.dispose([x, gsum]);
  return result;
};

window.compareModel = async () => {
  const info = await selectBackend('webgpu', { onWarning: () => undefined });
  const before = tf.memory().numTensors;
  const model = SimpleIR.create('tiny', { init: 'random', seed: 9 });
  const rng = new Random(12);
  const x = tf.tensor4d(Float32Array.from({ length: 64 * 64 * 3 }, () => rng.uniform(0, 1)), [1, 64, 64, 3]);
  const fast = model.predict(x);
  // Under a gradient tape the network runs as before this work: raw weights, folded at each call, tfjs operations only.
  let reference: tf.Tensor | undefined;
  const grad = tf.grad((xs: tf.Tensor) => {
    reference = tf.keep(predictWith(model.config, model.params, xs as tf.Tensor4D));
    return tf.mean(reference);
  })(x);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(fast, reference!))));
  const c = tf.tidy(() => tf.max(tf.abs(tf.sub(fast, x))));
  const result: ModelCompareResult = { backend: info.name, maxDiff: (await d.data())[0]!, change: (await c.data())[0]!, tensorsLeft: 0 };
  tf.dispose([grad, d, c, fast, reference!, x]);
  model.dispose();
  result.tensorsLeft = tf.memory().numTensors - before;
  return result;
};
