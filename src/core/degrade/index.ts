/** Synthetic, seeded degradations (rain, snow, low light, blur, haze, noise) made with tensor ops, for training, validation and demos. */
import { SimpleIRError } from '../errors.js';
import type { Random } from '../random.js';
import { blur } from './blur.js';
import type { Degradation, DegradationKind, DegradationOptions } from './degradation.js';
import { haze } from './haze.js';
import { lowlight } from './lowlight.js';
import { noise } from './noise.js';
import { rain } from './rain.js';
import { snow } from './snow.js';

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

const FACTORIES: Readonly<Record<DegradationKind, (options?: DegradationOptions) => Degradation>> = {
  rain,
  snow,
  lowlight,
  blur,
  haze,
  noise,
};

/** The generator of `kind` with `options`. Throws `INVALID_ARGUMENT` for an unknown kind. */
export function createDegradation(kind: DegradationKind, options?: DegradationOptions): Degradation {
  const factory = FACTORIES[kind];
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
