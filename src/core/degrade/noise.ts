/** Sensor noise: signal-dependent (Poisson-like) plus read noise, optionally grainy or colour-correlated; also used by lowlight and blur. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import {
  clamp,
  defineDegradation,
  frameRandom,
  logLerp,
  resolveOptions,
  splitOverrides,
  tensorSeed,
  tidyNumber,
  type Degradation,
  type DegradationOptions,
  type TensorCache,
} from './degradation.js';
import { gaussianNoise, roll } from './fields.js';
import { filterSame, gaussianKernel } from './kernels.js';

/** Sampled noise parameters: the variance at signal level x is `shot * x + read^2`. */
export interface NoiseParams {
  /** Standard deviation of the signal-independent (read) noise. */
  read: number;
  /** Variance per unit of signal (shot noise). */
  shot: number;
  /** 0: independent noise per channel (chroma noise); 1: the same noise in every channel (grey). */
  colorCorrelation: number;
  /** Gaussian blur (pixels) of the noise pattern, as after demosaicing or denoising; 0 for white noise. */
  grain: number;
  /** Seed of the noise pattern. */
  fieldSeed: number;
}

/** Samples noise parameters for a severity in [0, 1]. */
export function sampleNoiseParams(rng: Random, strength: number, pixelScale: number): NoiseParams {
  const shotOn = rng.next() < 0.7;
  return {
    read: tidyNumber(logLerp(0.008, 0.07, strength) * rng.uniform(0.75, 1.3)),
    shot: tidyNumber(shotOn ? logLerp(0.0004, 0.012, strength) * rng.uniform(0.6, 1.6) : 0),
    colorCorrelation: tidyNumber(rng.next() < 0.3 ? rng.uniform(0.7, 1) : rng.uniform(0, 0.4)),
    grain: tidyNumber(rng.next() < 0.6 ? 0 : rng.uniform(0.4, 1.0) * pixelScale),
    fieldSeed: tensorSeed(rng),
  };
}

/** Unit-variance noise pattern for a [B,H,W,3] batch, correlated across channels and grainy as `params` say. */
function noisePattern(params: NoiseParams, shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = shape;
    const rho = params.colorCorrelation;
    const grey = (): tf.Tensor4D => gaussianNoise([b, h, w, 1], params.fieldSeed);
    const colour = (): tf.Tensor4D => gaussianNoise([b, h, w, 3], params.fieldSeed + 1);
    const z =
      rho <= 0
        ? colour()
        : rho >= 1
          ? (tf.tile(grey(), [1, 1, 1, 3]) as tf.Tensor4D)
          : (tf.add(tf.mul(grey(), rho), tf.mul(colour(), Math.sqrt(1 - rho * rho))) as tf.Tensor4D);
    if (params.grain < 0.2) return z;
    const k = gaussianKernel(params.grain);
    let sumSq = 0;
    for (const v of k.data) sumSq += v * v;
    return tf.div(filterSame(z, k, 'reflect'), Math.sqrt(sumSq)) as tf.Tensor4D;
  });
}

/**
 * Adds sensor noise to `x` ([B,H,W,3]). The pattern is drawn once per shape and cached; at time t != 0 it is
 * rolled by an offset drawn from (seed, t), so video noise changes from frame to frame.
 */
export function addSensorNoise(x: tf.Tensor4D, params: NoiseParams, time: number, cache: TensorCache): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    const [pattern] = cache.use(`noise:${b}x${h}x${w}`, () => [noisePattern(params, [b, h, w, 3])]);
    let z = pattern;
    if (time !== 0) {
      const rng = frameRandom(params.fieldSeed, 11, time);
      z = roll(pattern, rng.int(0, h - 1), rng.int(0, w - 1));
    }
    const variance = tf.add(tf.mul(tf.relu(x), params.shot), params.read * params.read);
    return tf.add(x, tf.mul(z, tf.sqrt(variance))) as tf.Tensor4D;
  });
}

/** A seeded noise generator; strength raises the read noise from about 0.008 to 0.07 and the shot noise with it. */
export function noise(options?: DegradationOptions & Partial<NoiseParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: NoiseParams = { ...sampleNoiseParams(new Random(seed).fork(6), strength, pixelScale), ...splitOverrides<NoiseParams>(options) };
  params.colorCorrelation = clamp(params.colorCorrelation, 0, 1);
  return defineDegradation('noise', { seed, strength, pixelScale, ...params }, (x, time, cache) =>
    addSensorNoise(x, params, time, cache),
  );
}
