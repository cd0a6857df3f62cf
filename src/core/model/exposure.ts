/**
 * Exposure of restored frames: with `lowLight: 'off'` the output is never brighter than the input in
 * its low-pass luminance, while the network's other work (rain and snow removed, detail) stays. Tensor ops
 * on the current backend, no readback, on the whole (possibly tiled) output.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianBlur } from '../degrade/kernels.js';
import { SimpleIRError } from '../errors.js';
import { RGB_LUMA as LUMA } from '../colour.js';

/**
 * What the network may do to a frame's exposure. `'auto'` (default): the network brightens what it
 * takes for a low-light frame. `'off'`: the output keeps the input's exposure (for scenes meant to be
 * dark: night, dark rooms): wherever the network raised the low-pass luminance, it is brought back to
 * the input's; rain and snow are still removed (their removal darkens, which is kept).
 */
export type LowLightMode = 'auto' | 'off';

/**
 * Checks a `lowLight` option; `undefined` is `'auto'`.
 * @throws SimpleIRError `INVALID_ARGUMENT` naming `where` and the value given.
 */
export function checkLowLight(value: unknown, where: string): LowLightMode {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'off') return value;
  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new SimpleIRError('INVALID_ARGUMENT', `${where}: lowLight must be 'auto' or 'off'; got ${got}. Use 'off' to keep the input's exposure (scenes meant to be dark).`);
}

/** Cells on the long side of the grid the low-pass luminance is computed on. */
export const EXPOSURE_GRID = 192;
/** Standard deviation, in grid cells, of the Gaussian blur of the low-pass luminance. */
export const EXPOSURE_SIGMA = 1.5;
/** Luminance added to both low-pass maps before their ratio, so that black areas do not divide by zero. */
const EPSILON = 1 / 255;

/**
 * Low-pass luminance of a [B, H, W, 3] batch, [B, H, W, 1]: BT.601 luma averaged over cells of
 * `ceil(max(H, W) / EXPOSURE_GRID)` pixels, blurred by a Gaussian of {@link EXPOSURE_SIGMA} cells
 * (edges mirrored), and brought back to H x W by bilinear interpolation. Effective radius at 1080p:
 * cells of 10 pixels and a blur of 15, so single streaks and flakes hardly reach it, while exposure does.
 */
export function lowPassLuminance(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const cell = Math.max(1, Math.ceil(Math.max(h, w) / EXPOSURE_GRID));
    const luma = tf.sum(tf.mul(x, tf.tensor1d([...LUMA])), 3, true) as tf.Tensor4D;
    const small = cell > 1 ? tf.avgPool(luma, cell, cell, 'same') : luma;
    return tf.image.resizeBilinear(gaussianBlur(small, EXPOSURE_SIGMA), [h, w], false, true);
  });
}

/**
 * The restored batch `output` with the exposure of `input` (both [B, H, W, 3] in [0, 1]): where the
 * output's low-pass luminance (see {@link lowPassLuminance}) is above the input's, each pixel is scaled
 * by their ratio; elsewhere it is left as it is. So a frame the network brightened gets its own
 * brightness back, with the output's local detail and colour ratios, while darkening work (mist, rain
 * and snow removed) is kept: on rain and snow at strength 1 the output scored as the `'auto'` one. Returns
 * a new tensor in [0, 1].
 */
export function keepExposure(input: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const gain = tf.div(tf.add(lowPassLuminance(input), EPSILON), tf.add(lowPassLuminance(output), EPSILON));
    return tf.clipByValue(tf.mul(output, tf.minimum(gain, 1)), 0, 1) as tf.Tensor4D;
  });
}
