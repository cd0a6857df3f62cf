/** Seeded random tensor fields shared by the generators: sparse seeds, gaussian noise, smooth maps, resampling. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import { filterValid, gaussianKernel, sliceAxis } from './kernels.js';

/**
 * A sparse field: each cell is 0 except, with probability `density`, a value uniform in [minValue, 1].
 * Drawn in JS like tf.random* (so it is identical on every backend), visiting only the chosen cells by
 * skipping geometric gaps, then uploaded.
 */
export function sparsePoints(shape: [number, number, number, number], density: number, minValue: number, seed: number): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  const d = Math.min(Math.max(density, 1e-9), 1);
  const rng = new Random(seed);
  const logMiss = Math.log1p(-Math.min(d, 1 - 1e-9));
  for (let i = Math.floor(Math.log(1 - rng.next()) / logMiss); i < size; i += 1 + Math.floor(Math.log(1 - rng.next()) / logMiss)) {
    values[i] = minValue + (1 - minValue) * rng.next();
  }
  return tf.tensor4d(values, shape);
}

/** Standard normal noise, drawn in JS (Marsaglia's polar method on a seeded generator) and uploaded. */
export function gaussianNoise(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  const rng = new Random(seed);
  for (let i = 0; i < size; i += 2) {
    let u = 0;
    let v = 0;
    let r = 0;
    do {
      u = 2 * rng.next() - 1;
      v = 2 * rng.next() - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const f = Math.sqrt((-2 * Math.log(r)) / r);
    values[i] = u * f;
    if (i + 1 < size) values[i + 1] = v * f;
  }
  return tf.tensor4d(values, shape);
}

/**
 * Samples `field` ([B,h,w,C]) bilinearly into a [B,outH,outW,C] image: output pixel (x, y) reads the field at
 * (ax*x + ay*y + a0, bx*x + by*y + b0). Every read must fall inside the field (callers pad or tile it).
 */
export function sampleAffine(
  field: tf.Tensor4D,
  map: { ax: number; ay: number; a0: number; bx: number; by: number; b0: number },
  outH: number,
  outW: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const b = field.shape[0];
    const row = [map.ax, map.ay, map.a0, map.bx, map.by, map.b0, 0, 0];
    const transforms = tf.tensor2d(Array.from({ length: b }, () => row), [b, 8]);
    return tf.image.transform(field, transforms, 'bilinear', 'constant', 0, [outH, outW]);
  });
}

/**
 * A smooth random field in [0,1] (mean 0.5, about 0.17 standard deviation) whose features are about `cellPx`
 * pixels across: a coarse grid of uniform noise, blurred on the grid and upsampled bilinearly.
 * Its statistics do not depend on the image size, so a crop looks like part of a frame.
 */
export function smoothField(batch: number, height: number, width: number, cellPx: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const blur = gaussianKernel(1);
    const margin = (blur.height - 1) / 2;
    const gh = Math.ceil(height / cellPx) + 3;
    const gw = Math.ceil(width / cellPx) + 3;
    const raw = tf.randomUniform([batch, gh + 2 * margin, gw + 2 * margin, 1], -0.5, 0.5, 'float32', seed) as tf.Tensor4D;
    const grid = filterValid(raw, blur);
    // Standardise analytically: uniform noise has variance 1/12, the blur scales it by the sum of squared weights.
    let sumSq = 0;
    for (const v of blur.data) sumSq += v * v;
    const std = Math.sqrt(sumSq / 12);
    const z = tf.div(grid, std) as tf.Tensor4D;
    const up = sampleAffine(z, { ax: 1 / cellPx, ay: 0, a0: 1, bx: 0, by: 1 / cellPx, b0: 1 }, height, width);
    return tf.clipByValue(tf.add(0.5, tf.mul(up, 0.2)), 0, 1) as tf.Tensor4D;
  });
}

/** Rolls an image by whole pixels along rows and columns, wrapping around (content moves down/right for positive shifts). */
export function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const sy = ((Math.round(dy) % h) + h) % h;
    const sx = ((Math.round(dx) % w) + w) % w;
    let out = x;
    if (sy > 0) out = tf.concat([sliceAxis(out, 1, h - sy, sy), sliceAxis(out, 1, 0, h - sy)], 1);
    if (sx > 0) out = tf.concat([sliceAxis(out, 2, w - sx, sx), sliceAxis(out, 2, 0, w - sx)], 2);
    return out === x ? x.clone() : out;
  });
}

/** Repeats an image `ny` times down and `nx` times across (tf.tile is slow on wasm; concat is not). */
export function tileImage(x: tf.Tensor4D, ny: number, nx: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = ny > 1 ? tf.concat(Array.from({ length: ny }, () => x), 1) : x;
    return nx > 1 ? tf.concat(Array.from({ length: nx }, () => rows), 2) : rows.clone();
  });
}

/** Mixes an image towards a colour: `x * (1 - amount) + color * amount` (a veil of haze, rain mist, blown snow). */
export function veil(x: tf.Tensor4D, amount: number | tf.Tensor4D, color: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const c = tf.tensor1d(color.slice(0, 3));
    return tf.add(tf.mul(x, tf.sub(1, amount)), tf.mul(c, amount)) as tf.Tensor4D;
  });
}
