/**
 * Sliding-window maximum and mean along one axis of `[1, H, W, C]` tensors, for windows of any
 * width, in elementwise ops (slices, `maximum`, `add`) that cost no memory beyond their outputs.
 *
 * tfjs's pooling ops are used only while `H * W * k` is at most {@link POOL_BUDGET}: on the wasm
 * backend each pooling op is an XNNPACK operator that tfjs keeps, with an indirection buffer of one
 * pointer per output pixel per window tap (`H * W * k * 4` bytes: 1.4 GB for one 173-tap pass over
 * a 1080p frame). The temporal filter's windows grow with the frame (its `transientSize`), so at
 * 1080p those buffers filled wasm's 4 GiB heap: pooling returned wrong values, then the process aborted.
 */
import * as tf from '@tensorflow/tfjs';

/** Largest `H * W * k` (pixels times window taps) left to tfjs's pooling ops: 16 MiB of indirection pointers. */
export const POOL_BUDGET = 2 ** 22;

/** Axis of a `[1, H, W, C]` tensor a window runs along: 1 (rows) or 2 (columns). */
export type WindowAxis = 1 | 2;

/** `length` entries of `x` along `axis` from `start`. */
function part(x: tf.Tensor4D, axis: WindowAxis, start: number, length: number): tf.Tensor4D {
  const begin: [number, number, number, number] = [0, 0, 0, 0];
  const size: [number, number, number, number] = [-1, -1, -1, -1];
  begin[axis] = start;
  size[axis] = length;
  return tf.slice(x, begin, size);
}

/** True when a pooling op of `k` taps over `x` stays within {@link POOL_BUDGET}. */
function poolable(x: tf.Tensor4D, k: number): boolean {
  return x.shape[1] * x.shape[2] * k <= POOL_BUDGET;
}

/**
 * Runs `f` along the rows (axis 1): slices along rows are contiguous copies, along columns strided
 * ones (ten times slower on wasm), so columns are transposed to rows and back.
 */
function alongRows(x: tf.Tensor4D, axis: WindowAxis, f: (rows: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  if (axis === 1) return f(x);
  return tf.tidy(() => tf.transpose(f(tf.transpose(x, [0, 2, 1, 3])), [0, 2, 1, 3]));
}

/**
 * Maximum over the odd window `k` centred on each entry along `axis`, over the part of it inside the
 * tensor (as `maxPool` with `'same'` padding): `maxPool` itself while it is cheap in memory, else
 * {@link slidingMax}. A new tensor.
 */
export function windowMax(x: tf.Tensor4D, k: number, axis: WindowAxis): tf.Tensor4D {
  if (k <= 1) return x.clone();
  if (poolable(x, k)) return tf.maxPool(x, axis === 1 ? [k, 1] : [1, k], 1, 'same');
  return alongRows(x, axis, (rows) => slidingMax(rows, k, 1));
}

/**
 * Mean over the odd window `k` centred on each entry along `axis`, over the part of it inside the
 * tensor (as `avgPool` with `'same'` padding): `avgPool` itself while it is cheap in memory, else
 * {@link slidingMean}. A new tensor.
 */
export function windowMean(x: tf.Tensor4D, k: number, axis: WindowAxis): tf.Tensor4D {
  if (k <= 1) return x.clone();
  if (poolable(x, k)) return tf.avgPool(x, axis === 1 ? [k, 1] : [1, k], 1, 'same');
  return alongRows(x, axis, (rows) => slidingMean(rows, k, 1));
}

/**
 * {@link windowMax} without pooling ops, for any width: equal to `maxPool`, value for value. Edge
 * padding, then maxima over spans doubled up to the largest power of two not above `k`, then two
 * overlapping spans: about `2 log2(k)` elementwise passes.
 */
export function slidingMax(x: tf.Tensor4D, k: number, axis: WindowAxis): tf.Tensor4D {
  if (k <= 1) return x.clone();
  return tf.tidy(() => {
    const n = x.shape[axis];
    const r = (k - 1) / 2;
    // Edge padding: a window that reaches past the border already holds the edge entry, so the
    // repeated edge changes no maximum.
    const reps: [number, number, number, number] = [1, 1, 1, 1];
    reps[axis] = r;
    const repeat = (edge: tf.Tensor4D): tf.Tensor4D => tf.tile(edge, reps);
    let m = tf.concat([repeat(part(x, axis, 0, 1)), x, repeat(part(x, axis, n - 1, 1))], axis);
    // m[i] = max of the padded entries i .. i + span - 1; doubling span up to the largest power of
    // two not above k, then two overlapping spans cover the k-wide window.
    let span = 1;
    while (2 * span <= k) {
      const length = m.shape[axis] - span;
      m = tf.maximum(part(m, axis, 0, length), part(m, axis, span, length));
      span *= 2;
    }
    return tf.maximum(part(m, axis, 0, n), part(m, axis, k - span, n));
  });
}

/**
 * {@link windowMean} without pooling ops, for any width: the sum of the zero-padded entries over
 * power-of-two spans (the binary digits of `k`), each summed by doubling, over the count of entries
 * inside the tensor. Sums in another order than `avgPool`: equal to rounding (about 1e-7).
 */
export function slidingMean(x: tf.Tensor4D, k: number, axis: WindowAxis): tf.Tensor4D {
  if (k <= 1) return x.clone();
  return tf.tidy(() => {
    const n = x.shape[axis];
    const r = (k - 1) / 2;
    const zeros = (): tf.Tensor4D => {
      const shape = [...x.shape] as [number, number, number, number];
      shape[axis] = r;
      return tf.zeros(shape);
    };
    let s = tf.concat([zeros(), x, zeros()], axis);
    // The window's sum as a sum of power-of-two spans (k's binary digits), each span summed by
    // doubling: pairwise sums, so the rounding error grows with log2(k), not k.
    let sum: tf.Tensor4D | undefined;
    let offset = 0;
    for (let span = 1; span <= k; span *= 2) {
      if (k & span) {
        const piece = part(s, axis, offset, n);
        sum = sum ? (tf.add(sum, piece) as tf.Tensor4D) : piece;
        offset += span;
      }
      if (2 * span > k) break;
      const length = s.shape[axis] - span;
      s = tf.add(part(s, axis, 0, length), part(s, axis, span, length));
    }
    const counts = new Float32Array(n);
    for (let i = 0; i < n; i++) counts[i] = Math.min(i + r, n - 1) - Math.max(i - r, 0) + 1;
    const shape: [number, number, number, number] = [1, 1, 1, 1];
    shape[axis] = n;
    return tf.div(sum!, tf.tensor4d(counts, shape));
  });
}
