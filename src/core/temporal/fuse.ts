/**
 * Per-pixel fusion of aligned frames: the temporal median (which drops short-lived occluders such as
 * rain streaks and flakes) and the mask of real scene change (moving objects), where the current
 * frame must be kept. Elementwise tfjs ops and pooling only, so they run on any backend's device.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The elementwise median of `values` (tensors of one shape): an odd-even transposition sort built
 * from `minimum`/`maximum`; for an even count, the mean of the two middle values.
 */
export function median(values: readonly tf.Tensor4D[]): tf.Tensor4D {
  if (values.length === 0) throw new RangeError('median of no tensors');
  return tf.tidy(() => {
    const v: tf.Tensor[] = [...values];
    for (let pass = 0; pass < v.length; pass++) {
      for (let i = pass % 2; i + 1 < v.length; i += 2) {
        const lo = tf.minimum(v[i]!, v[i + 1]!);
        const hi = tf.maximum(v[i]!, v[i + 1]!);
        v[i] = lo;
        v[i + 1] = hi;
      }
    }
    const n = v.length;
    const mid = n % 2 === 1 ? v[(n - 1) / 2]!.clone() : tf.mul(tf.add(v[n / 2 - 1]!, v[n / 2]!), 0.5);
    return mid as tf.Tensor4D;
  });
}

/** How {@link changeMask} tells scene change from transient occluders. */
export interface ChangeMaskOptions {
  /** Difference (of [0, 1] values, largest over the channels) from which a pixel counts as changed. */
  readonly threshold: number;
  /**
   * Width in pixels of the narrowest change that counts as scene change: changed areas thinner than
   * this (streaks, flakes) are transients, wider ones (objects) are kept from the current frame.
   */
  readonly transientSize: number;
}

/**
 * `[1, H, W, 1]` in [0, 1]: 1 where `current` differs from `reference` over an area wider than
 * `transientSize` s (a morphological opening of the thresholded difference), then closed (holes
 * up to 2s filled) and grown by s, so that an object's edges and the parts of it that look like
 * the background are covered too.
 */
export function changeMask(current: tf.Tensor4D, reference: tf.Tensor4D, options: ChangeMaskOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const { threshold, transientSize: s } = options;
    const diff = tf.max(tf.abs(tf.sub(current, reference)), 3, true) as tf.Tensor4D;
    // Binary: a soft step would let the erosion spread partial values over whole objects.
    const changed = tf.greater(diff, threshold).toFloat() as tf.Tensor4D;
    const eroded = tf.neg(tf.maxPool(tf.neg(changed), s, 1, 'same')) as tf.Tensor4D;
    // Wide changes: a changed area at least s wide (the opening), or a neighbourhood whose mean
    // difference is high (a textured object whose changes are finer than s, but dense).
    const dense = tf.greater(tf.avgPool(diff, 2 * s + 1, 1, 'same'), threshold).toFloat();
    const opened = tf.maximum(tf.maxPool(eroded, s, 1, 'same'), dense) as tf.Tensor4D;
    // A closing that fills holes up to 2s wide (parts of an object that look like the background),
    // leaving the area grown by s on every side.
    const closed = tf.maxPool(opened, 4 * s + 1, 1, 'same');
    const grown = tf.neg(tf.maxPool(tf.neg(closed), 2 * s + 1, 1, 'same')) as tf.Tensor4D;
    return tf.avgPool(grown, 3, 1, 'same') as tf.Tensor4D;
  });
}
