/**
 * Tiling of the full-resolution stage for large frames: equal-size tiles whose overlap covers the
 * receptive field, blended with a feathered partition-of-unity window, so tiled output equals untiled
 * output. The body (with its whole-frame statistics) runs once on the low-resolution grid.
 */
import * as tf from '@tensorflow/tfjs';
import { fullResReceptiveRadius, type SimpleIRConfig } from '../config.js';
import { SimpleIRError } from '../errors.js';
import { fullResolution, type ParamMap } from './forward.js';
import type { NetOps } from './ops.js';

/** Tiling options of a restore call. */
export interface TileOptions {
  /**
   * Largest side in pixels of the full-resolution tiles (rounded up to a multiple of the model's scale);
   * tiles shrink to spread evenly over the frame. `'auto'` (default): on the webgpu backend, frames
   * larger than the device's limits allow in one pass are tiled with the largest tiles they allow
   * (see {@link webgpuTileSize}: 1448 pixels with the usual limits, so a 4K frame makes 6 tiles);
   * elsewhere frames above 1920x1088 are tiled with tiles of up to 512 pixels. `0` never tiles.
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

/** Frames with more pixels than this are tiled when `tileSize` is `'auto'` (on webgpu, the device's limits decide instead). */
export const AUTO_TILE_PIXELS = 1920 * 1088;
/** Largest tile side used when `tileSize` is `'auto'` (on webgpu: {@link webgpuTileSize}). */
export const AUTO_TILE_SIZE = 512;

/** The WebGPU device limits that bound one full-resolution pass (fields of `GPUSupportedLimits`). */
export interface GpuTileLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/**
 * Output rows (pixels of a convolution's output) one workgroup of tfjs-backend-webgpu 4.x's
 * convolution and matrix-product programs covers along the dispatch's y axis (8 threads of 4 rows in
 * the vec4 convolution and the matrix product, 16 of 2 in the scalar convolution). tfjs cannot spread that axis over several dispatch dimensions, so a pass of more than
 * this times `maxComputeWorkgroupsPerDimension` pixels fails ("Dispatch size exceeds WebGPU limits in
 * Y or Z dimension").
 */
export const WEBGPU_ROWS_PER_WORKGROUP = 32;

/** Largest buffer a pass may bind, in bytes. */
function bufferLimit(limits: GpuTileLimits): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}

/**
 * Most pixels a frame may have in one full-resolution pass (a tile, or an untiled frame) on a WebGPU
 * device: within the dispatch limit (see {@link WEBGPU_ROWS_PER_WORKGROUP}), and with its widest map
 * (the detail branch's `detailWidth` channels, or 3), `images` frames of it in an untiled batch, within
 * one buffer.
 */
export function webgpuMaxPixels(config: SimpleIRConfig, limits: GpuTileLimits, images = 1): number {
  const byDispatch = WEBGPU_ROWS_PER_WORKGROUP * limits.maxComputeWorkgroupsPerDimension;
  const byBuffer = Math.floor(bufferLimit(limits) / (4 * Math.max(config.detailWidth, 3) * images));
  return Math.min(byDispatch, byBuffer);
}

/**
 * The tile side `tileSize: 'auto'` uses on a WebGPU device: the largest multiple of the model's
 * scale whose square tile fits {@link webgpuMaxPixels}. With the limits of usual adapters (65535
 * workgroups per dimension; binding sizes of 128 MiB and up) that is 1448 pixels for the presets.
 */
export function webgpuTileSize(config: SimpleIRConfig, limits: GpuTileLimits): number {
  const side = Math.floor(Math.sqrt(webgpuMaxPixels(config, limits)));
  return side - (side % config.scale);
}

/** The active backend's WebGPU device limits, or undefined on any other backend. */
export function activeWebGPULimits(): GpuTileLimits | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const limits = (tf.backend() as unknown as { device?: { limits?: GpuTileLimits } }).device?.limits;
  return limits && limits.maxComputeWorkgroupsPerDimension > 0 ? limits : undefined;
}

/** Rounds `n` up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Plans tiles of at most `maxSize` along an axis of `length` (all multiples of `step`): as few tiles as
 * tiles of `maxSize` would need, shrunk to a common size that spreads them evenly (so the last one does
 * not mostly repeat its neighbour), starting every `size - overlap`, the last flush with the end.
 * Pixels within `radius` of an interior tile edge get weight 0 in that tile; the rest ramp linearly.
 */
