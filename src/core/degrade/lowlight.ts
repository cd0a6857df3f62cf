/** Low light: gamma darkening and scaling, uneven illumination, a colour cast, sensor noise and 8-bit quantisation. */
import * as tf from '@tensorflow/tfjs';
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
import { smoothField } from './fields.js';
import { addSensorNoise, type NoiseParams } from './noise.js';

/** Sampled low-light parameters: `brightness * cast * illumination * clean^gamma`, plus noise, then quantised. */
export interface LowlightParams {
  /** Where mid-grey (0.5) lands: 0.22 (dim) .. 0.03 (very dark). */
  midGrey: number;
  /** Exponent applied to the clean image (about 1.3 .. 2.8): dark tones sink more than light ones. */
  gamma: number;
  /** Scale after the gamma, `midGrey / 0.5^gamma` (about 0.15 .. 0.5): where white lands. */
  brightness: number;
  /** Per-channel gains (mean 1): the colour cast of the light source and a wrong white balance. */
  cast: [number, number, number];
  /** Amplitude of smooth uneven illumination (0 = even, 0.5 = pools of light). */
  unevenness: number;
  /** Size in pixels of the illumination's features. */
  unevennessCell: number;
  /** Sensor noise added after darkening (variance `shot * x + read^2`). */
  noise: NoiseParams;
  /** Number of quantisation steps over [0,1] (255 for 8-bit), or 0 for none. */
  levels: number;
  /** Seed of the illumination map. */
  fieldSeed: number;
}

/** Samples low-light parameters for a severity in [0, 1]. */
export function sampleLowlightParams(rng: Random, strength: number, pixelScale: number): LowlightParams {
  const tint = rng.uniform(-0.15, 0.15); // warm (sodium lamps) .. cold (moonlight, LED)
  const green = rng.uniform(-0.06, 0.06);
  const cast = [1 + tint, 1 + green, 1 - tint].map((v) => v * rng.uniform(0.96, 1.04));
  const mean = (cast[0]! + cast[1]! + cast[2]!) / 3;
  const midGrey = clamp(logLerp(0.22, 0.03, strength) * rng.uniform(0.8, 1.25), 0.02, 0.3);
  const gamma = clamp(lerp(1.3, 2.5, strength) + rng.uniform(-0.3, 0.3), 1, 3);
  return {
    midGrey: tidyNumber(midGrey),
    gamma: tidyNumber(gamma),
    brightness: tidyNumber(midGrey / 0.5 ** gamma),
    cast: cast.map((v) => tidyNumber(v / mean)) as [number, number, number],
    unevenness: tidyNumber(rng.next() < 0.5 ? rng.uniform(0, 0.5) : 0),
    unevennessCell: tidyNumber(rng.uniform(150, 500) * pixelScale),
    noise: {
      read: tidyNumber(logLerp(0.003, 0.015, strength) * rng.uniform(0.6, 1.5)),
      shot: tidyNumber(logLerp(0.0008, 0.006, strength) * rng.uniform(0.5, 1.8)),
      colorCorrelation: tidyNumber(rng.uniform(0, 0.5)),
      grain: tidyNumber(rng.next() < 0.5 ? 0 : rng.uniform(0.4, 1.0) * pixelScale),
      fieldSeed: tensorSeed(rng),
    },
    levels: rng.next() < 0.6 ? 255 : 0,
    fieldSeed: tensorSeed(rng),
  };
}

/** A seeded low-light generator; strength takes mid-grey from about 0.22 to 0.03 and gamma from about 1.3 to 2.5. */
export function lowlight(options?: DegradationOptions & Partial<LowlightParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: LowlightParams = {
    ...sampleLowlightParams(new Random(seed).fork(3), strength, pixelScale),
    ...splitOverrides<LowlightParams>(options),
  };
  return defineDegradation('lowlight', { seed, strength, pixelScale, ...params }, (x, time, cache) => {
    const [b, h, w] = x.shape;
    let gain: tf.Tensor = tf.mul(tf.tensor1d(params.cast), params.brightness);
    if (params.unevenness > 0) {
      const [field] = cache.use(`light:${b}x${h}x${w}`, () => [smoothField(b, h, w, params.unevennessCell, params.fieldSeed)]);
      gain = tf.mul(gain, tf.add(1, tf.mul(tf.sub(field, 0.5), 2 * params.unevenness)));
    }
    const dark = tf.mul(tf.pow(tf.clipByValue(x, 0, 1), params.gamma), gain) as tf.Tensor4D;
    const noisy = tf.clipByValue(addSensorNoise(dark, params.noise, time, cache), 0, 1);
    return (params.levels > 0 ? tf.div(tf.round(tf.mul(noisy, params.levels)), params.levels) : noisy) as tf.Tensor4D;
  });
}
