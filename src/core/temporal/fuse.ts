/**
 * Per-pixel fusion of aligned frames: the temporal median (which drops short-lived occluders such as
 * rain streaks and flakes) and the mask of real scene change (moving objects), where the current
 * frame must be kept. Elementwise tfjs ops and pooling only, so they run on any backend's device.
 */
import * as tf from '@tensorflow/tfjs';
import { windowMax, windowMean } from './window.js';

/**
 * The elementwise `q`-quantile (0: minimum, 0.5: median, 1: maximum) of `values` (tensors of one
 * shape): an odd-even transposition sort built from `minimum`/`maximum`, then linear interpolation
 * between the two nearest order statistics (the mean of the middle two for an even count's median).
 */
export function quantile(values: readonly tf.Tensor4D[], q: number): tf.Tensor4D {
  if (values.length === 0) throw new RangeError('quantile of no tensors');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  return tf.tidy(() => {
    const v: tf.Tensor[] = [...values];
    // Each compare-exchange frees the pair it replaces (never the caller's tensors): at most
    // `values.length + 2` frames are alive at once, not the `values.length^2` of the whole sort
    // (at 4K, 99.5 MB each).
    const own = new Set<tf.Tensor>();
    for (let pass = 0; pass < v.length; pass++) {
      for (let i = pass % 2; i + 1 < v.length; i += 2) {
        const lo = tf.minimum(v[i]!, v[i + 1]!);
        const hi = tf.maximum(v[i]!, v[i + 1]!);
        for (const t of [v[i]!, v[i + 1]!]) if (own.delete(t)) t.dispose();
        v[i] = lo;
        v[i + 1] = hi;
        own.add(lo).add(hi);
      }
    }
    const at = q * (v.length - 1);
    const below = Math.floor(at);
    const frac = at - below;
    if (frac < 1e-9) return v[below]!.clone() as tf.Tensor4D;
    return tf.add(tf.mul(v[below]!, 1 - frac), tf.mul(v[below + 1]!, frac)) as tf.Tensor4D;
  });
}

/** The elementwise median of `values`: {@link quantile} at 0.5. */
export function median(values: readonly tf.Tensor4D[]): tf.Tensor4D {
  return quantile(values, 0.5);
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
  /**
   * `'brighter'`: the occluders are brighter than the scene (rain, snow), so an area where the
   * current frame is, on average, darker than the reference is scene change even when its changes
   * are fine-grained (a textured object). `'any'`: the mean absolute difference is used instead,
   * against the full threshold.
   */
  readonly occluders: 'brighter' | 'any';
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
    const opened = dilate(erode(changed, s), s);
    // Wide changes: a changed area at least s wide (the opening), or a neighbourhood whose mean
    // absolute difference is above the threshold (a textured object whose changes are finer than
    // s), or, with bright occluders, one that became darker on average (bright occluders never
    // darken a neighbourhood). The first test alone missed objects; the darker test alone lost the
    // leading edge of bright objects (thinner than s at 5 px per frame) on dark scenes.
    const meanAbs = tf.greater(boxMean(diff, 2 * s + 1), threshold);
    const dense =
      options.occluders === 'brighter'
        ? tf.logicalOr(meanAbs, tf.greater(boxMean(tf.max(tf.relu(tf.sub(reference, current)), 3, true) as tf.Tensor4D, 2 * s + 1), threshold / 4))
        : meanAbs;
    // A closing that fills holes up to 2s wide (parts of an object that look like the background),
    // leaving the area grown by s on every side.
    const grown = erode(dilate(tf.maximum(opened, dense.toFloat()) as tf.Tensor4D, 4 * s + 1), 2 * s + 1);
    return boxMean(grown, 3);
  });
}

/** Grey-level opening over k x k squares (erosion, then dilation): removes bright details thinner than k. */
export function opening(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tidy(() => dilate(erode(x, k), k));
}

/** Maximum over a k x k square (separable: two passes of k, not k^2 per pixel; wide windows without pooling ops, see window.ts). */
export function dilate(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return k <= 1 ? x : tf.tidy(() => windowMax(windowMax(x, k, 1), k, 2));
}

/** Minimum over a k x k square. */
export function erode(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return k <= 1 ? x : tf.neg(dilate(tf.neg(x), k));
}

/** Mean over a k x k square (separable; at the borders, over the part inside the frame; wide windows without pooling ops, see window.ts). */
export function boxMean(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return k <= 1 ? x : tf.tidy(() => windowMean(windowMean(x, k, 1), k, 2));
}

/**
 * He, Sun and Tang's guided filter, per channel, computed on a grid `factor` times coarser (He and
 * Sun's fast guided filter): the output is `A * guide + B`, where `A` and `B` are the smoothed
 * coefficients of the least-squares linear fit of `target` on `guide` over windows of about
 * `(2 radius + 1)^2` full-resolution pixels, regularised by `epsilon`. It carries the guide's
 * structure with the target's local level and contrast.
 */
export function guidedFilter(guide: tf.Tensor4D, target: tf.Tensor4D, radius: number, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = guide.shape;
    const factor = Math.max(1, Math.min(Math.floor(radius / 4), Math.floor(Math.min(h, w) / 8)));
    const down = (x: tf.Tensor4D): tf.Tensor4D => (factor > 1 ? tf.avgPool(x, factor, factor, 'same') : x);
    const g = down(guide);
    const t = down(target);
    const k = 2 * Math.max(1, Math.round(radius / factor)) + 1;
    const mg = boxMean(g, k);
    const mt = boxMean(t, k);
    const cov = tf.sub(boxMean(tf.mul(g, t) as tf.Tensor4D, k), tf.mul(mg, mt));
    const variance = tf.relu(tf.sub(boxMean(tf.square(g) as tf.Tensor4D, k), tf.square(mg)));
    const a = tf.div(cov, tf.add(variance, epsilon)) as tf.Tensor4D;
    const b = tf.sub(mt, tf.mul(a, mg)) as tf.Tensor4D;
    const up = (x: tf.Tensor4D): tf.Tensor4D => (factor > 1 ? (tf.image.resizeBilinear(x, [h, w]) as tf.Tensor4D) : x);
    return tf.add(tf.mul(up(boxMean(a, k)), guide), up(boxMean(b, k))) as tf.Tensor4D;
  });
}
