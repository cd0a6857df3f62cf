/** Image quality measures (PSNR, high-pass PSNR, SSIM) and image difficulty (luminance entropy); synchronous, returning plain numbers. */
import * as tf from '@tensorflow/tfjs';
import { RGB_LUMA as LUMA } from './colour.js';
import { describeValue, SimpleIRError } from './errors.js';
import { filterValid, gaussian1d, gaussianBlur } from './degrade/kernels.js';

/** SSIM stabilisers for a dynamic range of 1: (0.01)^2 and (0.03)^2. */
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function checkPair(a: tf.Tensor, b: tf.Tensor): void {
  for (const t of [a, b]) {
    if (!(t instanceof tf.Tensor) || t.isDisposed) {
      throw new SimpleIRError('INVALID_ARGUMENT', `Expected two live tf.Tensor images [H,W,3] or [B,H,W,3] in [0, maxVal], got ${describeValue(t)}${t instanceof tf.Tensor ? ' (disposed)' : ''}.`);
    }
  }
  const okRank = (t: tf.Tensor): boolean => (t.rank === 3 || t.rank === 4) && t.shape[t.rank - 1] === 3;
  if (!okRank(a) || !okRank(b)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Expected images [H,W,3] or [B,H,W,3], got [${a.shape.join(',')}] and [${b.shape.join(',')}].`);
  }
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Images differ in shape: [${a.shape.join(',')}] vs [${b.shape.join(',')}].`, {
      a: a.shape,
      b: b.shape,
    });
  }
}

function asBatch(x: tf.Tensor): tf.Tensor4D {
  return (x.rank === 3 ? x.expandDims(0) : x).toFloat() as tf.Tensor4D;
}

function psnrFromMse(mse: number, maxVal: number): number {
  return mse <= 0 ? Infinity : 10 * Math.log10((maxVal * maxVal) / mse);
}

/**
 * Peak signal-to-noise ratio in dB between two images ([H,W,3] or [B,H,W,3]) over all pixels and channels:
 * 10 log10(maxVal^2 / MSE). For a batch the MSE is pooled over the batch. Infinity for identical images. Synchronous.
 */
export function psnr(a: tf.Tensor, b: tf.Tensor, maxVal = 1): number {
  checkPair(a, b);
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(a.toFloat(), b.toFloat())).dataSync()[0]!);
  return psnrFromMse(mse, maxVal);
}

/** PSNR in dB of each batch element (one value for an [H,W,3] image). Synchronous. */
export function psnrBatch(a: tf.Tensor, b: tf.Tensor, maxVal = 1): number[] {
  checkPair(a, b);
  const mses = tf.tidy(() => tf.mean(tf.squaredDifference(asBatch(a), asBatch(b)), [1, 2, 3]).dataSync());
  return Array.from(mses, (m) => psnrFromMse(m, maxVal));
}

/** Standard deviation in pixels of the Gaussian whose residual is the band {@link highPassPsnr} compares. */
export const HIGH_PASS_SIGMA = 2;

/** The high-pass band of an image batch [B,H,W,C]: the image minus its Gaussian blur (mirrored edges). */
export function highPass(x: tf.Tensor4D, sigma = HIGH_PASS_SIGMA): tf.Tensor4D {
  return tf.tidy(() => tf.sub(x, gaussianBlur(x, sigma)));
}

/**
 * PSNR in dB between the high-pass bands of two images ([H,W,3] or [B,H,W,3], pooled over the batch):
 * each image minus its Gaussian blur at `sigma` pixels (default {@link HIGH_PASS_SIGMA}). The band holds
 * edges, texture, and thin occluders (rain streaks, snowflakes), not exposure or colour casts: a
 * brightness offset leaves it unchanged. Infinity for identical bands. Synchronous.
 */
export function highPassPsnr(a: tf.Tensor, b: tf.Tensor, sigma = HIGH_PASS_SIGMA, maxVal = 1): number {
  checkPair(a, b);
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(highPass(asBatch(a), sigma), highPass(asBatch(b), sigma))).dataSync()[0]!);
  return psnrFromMse(mse, maxVal);
}

/** Which channels SSIM compares. */
export interface SsimOptions {
  /** 'y' (default): BT.601 luminance only, as most restoration papers report; 'rgb': the mean over R, G and B. */
  channels?: 'y' | 'rgb';
}

