/** Haze: atmospheric scattering I = J t + A (1 - t), with a smooth random depth map behind the transmission t. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import {
  clamp,
  defineDegradation,
  lerp,
  resolveOptions,
  splitOverrides,
  tensorSeed,
  tidyNumber,
  type Degradation,
  type DegradationOptions,
} from './degradation.js';
import { smoothField } from './fields.js';

/** Sampled haze parameters. */
export interface HazeParams {
  /** Mean transmission over the frame (1 = clear air). */
  meanTransmission: number;
  /** Scattering coefficient: t = exp(-beta * depth). */
  beta: number;
  /** Mean depth, in [0, 1]. */
  depth: number;
  /** Spread of the random depth around its mean. */
  depthVariation: number;
  /** Size in pixels of the depth map's features. */
  depthCell: number;
  /** Depth added per 1000 pixels upwards (the top of a frame is usually farther). */
  verticalSlope: number;
  /** Atmospheric light A, RGB in [0, 1]. */
  airlight: [number, number, number];
  /** Seed of the depth map. */
  fieldSeed: number;
}

/** Samples haze parameters from `rng` for a severity in [0, 1]. */
export function sampleHazeParams(rng: Random, strength: number, pixelScale: number): HazeParams {
  const meanTransmission = clamp(lerp(0.85, 0.35, strength) * rng.uniform(0.9, 1.1), 0.2, 0.95);
  const depth = rng.uniform(0.5, 0.8);
  const grey = rng.uniform(0.7, 1.0);
  const warm = rng.uniform(-0.05, 0.05);
  return {
    meanTransmission: tidyNumber(meanTransmission),
    beta: tidyNumber(-Math.log(meanTransmission) / depth),
    depth: tidyNumber(depth),
    depthVariation: tidyNumber(rng.uniform(0.1, 0.5)),
    depthCell: tidyNumber(rng.uniform(100, 400) * pixelScale),
    verticalSlope: tidyNumber(rng.uniform(0, 0.4) / pixelScale),
    airlight: [grey * (1 + warm), grey, grey * (1 - warm)].map((v) => tidyNumber(clamp(v * rng.uniform(0.98, 1.02), 0, 1))) as [
      number,
      number,
      number,
    ],
    fieldSeed: tensorSeed(rng),
  };
}

/** The transmission map t ([B,H,W,1], in (0,1]) of `params` for a batch of the given size. */
export function transmissionMap(params: HazeParams, batch: number, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const field = smoothField(batch, height, width, params.depthCell, params.fieldSeed);
    const rows = tf.linspace((height - 1) / 2, -(height - 1) / 2, height).reshape([1, height, 1, 1]);
    const depth = tf.clipByValue(
      tf.add(tf.add(params.depth, tf.mul(tf.sub(field, 0.5), 2 * params.depthVariation)), tf.mul(rows, params.verticalSlope / 1000)),
      0,
      1.5,
    );
    return tf.exp(tf.mul(depth, -params.beta)) as tf.Tensor4D;
  });
}

/** Composites haze over `clean` with transmission `t`: J t + A (1 - t). */
export function composeHaze(clean: tf.Tensor4D, t: tf.Tensor4D, airlight: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const a = tf.tensor1d(airlight.slice(0, 3));
    return tf.add(tf.mul(clean, t), tf.mul(a, tf.sub(1, t))) as tf.Tensor4D;
  });
}

/** A seeded haze generator; strength lowers the mean transmission from about 0.85 to about 0.35. */
export function haze(options?: DegradationOptions & Partial<HazeParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: HazeParams = { ...sampleHazeParams(new Random(seed).fork(5), strength, pixelScale), ...splitOverrides<HazeParams>(options) };
  return defineDegradation('haze', { seed, strength, pixelScale, ...params }, (x, _time, cache) => {
    const [b, h, w] = x.shape;
    const [t] = cache.use(`${b}x${h}x${w}`, () => [transmissionMap(params, b, h, w)]);
    return composeHaze(x, t, params.airlight);
  });
}
