/** Blur: camera-shake motion along a random trajectory, defocus (disk), or both, with optional light sensor noise. */
import type * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import {
  clamp,
  defineDegradation,
  lerp,
  logLerp,
  resolveOptions,
  splitOverrides,
  tensorSeed,
  tidyNumber,
  type Degradation,
  type DegradationOptions,
} from './degradation.js';
import { convolveKernels, diskKernel, filterSame, normalizeSum, trajectoryKernel, type Kernel2D } from './kernels.js';
import { addSensorNoise, type NoiseParams } from './noise.js';

/** Which blur a {@link BlurParams} describes. */
export type BlurType = 'motion' | 'defocus' | 'both';

/** Sampled blur parameters. */
export interface BlurParams {
  /** Motion (camera shake), defocus, or a shaken defocused shot. */
  type: BlurType;
  /** Side in pixels of the motion kernel (odd; the path spans up to side - 2), 0 without motion. */
  motionSize: number;
  /** How much the shake path wanders, 0 (straight) .. 1 (curly). */
  curvature: number;
  /** Chance per step of a jerk in the shake path. */
  shake: number;
  /** Radius in pixels of the defocus disk, 0 without defocus. */
  defocusRadius: number;
  /** Light sensor noise after blurring, or null. */
  noise: NoiseParams | null;
  /** Seed of the shake path. */
  kernelSeed: number;
}

/** Samples blur parameters for a severity in [0, 1]: kernels grow from about 5 px to about 31 px. */
export function sampleBlurParams(rng: Random, strength: number, pixelScale: number): BlurParams {
  const roll = rng.next();
  const type: BlurType = roll < 0.55 ? 'motion' : roll < 0.85 ? 'defocus' : 'both';
  const both = type === 'both';
  const motion = lerp(5, 31, strength) * rng.uniform(0.8, 1.2) * pixelScale * (both ? 0.7 : 1);
  const radius = lerp(1.5, 8, strength) * rng.uniform(0.8, 1.2) * pixelScale * (both ? 0.6 : 1);
  const noisy = rng.next() < 0.5;
  return {
    type,
    motionSize: type === 'defocus' ? 0 : Math.round(clamp(motion, 3, 63 * pixelScale)) | 1,
    curvature: tidyNumber(rng.next() < 0.3 ? rng.uniform(0, 0.15) : rng.uniform(0.15, 1)),
    shake: tidyNumber(rng.uniform(0, 0.12)),
    defocusRadius: type === 'motion' ? 0 : tidyNumber(clamp(radius, 0.8, 16 * pixelScale)),
    noise: noisy
      ? {
          read: tidyNumber(logLerp(0.002, 0.012, rng.next())),
          shot: tidyNumber(logLerp(0.0002, 0.002, rng.next())),
          colorCorrelation: tidyNumber(rng.uniform(0, 0.5)),
          grain: 0,
          fieldSeed: tensorSeed(rng),
        }
      : null,
    kernelSeed: tensorSeed(rng),
  };
}

/** The blur kernel (sums to 1) that `params` describe. */
export function blurKernel(params: BlurParams): Kernel2D {
  let k: Kernel2D | null = null;
  if (params.motionSize >= 3) {
    k = trajectoryKernel(new Random(params.kernelSeed), {
      size: params.motionSize,
      curvature: params.curvature,
      shake: params.shake,
    });
  }
  if (params.defocusRadius > 0) {
    const disk = diskKernel(params.defocusRadius);
    k = k === null ? disk : convolveKernels(k, disk);
  }
  return normalizeSum(k ?? { height: 1, width: 1, data: Float32Array.of(1) });
}

/** A seeded blur generator; strength grows the kernel from mild (about 5 px) to strong (about 31 px). */
export function blur(options?: DegradationOptions & Partial<BlurParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: BlurParams = { ...sampleBlurParams(new Random(seed).fork(4), strength, pixelScale), ...splitOverrides<BlurParams>(options) };
  const kernel = blurKernel(params);
  const report = { seed, strength, pixelScale, ...params, kernelSize: kernel.height };
  return defineDegradation('blur', report, (x: tf.Tensor4D, time, cache) => {
    const blurred = filterSame(x, kernel, 'reflect');
    return params.noise === null ? blurred : addSensorNoise(blurred, params.noise, time, cache);
  });
}
