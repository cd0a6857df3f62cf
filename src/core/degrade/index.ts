/** Synthetic, seeded degradations (rain, snow, low light, blur, haze, noise) made with tensor ops, for training, validation and demos. */
import { SimpleIRError } from '../errors.js';
import type { Random } from '../random.js';
import { blur, type BlurParams } from './blur.js';
import type { Degradation, DegradationKind, DegradationOptions } from './degradation.js';
import { haze, type HazeParams } from './haze.js';
import { lowlight, type LowlightParams } from './lowlight.js';
import { noise, type NoiseParams } from './noise.js';
import { rain, type RainParams } from './rain.js';
import { snow, type SnowParams } from './snow.js';

export * from './degradation.js';
export * from './kernels.js';
export * from './fields.js';
export * from './rain.js';
export * from './snow.js';
export * from './lowlight.js';
export * from './blur.js';
export * from './haze.js';
export * from './noise.js';
export * from './scene.js';

/** Every degradation kind, in a stable order. */
export const DEGRADATION_KINDS: readonly DegradationKind[] = Object.freeze(['rain', 'snow', 'lowlight', 'blur', 'haze', 'noise'] as const);

/**
 * The style parameters of each kind: `createDegradation(kind, options)` takes any of them besides
 * {@link DegradationOptions}, and a value given replaces the one drawn from the seed (e.g.
 * `createDegradation('rain', { seed: 3, angle: 40 })` for rain falling at 40 degrees).
 */
export interface DegradationParams {
  readonly rain: RainParams;
  readonly snow: SnowParams;
  readonly lowlight: LowlightParams;
  readonly blur: BlurParams;
  readonly haze: HazeParams;
  readonly noise: NoiseParams;
}

const FACTORIES: { readonly [K in DegradationKind]: (options?: DegradationOptions & Partial<DegradationParams[K]>) => Degradation } = {
  rain,
  snow,
  lowlight,
  blur,
  haze,
  noise,
};

/**
 * The generator of `kind` with `options`: the common options (seed, strength, pixel scale) and, to fix
 * part of the style, any of the kind's {@link DegradationParams}. Throws `INVALID_ARGUMENT` for an
 * unknown kind or a bad option.
 */
export function createDegradation<K extends DegradationKind>(kind: K, options?: DegradationOptions & Partial<DegradationParams[K]>): Degradation {
  const factory = FACTORIES[kind] as ((options?: DegradationOptions & Partial<DegradationParams[K]>) => Degradation) | undefined;
  if (factory === undefined) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Unknown degradation kind '${String(kind)}'; expected one of ${DEGRADATION_KINDS.join(', ')}.`, {
      kind,
    });
  }
  return factory(options);
}

/**
 * A degradation of `kind` with a fresh seed and a strength uniform in `strengthRange`, both drawn from `rng`
 * (for training: widen the range as a curriculum advances). `pixelScale` passes through.
 */
export function randomDegradation(
  kind: DegradationKind,
  rng: Random,
  strengthRange: [number, number] = [0, 1],
  pixelScale = 1,
): Degradation {
  const [lo, hi] = strengthRange;
  if (!(lo >= 0 && hi <= 1 && lo <= hi)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `strengthRange must satisfy 0 <= lo <= hi <= 1, got [${lo}, ${hi}].`, {
      strengthRange,
    });
  }
  const seed = rng.int(0, 0x7fffffff);
  const strength = rng.uniform(lo, hi);
  return createDegradation(kind, { seed, strength, pixelScale });
}