/** Mean SSIM of each batch element: gaussian window 11x11, sigma 1.5, over the 'valid' window positions. */
function ssimPerImage(a: tf.Tensor, b: tf.Tensor, options: SsimOptions): Float32Array {
  checkPair(a, b);
  const [h, w] = a.shape.slice(-3, -1) as [number, number];
  if (h < 11 || w < 11) {
    throw new SimpleIRError('INVALID_ARGUMENT', `SSIM needs images of at least 11x11 pixels, got ${h}x${w}.`);
  }
  return tf.tidy(() => {
    let x = asBatch(a);
    let y = asBatch(b);
    if ((options.channels ?? 'y') === 'y') {
      const luma = tf.tensor1d([...LUMA]);
      x = tf.sum(tf.mul(x, luma), 3, true) as tf.Tensor4D;
      y = tf.sum(tf.mul(y, luma), 3, true) as tf.Tensor4D;
    }
    const c = x.shape[3];
    const g = gaussian1d(1.5);
    const window = (t: tf.Tensor4D): tf.Tensor4D =>
      filterValid(filterValid(t, { height: 1, width: g.length, data: g }), { height: g.length, width: 1, data: g });
    const stats = window(tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], 3) as tf.Tensor4D);
    const part = (i: number): tf.Tensor4D => stats.slice([0, 0, 0, i * c], [-1, -1, -1, c]);
    const [mx, my, xx, yy, xy] = [0, 1, 2, 3, 4].map(part) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const mxy = tf.mul(mx, my);
    const mx2 = tf.mul(mx, mx);
    const my2 = tf.mul(my, my);
    const num = tf.mul(tf.add(tf.mul(mxy, 2), C1), tf.add(tf.mul(tf.sub(xy, mxy), 2), C2));
    const den = tf.mul(tf.add(tf.add(mx2, my2), C1), tf.add(tf.add(tf.sub(xx, mx2), tf.sub(yy, my2)), C2));
    return tf.mean(tf.div(num, den), [1, 2, 3]).dataSync() as Float32Array;
  });
}

/**
 * Structural similarity (Wang et al. 2004) between two images in [0,1]: gaussian window 11x11 with sigma 1.5,
 * C1 = 0.01^2, C2 = 0.03^2, averaged over the valid window positions. Computed on BT.601 luminance Y by default
 * (`{ channels: 'rgb' }` averages over R, G, B instead); the mean over the batch for [B,H,W,3]. Synchronous.
 */
export function ssim(a: tf.Tensor, b: tf.Tensor, options: SsimOptions = {}): number {
  const values = ssimPerImage(a, b, options);
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** SSIM of each batch element (one value for an [H,W,3] image), as {@link ssim} computes it. Synchronous. */
export function ssimBatch(a: tf.Tensor, b: tf.Tensor, options: SsimOptions = {}): number[] {
  return Array.from(ssimPerImage(a, b, options));
}

/**
 * Shannon entropy in bits (0..8) of the 8-bit BT.601 luminance histogram of an image ([H,W,3] or, pooled over
 * the batch, [B,H,W,3]) in [0,1]. Flat images score 0, busy well-exposed ones near 8; dark or hazy ones score
 * low. Synchronous (reads the image back to count the histogram).
 */
export function luminanceEntropy(img: tf.Tensor): number {
  if ((img.rank !== 3 && img.rank !== 4) || img.shape[img.rank - 1] !== 3) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Expected an image [H,W,3] or [B,H,W,3], got [${img.shape.join(',')}].`);
  }
  const levels = tf.tidy(() =>
    tf.round(tf.mul(tf.clipByValue(tf.sum(tf.mul(img.toFloat(), tf.tensor1d([...LUMA])), -1), 0, 1), 255)).dataSync(),
  );
  return levelEntropy(levels, 'luminanceEntropy: the image');
}

/**
 * Shannon entropy in bits (0..8) of the 256-bin histogram of 8-bit `levels` (integers 0..255): the one
 * entropy of the SDK, used by {@link luminanceEntropy} and the task order of Review Learning.
 * @throws SimpleIRError `INVALID_ARGUMENT` when `levels` is empty (`what` names it in the message).
 */
export function levelEntropy(levels: ArrayLike<number>, what = 'levelEntropy: levels'): number {
  if (levels.length === 0) throw new SimpleIRError('INVALID_ARGUMENT', `${what} is empty: the entropy of no pixels is undefined; pass at least one pixel.`);
  const counts = new Float64Array(256);
  for (let i = 0; i < levels.length; i++) counts[levels[i]!]! += 1;
  let bits = 0;
  for (const n of counts) {
    if (n === 0) continue;
    const p = n / levels.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Mean BT.601 luma of an image in [0, 1] (synchronous). */
export function meanLuma(x: tf.Tensor): number {
  return tf.tidy(() => tf.mean(tf.sum(tf.mul(x, tf.tensor1d([...LUMA])), -1)).dataSync()[0]!);
}

/**
 * The gamma correction `x^gamma` of `x` (an image in [0, 1]) whose mean BT.601 luma is `targetMean`,
 * found by bisection on log gamma in [1/64, 64] to 1e-4 in the mean: the classic brightening a
 * restorer of low light must beat. Returns the gamma and the corrected image (owned by the caller).
 */
export function meanMatchedGamma<T extends tf.Tensor>(x: T, targetMean: number): { gamma: number; corrected: T } {
  const at = (g: number): T => tf.tidy(() => tf.pow(tf.clipByValue(x, 0, 1), g) as T);
  let [lo, hi] = [Math.log(1 / 64), Math.log(64)];
  for (let i = 0; i < 50 && hi - lo > 1e-6; i++) {
    const mid = (lo + hi) / 2;
    const y = at(Math.exp(mid));
    const m = meanLuma(y);
    y.dispose();
    if (Math.abs(m - targetMean) < 1e-4) [lo, hi] = [mid, mid];
    // The mean falls as gamma grows.
    else if (m > targetMean) lo = mid;
    else hi = mid;
  }
  const gamma = Math.exp((lo + hi) / 2);
  return { gamma, corrected: at(gamma) };
}
