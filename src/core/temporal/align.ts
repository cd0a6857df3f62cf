/**
 * Global alignment of video frames: the camera's shift between two frames by phase correlation on a
 * downscaled, windowed luma, and the (integer or bilinear) shift of a frame onto another, all in tfjs ops (no
 * readback: on webgpu the shift never leaves the GPU).
 */
import * as tf from '@tensorflow/tfjs';
import { RGB_LUMA as LUMA } from '../colour.js';

/** The downscaled grid phase correlation runs on. */
export interface AnalysisGrid {
  /** Integer downscale factor (average pooling); 1 keeps the full resolution. */
  readonly factor: number;
  /** Rows of the grid: `floor(frameHeight / factor)`. */
  readonly height: number;
  /** Columns of the grid: `floor(frameWidth / factor)`. */
  readonly width: number;
}

/**
 * The analysis grid of a `height` x `width` frame: the smallest integer factor that brings the longer
 * side to at most `maxSide` pixels, but never above the shorter side (a strip such as 8x1920 keeps
 * one row or column of cells: a factor above it would leave an empty grid). Shifts up to half the
 * grid (times the factor) are found.
 */
export function analysisGrid(height: number, width: number, maxSide = 192): AnalysisGrid {
  const factor = Math.max(1, Math.min(Math.ceil(Math.max(height, width) / maxSide), height, width));
  return { factor, height: Math.floor(height / factor), width: Math.floor(width / factor) };
}

/** A 2-D discrete Fourier transform of a real image: real and imaginary parts, `[h, w]` each. */
export interface Spectrum {
  /** Real part. */
  readonly re: tf.Tensor2D;
  /** Imaginary part. */
  readonly im: tf.Tensor2D;
}

/** The `n` x `n` DFT matrix as cosine and sine parts (symmetric): `F = C - iS`. */
function dftMatrices(n: number): [tf.Tensor2D, tf.Tensor2D] {
  const c = new Float32Array(n * n);
  const s = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) {
      const a = (2 * Math.PI * ((j * k) % n)) / n;
      c[j * n + k] = Math.cos(a);
      s[j * n + k] = Math.sin(a);
    }
  }
  return [tf.tensor2d(c, [n, n]), tf.tensor2d(s, [n, n])];
}

/** A Hann window of length `n` (all ones for n < 3). */
function hann(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = n < 3 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
  return w;
}

/**
 * Estimates global shifts between frames of one size by phase correlation (DFTs as matrix products,
 * so every backend runs them, on its own device). Holds its constant matrices until {@link dispose}.
 */
export class PhaseCorrelator {
  /** The grid the correlation runs on. */
  readonly grid: AnalysisGrid;
  private readonly ch: tf.Tensor2D;
  private readonly sh: tf.Tensor2D;
  private readonly cw: tf.Tensor2D;
  private readonly sw: tf.Tensor2D;
  private readonly window: tf.Tensor2D;
  private readonly luma: tf.Tensor1D;

  /** For frames of `height` x `width`; the grid's longer side is at most `maxSide`. */
  constructor(readonly height: number, readonly width: number, maxSide = 192) {
    this.grid = analysisGrid(height, width, maxSide);
    const { height: h, width: w } = this.grid;
    [this.ch, this.sh] = dftMatrices(h);
    [this.cw, this.sw] = dftMatrices(w);
    this.window = tf.tidy(() => tf.outerProduct(tf.tensor1d(hann(h)), tf.tensor1d(hann(w))) as tf.Tensor2D);
    this.luma = tf.tensor1d([...LUMA]);
  }