export function axisTilePlan(length: number, maxSize: number, overlap: number, radius: number, step: number): AxisTilePlan {
  if (maxSize >= length) {
    return { starts: [0], size: length, weights: [new Float32Array(length).fill(1)] };
  }
  const count = Math.ceil((length - overlap) / (maxSize - overlap));
  const size = Math.min(maxSize, Math.max(2 * overlap, roundUp(Math.ceil((length - overlap) / count) + overlap, step)));
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

/**
 * Resolves tile options for a padded frame; returns 0 when the frame runs untiled. `limits`: the WebGPU
 * device's, on the webgpu backend (they choose `'auto'` tiles there, for a batch of `batch` frames,
 * which runs untiled as one pass).
 */
export function resolveTiling(config: SimpleIRConfig, height: number, width: number, options: TileOptions = {}, limits?: GpuTileLimits, batch = 1): { tileSize: number; overlap: number } {
  const s = config.scale;
  const radius = fullResReceptiveRadius(config);
  const minOverlap = 2 * radius;
  const overlap = options.overlap === undefined ? minOverlap + 2 * s : options.overlap;
  if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < minOverlap) {
    throw new SimpleIRError('INVALID_ARGUMENT', `overlap must be an integer >= ${minOverlap} (twice the receptive radius of this model); got ${String(overlap)}.`);
  }
  const requested = options.tileSize ?? 'auto';
  let tileSize: number;
  if (requested === 'auto' && limits) tileSize = height * width <= webgpuMaxPixels(config, limits, batch) ? 0 : webgpuTileSize(config, limits);
  else if (requested === 'auto') tileSize = height * width > AUTO_TILE_PIXELS ? AUTO_TILE_SIZE : 0;
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
 * Bytes per pixel an untiled forward pass holds at its peak on wasm, measured: the full-resolution
 * stage keeps about 10 detail-width and 18 three-channel float maps of the whole frame alive at once,
 * and the heap holds 1.4 times that (freed blocks are not always reusable). Measured peaks: tiny 332,
 * base 480-520 bytes per pixel.
 */
export function untiledBytesPerPixel(config: SimpleIRConfig): number {
  return Math.ceil(4 * (10 * config.detailWidth + 18) * 1.4);
}

/**
 * Bytes a tiled forward pass holds at its peak on wasm: the body runs on the whole low-resolution grid
 * (it is not tiled), where one attention block grew the heap by about 20 maps of `width` channels
 * (7680x4320 with `tiny`: 2.6 GiB), and the frame and its space-to-depth copy (24 bytes a pixel). The
 * estimate counts 30 maps: the heap does not reuse all of a block's freed memory in the next block.
 */
export function tiledBytes(config: SimpleIRConfig, height: number, width: number): number {
  const cells = (height / config.scale) * (width / config.scale);
  return height * width * 24 + cells * config.width * 4 * 30;
}

/** tfjs-backend-wasm's heap cannot grow past 4 GiB (32-bit memory); past it the module aborts. */
export const WASM_HEAP_LIMIT = 4 * 1024 ** 3;

/** Share of {@link WASM_HEAP_LIMIT} a pass may be estimated to need (the rest: weights, input, output, the kernels' buffers). */
const WASM_SHARE = 0.875;

/**
 * Refuses a pass that cannot fit in the wasm backend's heap: at its limit the module aborts ("memory
 * access out of bounds", "table index is out of bounds" or "Aborted()") and every later call fails.
 * Untiled (`tileSize: 0`): `base` at 3840x2160 needs about 4 GiB; tiled, the body still runs on the whole
 * frame, and a 7680x4320 frame does not fit with `tiny`. Other backends are not checked (their limits
 * are the device's or the process's). `height` and `width` are the padded frame's.
 * @throws SimpleIRError `INVALID_ARGUMENT` naming the size, the estimate and what to do instead.
 */
export function checkFitsInWasm(config: SimpleIRConfig, height: number, width: number, tileSize: number, backend: string): void {
  if (backend !== 'wasm') return;
  const untiled = tileSize === 0;
  const bytes = untiled ? height * width * untiledBytesPerPixel(config) : tiledBytes(config, height, width);
  if (bytes <= WASM_SHARE * WASM_HEAP_LIMIT) return;
  const gib = (bytes / 1024 ** 3).toFixed(1);
  const fix =
    untiled && tiledBytes(config, height, width) <= WASM_SHARE * WASM_HEAP_LIMIT
      ? `leave tileSize at 'auto' (tiles of ${AUTO_TILE_SIZE}) or give a tile size such as ${AUTO_TILE_SIZE}`
      : 'use the webgpu or cpu backend, or a smaller frame (the low-resolution body of the network runs on the whole frame at once, tiled or not)';
  throw new SimpleIRError(
    'INVALID_ARGUMENT',
    `${untiled ? 'tileSize: 0 (no tiling)' : 'Tiling'} at ${width}x${height} needs about ${gib} GiB on the wasm backend, whose memory ends at 4 GiB: ${fix}.`,
    { width, height, backend, tileSize, estimatedBytes: bytes },
  );
}

/**
 * Refuses a pass that the WebGPU device's limits cannot run (tfjs would fail in the middle of it with
 * "Dispatch size exceeds WebGPU limits" or a buffer it cannot bind): an untiled frame or a tile of more
 * than {@link webgpuMaxPixels} pixels, or a frame whose low-resolution body (never tiled: its widest
 * map has `2 * width` channels, or the `3 * scale²` of the space-to-depth input) is past the limits.
 * `height` and `width` are the padded frame's. A batch of `batch` frames runs untiled as one pass whose
 * maps are `batch` times larger (tiled, frame by frame).
 * @throws SimpleIRError `INVALID_ARGUMENT` naming the size, the limit and what to do instead.
 */
export function checkFitsInWebGPU(config: SimpleIRConfig, height: number, width: number, tileSize: number, limits: GpuTileLimits, batch = 1): void {
  const images = tileSize === 0 ? batch : 1;
  const max = webgpuMaxPixels(config, limits, images);
  const auto = webgpuTileSize(config, limits);
  const pass = tileSize === 0 ? height * width : Math.min(tileSize, height) * Math.min(tileSize, width);
  const details = { width, height, tileSize, maxPixels: max, maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension, maxBufferBytes: bufferLimit(limits) };
  const s = config.scale;
  const cells = (height / s) * (width / s);
  const bodyMax = Math.min(WEBGPU_ROWS_PER_WORKGROUP * limits.maxComputeWorkgroupsPerDimension, Math.floor(bufferLimit(limits) / (4 * Math.max(2 * config.width, 3 * s * s) * images)));
  if (cells > bodyMax) {
    const frames = images > 1 ? `A batch of ${images} ${width}x${height} frames is past this WebGPU device's limits untiled` : `A ${width}x${height} frame is past this WebGPU device's limits even tiled`;
    const fix = images > 1 ? "fewer frames at once, tileSize 'auto', or a smaller frame" : 'a smaller frame';
    throw new SimpleIRError('INVALID_ARGUMENT', `${frames}: the low-resolution body of the network runs on the whole frame at once (${cells} cells; at most ${bodyMax} here). Use ${fix}.`, details);
  }
  if (pass <= max) return;
  const what = tileSize === 0 ? `tileSize: 0 (no tiling) at ${width}x${height}${images > 1 ? ` with a batch of ${images}` : ''}` : `Tiles of ${Math.min(tileSize, height)}x${Math.min(tileSize, width)}`;
  throw new SimpleIRError(
    'INVALID_ARGUMENT',
    `${what} ${tileSize === 0 ? 'is one pass' : 'are passes'} of ${pass} pixels, past this WebGPU device's ${max} (maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}, buffers of at most ${bufferLimit(limits)} bytes): leave tileSize at 'auto' (tiles of ${auto} here) or give a tile size of at most ${auto}.`,
    details,
  );
}

/** A run of positions along an axis over which the same tiles have nonzero weight. */
export interface AxisRun {
  readonly start: number;
  /** One past the run's last position. */
  readonly end: number;
  /** The tiles with nonzero weight over the run, in increasing order (one where tiles do not overlap). */
  readonly tiles: readonly number[];
}

/**
 * Cuts the axis of a plan into runs covered, with nonzero weight, by the same tiles. A tile's nonzero
 * weights are one contiguous range (zero near its interior edges, then a ramp, then 1), so the covering
 * set only changes at the ends of those ranges: the runs are computed between them, not per position
 * (this runs once per tiled frame; per position it cost ~10 ms of JavaScript at 4K).
 */
export function axisRuns(plan: AxisTilePlan): AxisRun[] {
  const length = plan.starts[plan.starts.length - 1]! + plan.size;
  const ranges = plan.starts.map((a, i) => {
    const w = plan.weights[i]!;
    let lo = 0;
    while (lo < w.length && !(w[lo]! > 0)) lo++;
    let hi = w.length;
    while (hi > lo && !(w[hi - 1]! > 0)) hi--;
    return [a + lo, a + hi] as const;
  });
  const cuts = [...new Set([0, length, ...ranges.flat()])].sort((x, y) => x - y);
  const runs: { start: number; end: number; tiles: number[] }[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const [start, end] = [cuts[k]!, cuts[k + 1]!];
    const tiles = ranges.flatMap(([lo, hi], i) => (lo <= start && end <= hi ? [i] : []));
    const last = runs[runs.length - 1];
    if (last && last.tiles.length === tiles.length && last.tiles.every((t, j) => t === tiles[j])) last.end = end;
    else runs.push({ start, end, tiles });
  }
  return runs;
}

/**
 * The window [y0, y0 + h) x [x0, x0 + w) of every image of a [B, H, W, C] tensor, values copied exactly,
 * at any size. tfjs-backend-wasm's `tf.slice` copies its whole source and then, on a 4-D tensor, each
 * pixel in JavaScript: cutting the tiles of a 4K frame that way cost more than the network's
 * full-resolution stage. So a window of a much larger tensor is gathered (`tf.gatherND`) as runs of
 * neighbouring pixels, and a window of a tensor at most {@link SLICE_SOURCE_RATIO} times larger is a
 * slice of its [B, H, W * C] view (one copy per row). Not `tf.image.cropAndResize`: wasm's kernel
 * computes the flat source index in float32, which cannot address values past 2^24 (row 1456 of a 4K
 * RGB frame), and copied the wrong pixels there; gatherND's indices are integers.
 */
export function cropWindow(t: tf.Tensor4D, y0: number, x0: number, h: number, w: number): tf.Tensor4D {
  const [b, height, width, c] = t.shape;
  if (y0 === 0 && x0 === 0 && h === height && w === width) return tf.clone(t);
  return tf.tidy(() => {
    if (height * width <= SLICE_SOURCE_RATIO * h * w) {
      return tf.reshape(tf.slice(tf.reshape(t, [b, height, width * c]), [0, y0, x0 * c], [b, h, w * c]), [b, h, w, c]);
    }
    // Runs of g neighbouring pixels as one gathered slice of g * c values: fewer, longer copies. Each
    // index is a (row, run) pair, both small, so no backend has to hold a large flat index in a float.
    const g = gcd(gcd(x0, w), width);
    const runs = w / g;
    const indices = new Int32Array(b * h * runs * 2);
    let k = 0;
    for (let i = 0; i < b; i++) {
      for (let y = 0; y < h; y++) {
        for (let r = 0; r < runs; r++) {
          indices[k++] = i * height + y0 + y;
          indices[k++] = x0 / g + r;
        }
      }
    }
    const view = tf.reshape(t, [b * height, width / g, g * c]);
    return tf.reshape(tf.gatherND(view, tf.tensor2d(indices, [b * h * runs, 2], 'int32')), [b, h, w, c]);
  });
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Up to this many times the window's size, {@link cropWindow} slices its source (whose copy is then cheaper than a crop). */
export const SLICE_SOURCE_RATIO = 8;

/** The weights of tile `i` over `run` as a tensor shaped to scale `axis` (1: rows, 2: columns), or null where they are all 1. */
function runWeights(plan: AxisTilePlan, i: number, run: AxisRun, axis: 1 | 2): tf.Tensor4D | null {
  const offset = run.start - plan.starts[i]!;
  const w = plan.weights[i]!.slice(offset, offset + run.end - run.start);
  if (w.every((v) => v === 1)) return null;
  return tf.tensor4d(w, axis === 1 ? [1, w.length, 1, 1] : [1, 1, w.length, 1]);
}

/**
 * One block of the output, a row run by a column run: the sum over the tiles covering it of their
 * output's crop times their row and column weights; where a single tile covers it (weights 1), the
 * crop alone.
 */
function blendBlock(rows: AxisTilePlan, cols: AxisTilePlan, rowRun: AxisRun, colRun: AxisRun, outputs: ReadonlyMap<number, readonly tf.Tensor4D[]>): tf.Tensor4D {
  const terms: tf.Tensor4D[] = [];
  for (const ri of rowRun.tiles) {
    for (const ci of colRun.tiles) {
      const crop = cropWindow(outputs.get(ri)![ci]!, rowRun.start - rows.starts[ri]!, colRun.start - cols.starts[ci]!, rowRun.end - rowRun.start, colRun.end - colRun.start);
      const wy = runWeights(rows, ri, rowRun, 1);
      const wx = runWeights(cols, ci, colRun, 2);
      terms.push(wy && wx ? tf.mul(tf.mul(crop, wy), wx) : wy || wx ? tf.mul(crop, (wy ?? wx)!) : crop);
    }
  }
  return terms.reduce((sum, term) => tf.add<tf.Tensor4D>(sum, term));
}

/**
 * Runs the full-resolution stage tile by tile and blends the tiles (see {@link blendTiles}).
 * `x` is the padded input [1, H, W, 3], `f` the body output for the whole frame.
 */
export function fullResolutionTiled(config: SimpleIRConfig, ops: NetOps, p: ParamMap, x: tf.Tensor4D, f: tf.Tensor4D, tileSize: number, overlap: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const s = config.scale;
  const radius = fullResReceptiveRadius(config);
  const rows = axisTilePlan(h, tileSize, overlap, radius, s);
  const cols = axisTilePlan(w, tileSize, overlap, radius, s);
  return blendTiles(rows, cols, (y0, x0) => {
    const xt = cropWindow(x, y0, x0, rows.size, cols.size);
    const ft = cropWindow(f, y0 / s, x0 / s, rows.size / s, cols.size / s);
    return fullResolution(config, ops, p, xt, ft, true);
  });
}

/**
 * Assembles a frame from tiles: `tile(y0, x0)` is the output [B, rows.size, cols.size, C] of the tile
 * at (y0, x0) (called inside a tidy scope). The output is cut into blocks, a run of rows by a run of
 * columns over which the same tiles have nonzero weight: each block is copied from its one tile or
 * summed from the weighted crops of the overlapping ones, the blocks of a row run are concatenated,
 * then the row runs. A row of tiles is computed when a row run first needs it and released after its
 * last one, so at most the tile rows overlapping one row run are alive.
 */
export function blendTiles(rows: AxisTilePlan, cols: AxisTilePlan, tile: (y0: number, x0: number) => tf.Tensor4D): tf.Tensor4D {
  const rowRuns = axisRuns(rows);
  const colRuns = axisRuns(cols);
  const lastRowRun = new Map<number, number>();
  rowRuns.forEach((run, k) => run.tiles.forEach((ri) => lastRowRun.set(ri, k)));
  const outputs = new Map<number, tf.Tensor4D[]>();
  const pieces: tf.Tensor4D[] = [];
  try {
    rowRuns.forEach((rowRun, k) => {
      for (const ri of rowRun.tiles) {
        if (!outputs.has(ri)) outputs.set(ri, cols.starts.map((x0) => tf.tidy(() => tile(rows.starts[ri]!, x0))));
      }
      pieces.push(tf.tidy(() => tf.concat(colRuns.map((colRun) => blendBlock(rows, cols, rowRun, colRun, outputs)), 2)));
      for (const ri of rowRun.tiles) {
        if (lastRowRun.get(ri) === k) {
          tf.dispose(outputs.get(ri)!);
          outputs.delete(ri);
        }
      }
    });
    return tf.concat(pieces, 1);
  } finally {
    tf.dispose(pieces);
    outputs.forEach((t) => tf.dispose(t));
  }
}
