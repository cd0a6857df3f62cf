/**
 * Tiling of the full-resolution stage for large frames: fixed-size tiles whose overlap covers the
 * receptive field, blended with a feathered partition-of-unity window, so tiled output equals untiled
 * output. The body (with its whole-frame statistics) runs once on the low-resolution grid.
 */
import * as tf from '@tensorflow/tfjs';
import { fullResReceptiveRadius, type SimpleIRConfig } from './config.js';
import { SimpleIRError } from './errors.js';
import { fullResolution, type ParamMap } from './model/forward.js';
import type { NetOps } from './model/ops.js';

/** Tiling options of a restore call. */
export interface TileOptions {
  /**
   * Side in pixels of the full-resolution tiles (rounded up to a multiple of the model's scale).
   * `'auto'` (default) tiles frames above 1920x1088 with 512-pixel tiles; `0` never tiles.
   */
  readonly tileSize?: number | 'auto';
  /** Overlap of neighbouring tiles in pixels; at least twice the receptive radius (default: that plus 2 x scale). */
  readonly overlap?: number;
}

/** Tiles along one axis: their starts, common size and blend weights. */
export interface AxisTilePlan {
  readonly starts: readonly number[];
  readonly size: number;
  /** One weight per pixel of each tile; across tiles they sum to 1 at every position. */
  readonly weights: readonly Float32Array[];
}

/** Frames with more pixels than this are tiled when `tileSize` is `'auto'`. */
export const AUTO_TILE_PIXELS = 1920 * 1088;
/** Tile side used when `tileSize` is `'auto'`. */
export const AUTO_TILE_SIZE = 512;

/** Rounds `n` up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Plans tiles of `size` along an axis of `length` (both multiples of `step`), starting every
 * `size - overlap` and with the last tile flush with the end, so all tiles have the same size.
 * Pixels within `radius` of an interior tile edge get weight 0 in that tile; the rest ramp linearly.
 */
export function axisTilePlan(length: number, size: number, overlap: number, radius: number, step: number): AxisTilePlan {
  if (size >= length) {
    return { starts: [0], size: length, weights: [new Float32Array(length).fill(1)] };
  }
  const stride = size - overlap;
  const starts: number[] = [];
  for (let k = 0; ; k++) {
    const start = Math.min(k * stride, length - size);
    starts.push(start - (start % step));
    if (start + size >= length) break;
  }
  const n = starts.length;
  const ramp = Math.max(1, overlap - 2 * radius);
  // Raw weight: distance to the nearest interior edge, minus the radius, over the ramp, capped at 1.
  const raw = starts.map((a, i) => {
    const w = new Float32Array(size);
    for (let p = 0; p < size; p++) {
      const fromStart = i > 0 ? p + 0.5 - radius : Infinity;
      const fromEnd = i < n - 1 ? size - p - 0.5 - radius : Infinity;
      const d = Math.min(fromStart, fromEnd);
      w[p] = d <= 0 ? 0 : Math.min(1, d / ramp);
    }
    return w;
  });
  const total = new Float32Array(length);
  raw.forEach((w, i) => w.forEach((v, p) => (total[starts[i]! + p] = total[starts[i]! + p]! + v)));
  const weights = raw.map((w, i) => w.map((v, p) => (v === 0 ? 0 : v / total[starts[i]! + p]!)));
  return { starts, size, weights };
}

/** Resolves tile options for a padded frame; returns 0 when the frame runs untiled. */
export function resolveTiling(config: SimpleIRConfig, height: number, width: number, options: TileOptions = {}): { tileSize: number; overlap: number } {
  const s = config.scale;
  const radius = fullResReceptiveRadius(config);
  const minOverlap = 2 * radius;
  const overlap = options.overlap === undefined ? minOverlap + 2 * s : options.overlap;
  if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < minOverlap) {
    throw new SimpleIRError('INVALID_ARGUMENT', `overlap must be an integer >= ${minOverlap} (twice the receptive radius of this model); got ${String(overlap)}.`);
  }
  const requested = options.tileSize ?? 'auto';
  let tileSize: number;
  if (requested === 'auto') tileSize = height * width > AUTO_TILE_PIXELS ? AUTO_TILE_SIZE : 0;
  else if (typeof requested === 'number' && Number.isInteger(requested) && requested >= 0) tileSize = requested;
  else throw new SimpleIRError('INVALID_ARGUMENT', `tileSize must be 'auto', 0 (no tiling) or a positive integer; got ${String(requested)}.`);
  if (tileSize === 0) return { tileSize: 0, overlap: roundUp(overlap, s) };
  const size = roundUp(tileSize, s);
  const ov = roundUp(overlap, s);
  if (size < 2 * ov) {
    throw new SimpleIRError('INVALID_ARGUMENT', `tileSize ${tileSize} is too small for overlap ${ov}: use a tile of at least ${2 * ov} pixels or a smaller overlap.`);
  }
  return { tileSize: size, overlap: ov };
}

/**
 * Runs the full-resolution stage tile by tile and blends the tiles. `x` is the padded input
 * [1, H, W, 3], `f` the body output for the whole frame.
 */
export function fullResolutionTiled(config: SimpleIRConfig, ops: NetOps, p: ParamMap, x: tf.Tensor4D, f: tf.Tensor4D, tileSize: number, overlap: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const s = config.scale;
  const radius = fullResReceptiveRadius(config);
  const rows = axisTilePlan(h, tileSize, overlap, radius, s);
  const cols = axisTilePlan(w, tileSize, overlap, radius, s);
  let frame: tf.Tensor4D | null = null;
  rows.starts.forEach((y0, ri) => {
    const strip = tf.tidy(() => {
      let acc: tf.Tensor4D | null = null;
      cols.starts.forEach((x0, ci) => {
        const xt = tf.slice(x, [0, y0, x0, 0], [1, rows.size, cols.size, 3]);
        const ft = tf.slice(f, [0, y0 / s, x0 / s, 0], [1, rows.size / s, cols.size / s, f.shape[3]]);
        const out = fullResolution(config, ops, p, xt, ft, true);
        const wy = tf.tensor4d(rows.weights[ri]!, [1, rows.size, 1, 1]);
        const wx = tf.tensor4d(cols.weights[ci]!, [1, 1, cols.size, 1]);
        const weighted = tf.mul(out, tf.mul(wy, wx));
        const placed = tf.pad(weighted, [[0, 0], [0, 0], [x0, w - x0 - cols.size], [0, 0]]) as tf.Tensor4D;
        acc = acc ? (tf.add(acc, placed) as tf.Tensor4D) : placed;
      });
      return acc!;
    });
    const placedStrip = tf.tidy(() => tf.pad(strip, [[0, 0], [y0, h - y0 - rows.size], [0, 0], [0, 0]]) as tf.Tensor4D);
    strip.dispose();
    if (frame) {
      const next: tf.Tensor4D = tf.add(frame, placedStrip);
      frame.dispose();
      placedStrip.dispose();
      frame = next;
    } else frame = placedStrip;
  });
  return frame!;
}