  /** The luma of a frame `[1, height, width, 3]`, average-pooled to the grid: `[1, h, w, 1]`. */
  pool(frame: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.sum(tf.mul(frame, this.luma), 3, true) as tf.Tensor4D;
      return this.grid.factor > 1 ? tf.avgPool(y, this.grid.factor, this.grid.factor, 'valid') : y;
    });
  }

  /** The spectrum of a frame `[1, height, width, 3]`: its luma, pooled to the grid, mean removed, windowed. */
  spectrum(frame: tf.Tensor4D): Spectrum {
    const pooled = this.pool(frame);
    const spectrum = this.spectrumOfPooled(pooled);
    pooled.dispose();
    return spectrum;
  }

  /** The spectrum of a luma already pooled to the grid by {@link pool}. */
  spectrumOfPooled(pooled: tf.Tensor4D): Spectrum {
    return tf.tidy(() => {
      const { height: h, width: w } = this.grid;
      const x = pooled.reshape([h, w]) as tf.Tensor2D;
      const xw = tf.mul(tf.sub(x, tf.mean(x)), this.window) as tf.Tensor2D;
      // F = (Ch - iSh) X (Cw - iSw) = Ch X Cw - Sh X Sw - i (Sh X Cw + Ch X Sw)
      const chx = tf.matMul(this.ch, xw);
      const shx = tf.matMul(this.sh, xw);
      const re = tf.sub(tf.matMul(chx, this.cw), tf.matMul(shx, this.sw)) as tf.Tensor2D;
      const im = tf.neg(tf.add(tf.matMul(shx, this.cw), tf.matMul(chx, this.sw))) as tf.Tensor2D;
      return { re, im };
    });
  }

  /**
   * Mean absolute difference between two pooled lumas (from {@link pool}) once `reference` is moved by
   * `shift` (full-resolution pixels), over the cells it covers: how well a shift explains the change.
   */
  mismatch(current: tf.Tensor4D, reference: tf.Tensor4D, shift: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      const moved = shiftFrame(reference, tf.div(shift, this.grid.factor) as tf.Tensor1D);
      const diff = tf.mul(tf.abs(tf.sub(current, moved.frame)), moved.valid);
      return tf.div(tf.sum(diff), tf.add(tf.sum(moved.valid), 1)) as tf.Scalar;
    });
  }

  /**
   * The shift `d = [dy, dx]` in full-resolution pixels (float32, sub-pixel) such that
   * `current(p) ≈ reference(p - d)`: the camera moved the scene by `d` from `reference` to `current`.
   */
  shift(current: Spectrum, reference: Spectrum): tf.Tensor1D {
    return tf.tidy(() => {
      const { factor, height: h, width: w } = this.grid;
      // Normalised cross-power spectrum R = F1 conj(F2) / |F1 conj(F2)|.
      const a = current.re;
      const b = current.im;
      const c = reference.re;
      const d = reference.im;
      const pr = tf.add(tf.mul(a, c), tf.mul(b, d));
      const pi = tf.sub(tf.mul(b, c), tf.mul(a, d));
      const mag = tf.add(tf.sqrt(tf.add(tf.square(pr), tf.square(pi))), 1e-12);
      const rr = tf.div(pr, mag) as tf.Tensor2D;
      const ri = tf.div(pi, mag) as tf.Tensor2D;
      // Real part of the inverse DFT (up to a positive scale): Ch Rr Cw - Sh Ri Cw - Sh Rr Sw - Ch Ri Sw.
      const left = tf.sub(tf.matMul(this.ch, rr), tf.matMul(this.sh, ri));
      const right = tf.add(tf.matMul(this.sh, rr), tf.matMul(this.ch, ri));
      const r = tf.sub(tf.matMul(left, this.cw), tf.matMul(right, this.sw)).reshape([h * w]) as tf.Tensor1D;
      const int = (n: number): tf.Scalar => tf.scalar(n, 'int32');
      const peak = tf.argMax(r).toInt();
      const py = tf.floorDiv(peak, int(w));
      const px = tf.sub(peak, tf.mul(py, int(w)));
      const at = (dy: number, dx: number): tf.Tensor => {
        const index = tf.add(tf.mul(tf.mod(tf.add(py, int(dy + h)), int(h)), int(w)), tf.mod(tf.add(px, int(dx + w)), int(w)));
        return tf.gather(r, index.reshape([1])).reshape([]);
      };
      const centre = at(0, 0);
      const refine = (minus: tf.Tensor, plus: tf.Tensor, n: number): tf.Tensor => {
        if (n < 3) return tf.scalar(0);
        // Sub-cell offset of a phase-correlation peak from its larger neighbour (Foroosh et al. 2002):
        // the peak is a sampled sinc, so a shift of f cells puts f / (1 - f) of the peak's height next to it.
        const towardsPlus = tf.greater(plus, minus);
        const side = tf.maximum(tf.maximum(minus, plus), 0);
        const offset = tf.clipByValue(tf.div(side, tf.add(side, tf.maximum(centre, 1e-12))), 0, 0.5);
        return tf.where(towardsPlus, offset, tf.neg(offset));
      };
      const wrap = (p: tf.Tensor, n: number): tf.Tensor => {
        const v = p.toFloat();
        return tf.sub(v, tf.mul(tf.greater(v, n / 2).toFloat(), n));
      };
      const sy = tf.add(wrap(py, h), refine(at(-1, 0), at(1, 0), h));
      const sx = tf.add(wrap(px, w), refine(at(0, -1), at(0, 1), w));
      return tf.mul(tf.stack([sy, sx]), factor).reshape([2]) as tf.Tensor1D;
    });
  }

  /**
   * Refines a shift found on a downscaled grid to full-resolution precision: phase correlation of a
   * central full-resolution window of `current` against the window of `reference` that `coarse`
   * points at (`fine` must be a correlator of that window's size, with a grid factor of 1). Where the
   * residual is larger than the coarse grid's cell, `coarse` is kept.
   */
  refine(current: tf.Tensor4D, reference: tf.Tensor4D, coarse: tf.Tensor1D, fine: PhaseCorrelator): tf.Tensor1D {
    return tf.tidy(() => {
      const top = Math.floor((this.height - fine.height) / 2);
      const left = Math.floor((this.width - fine.width) / 2);
      const here = tf.slice(current, [0, top, left, 0], [1, fine.height, fine.width, 3]) as tf.Tensor4D;
      const d = tf.round(coarse);
      const there = windowAt(reference, tf.sub(tf.tensor1d([top, left]), d) as tf.Tensor1D, fine.height, fine.width);
      const residual = fine.shift(fine.spectrum(here), fine.spectrum(there));
      const small = tf.all(tf.lessEqual(tf.abs(residual), this.grid.factor + 1));
      return tf.where(small, tf.add(d, residual), coarse).reshape([2]) as tf.Tensor1D;
    });
  }

  /** Releases the constant matrices. */
  dispose(): void {
    for (const t of [this.ch, this.sh, this.cw, this.sw, this.window, this.luma]) t.dispose();
  }
}

/** `[1, h, w, C]` window of `frame` whose top-left corner is `origin` (a tensor, rounded; border pixels repeat outside). */
function windowAt(frame: tf.Tensor4D, origin: tf.Tensor1D, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, fh, fw] = frame.shape;
    const o = tf.round(origin).toInt().reshape([2]);
    const axis = (n: number, size: number, i: number): tf.Tensor1D =>
      tf.minimum(tf.maximum(tf.add(tf.range(0, n, 1, 'int32'), o.slice([i], [1])), tf.scalar(0, 'int32')), tf.scalar(size - 1, 'int32')) as tf.Tensor1D;
    return tf.gather(tf.gather(frame, axis(h, fh, 0), 1), axis(w, fw, 1), 2) as tf.Tensor4D;
  });
}

/** A frame moved by a shift, and where it is defined. */
export interface ShiftedFrame {
  /** `frame(p - shift)`, with the border rows and columns repeated where `p - shift` is outside. */
  readonly frame: tf.Tensor4D;
  /** `[1, H, W, 1]`: 1 where `p - shift` (every sample it reads) lies inside the frame, else 0. */
  readonly valid: tf.Tensor4D;
}

/**
 * Moves `frame` (`[1, H, W, C]`) by `shift` (`[dy, dx]` pixels, a tensor) so that the result at `p` is
 * `frame(p - shift)`: gathers on the device, the shift never read back. `'nearest'` (default) rounds
 * the shift to integers (an exact copy of pixels); `'bilinear'` interpolates sub-pixel shifts between
 * the two nearest rows and columns (a sub-pixel pan then lines up with the current frame's edges).
 */
export function shiftFrame(frame: tf.Tensor4D, shift: tf.Tensor1D, interpolation: 'nearest' | 'bilinear' = 'nearest'): ShiftedFrame {
  return tf.tidy(() => {
    const [, h, w] = frame.shape;
    // (reshape: some backends give a select of a scalar condition the shape [1, 2])
    const s = shift.reshape([2]);
    const whole = interpolation === 'nearest' ? tf.round(s) : tf.floor(s);
    const d = whole.toInt();
    const axis = (n: number, i: number, extra: number): [tf.Tensor1D, tf.Tensor1D] => {
      const src = tf.sub(tf.range(0, n, 1, 'int32'), tf.add(d.slice([i], [1]), tf.scalar(extra, 'int32')));
      const inside = tf.logicalAnd(tf.greaterEqual(src, 0), tf.less(src, n)).toFloat() as tf.Tensor1D;
      // (clipByValue would cast: min/max keep int32 on every backend)
      return [tf.minimum(tf.maximum(src, tf.scalar(0, 'int32')), tf.scalar(n - 1, 'int32')) as tf.Tensor1D, inside];
    };
    const [rows, rowsIn] = axis(h, 0, 0);
    const [cols, colsIn] = axis(w, 1, 0);
    if (interpolation === 'nearest') {
      const moved = tf.gather(tf.gather(frame, rows, 1), cols, 2) as tf.Tensor4D;
      return { frame: moved, valid: tf.outerProduct(rowsIn, colsIn).reshape([1, h, w, 1]) as tf.Tensor4D };
    }
    // p - (n + f) lies between p - n and p - n - 1: weights 1 - f and f.
    const f = tf.sub(s, whole);
    const [rows1, rows1In] = axis(h, 0, 1);
    const [cols1, cols1In] = axis(w, 1, 1);
    const fy = f.slice([0], [1]).reshape([1, 1, 1, 1]);
    const fx = f.slice([1], [1]).reshape([1, 1, 1, 1]);
    const lerp = (a: tf.Tensor, b: tf.Tensor, t: tf.Tensor): tf.Tensor => tf.add(a, tf.mul(t, tf.sub(b, a)));
    const byRows = lerp(tf.gather(frame, rows, 1), tf.gather(frame, rows1, 1), fy);
    const moved = lerp(tf.gather(byRows, cols, 2), tf.gather(byRows, cols1, 2), fx) as tf.Tensor4D;
    // Where a weight is 0 the second sample does not count: the first one's coverage is enough.
    const rowsValid = tf.mul(rowsIn, tf.sub(1, tf.mul(tf.greater(f.slice([0], [1]), 0).toFloat(), tf.sub(1, rows1In)))) as tf.Tensor1D;
    const colsValid = tf.mul(colsIn, tf.sub(1, tf.mul(tf.greater(f.slice([1], [1]), 0).toFloat(), tf.sub(1, cols1In)))) as tf.Tensor1D;
    return { frame: moved, valid: tf.outerProduct(rowsValid, colsValid).reshape([1, h, w, 1]) as tf.Tensor4D };
  });
}
