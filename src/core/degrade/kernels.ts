/** Small convolution kernels built in plain JS (gaussian, disk, line, shake trajectory, flake) and the tensor filter that applies them. */
import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random.js';

/** A 2-D kernel, row-major, `height` x `width` (both odd). */
export interface Kernel2D {
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** `height * width` weights, row-major. */
  readonly data: Float32Array;
}

/** A normalised 1-D gaussian of standard deviation `sigma` (radius ceil(3 sigma)); `[1]` when sigma is tiny. */
export function gaussian1d(sigma: number): Float32Array {
  if (sigma < 0.2) return Float32Array.of(1);
  const r = Math.ceil(3 * sigma);
  const out = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += out[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** An all-zero kernel of the given odd size. */
function zeros(height: number, width: number): Kernel2D {
  return { height, width, data: new Float32Array(height * width) };
}

/** Adds `weight` at the sub-pixel point (x, y) (kernel centre is 0,0) by bilinear splatting. */
function splat(k: Kernel2D, x: number, y: number, weight: number): void {
  const cx = (k.width - 1) / 2 + x;
  const cy = (k.height - 1) / 2 + y;
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const fx = cx - x0;
  const fy = cy - y0;
  const put = (xi: number, yi: number, w: number): void => {
    if (xi >= 0 && yi >= 0 && xi < k.width && yi < k.height) k.data[yi * k.width + xi]! += w * weight;
  };
  put(x0, y0, (1 - fx) * (1 - fy));
  put(x0 + 1, y0, fx * (1 - fy));
  put(x0, y0 + 1, (1 - fx) * fy);
  put(x0 + 1, y0 + 1, fx * fy);
}

/** Scales a kernel so that its weights sum to 1. */
export function normalizeSum(k: Kernel2D): Kernel2D {
  let sum = 0;
  for (const v of k.data) sum += v;
  const data = k.data.map((v) => v / (sum || 1));
  return { ...k, data };
}

/** Scales a kernel so that its largest weight is `peak`. */
export function normalizePeak(k: Kernel2D, peak = 1): Kernel2D {
  let max = 0;
  for (const v of k.data) max = Math.max(max, v);
  const data = k.data.map((v) => (v * peak) / (max || 1));
  return { ...k, data };
}

/** Full 2-D convolution of two kernels (the result's size is the sum of sizes minus one). */
export function convolveKernels(a: Kernel2D, b: Kernel2D): Kernel2D {
  const out = zeros(a.height + b.height - 1, a.width + b.width - 1);
  for (let ay = 0; ay < a.height; ay++)
    for (let ax = 0; ax < a.width; ax++) {
      const va = a.data[ay * a.width + ax]!;
      if (va === 0) continue;
      for (let by = 0; by < b.height; by++)
        for (let bx = 0; bx < b.width; bx++)
          out.data[(ay + by) * out.width + ax + bx]! += va * b.data[by * b.width + bx]!;
    }
  return out;
}

/** A normalised isotropic gaussian kernel. */
export function gaussianKernel(sigma: number): Kernel2D {
  const g = gaussian1d(sigma);
  const k = zeros(g.length, g.length);
  for (let y = 0; y < g.length; y++) for (let x = 0; x < g.length; x++) k.data[y * g.length + x] = g[y]! * g[x]!;
  return k;
}

/** A defocus disk of `radius` pixels with anti-aliased edge (pixel coverage), normalised to sum 1. */
export function diskKernel(radius: number): Kernel2D {
  const r = Math.max(radius, 0.5);
  const half = Math.ceil(r);
  const k = zeros(2 * half + 1, 2 * half + 1);
  const ss = 5;
  for (let y = -half; y <= half; y++)
    for (let x = -half; x <= half; x++) {
      let inside = 0;
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) {
          const px = x + (sx + 0.5) / ss - 0.5;
          const py = y + (sy + 0.5) / ss - 0.5;
          if (px * px + py * py <= r * r) inside++;
        }
      k.data[(y + half) * k.width + x + half] = inside / (ss * ss);
    }
  return normalizeSum(k);
}

/** A straight motion-blur segment of `length` pixels at `angle` radians from the x axis, normalised to sum 1. */
export function lineKernel(length: number, angle: number): Kernel2D {
  const half = Math.ceil(length / 2) + 1;
  const k = zeros(2 * half + 1, 2 * half + 1);
  const steps = Math.max(2, Math.ceil(length * 4));
  for (let i = 0; i <= steps; i++) {
    const s = (i / steps - 0.5) * length;
    splat(k, s * Math.cos(angle), s * Math.sin(angle), 1);
  }
  return normalizeSum(k);
}

/** Shape of a camera-shake trajectory. */
export interface TrajectoryOptions {
  /** Extent of the path in pixels plus 2 (the kernel may be larger: it is centred on the path's centre of mass). */
  size: number;
  /** How much the direction wanders, 0 (straight line) .. 1 (curly). */
  curvature: number;
  /** Chance per step of a sudden jerk, 0 .. 0.2. */
  shake: number;
}

/**
 * A camera-shake kernel: a random walk with inertia (after Boracchi and Foi) rasterised by bilinear splatting,
 * with the time spent at each point varying, centred on its centre of mass and normalised to sum 1.
 */
export function trajectoryKernel(rng: Random, options: TrajectoryOptions): Kernel2D {
  const size = Math.max(3, options.size | 1);
  const steps = 96;
  const pts: [number, number][] = [];
  let angle = rng.uniform(0, 2 * Math.PI);
  let vx = Math.cos(angle);
  let vy = Math.sin(angle);
  let x = 0;
  let y = 0;
  for (let i = 0; i < steps; i++) {
    pts.push([x, y]);
    angle += rng.normal() * 0.35 * options.curvature;
    let ax = Math.cos(angle) - vx;
    let ay = Math.sin(angle) - vy;
    if (rng.next() < options.shake) {
      const jerk = rng.uniform(0, 2 * Math.PI);
      ax += 1.5 * Math.cos(jerk);
      ay += 1.5 * Math.sin(jerk);
    }
    vx += 0.3 * ax;
    vy += 0.3 * ay;
    const speed = Math.hypot(vx, vy) || 1;
    const pace = rng.uniform(0.5, 1.5);
    x += (vx / speed) * pace;
    y += (vy / speed) * pace;
  }
  // Scale the path so that its extent spans size - 2 pixels, centred on its centre of mass (no image shift).
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const extent = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-6);
  const scale = (size - 2) / extent;
  const mx = xs.reduce((a, b) => a + b, 0) / steps;
  const my = ys.reduce((a, b) => a + b, 0) / steps;
  let reach = 0;
  for (const [px, py] of pts) reach = Math.max(reach, Math.abs(px - mx) * scale, Math.abs(py - my) * scale);
  const half = Math.ceil(reach) + 1;
  const k = zeros(2 * half + 1, 2 * half + 1);
  for (let i = 0; i + 1 < steps; i++) {
    const [x0, y0] = pts[i]!;
    const [x1, y1] = pts[i + 1]!;
    for (let s = 0; s < 4; s++) {
      const t = s / 4;
      splat(k, (x0 + (x1 - x0) * t - mx) * scale, (y0 + (y1 - y0) * t - my) * scale, 1);
    }
  }
  return normalizeSum(k);
}

/**
 * A snowflake footprint: a disk of `radius` softened by a gaussian of `softness` and smeared along a motion
 * segment of `motion` pixels at `angle` radians. The unsmeared flake peaks at 1, so a smeared one peaks lower.
 */
export function flakeKernel(radius: number, softness: number, motion: number, angle: number): Kernel2D {
  let k = normalizePeak(convolveKernels(diskKernel(radius), gaussianKernel(softness)));
  if (motion >= 1) k = convolveKernels(k, lineKernel(motion, angle));
  return k;
}

/**
 * Output rows per wasm convolution. XNNPACK's indirection buffer grows with output size times kernel height;
 * when it gets to hundreds of MB the convolution is very slow, returns garbage or aborts (memory access out of
 * bounds), so big images are filtered in bands of rows.
 */
function bandRows(kernelHeight: number, kernelWidth: number, width: number): number {
  const pointersPerRow = kernelHeight * kernelWidth + Math.max(0, width - kernelWidth) * kernelHeight;
  return Math.max(1, Math.floor(4_000_000 / pointersPerRow));
}

/**
 * Filters every channel of `x` with `kernel` (cross-correlation, 'valid': the output loses kernel-1 rows and
 * columns). On the wasm backend big images are filtered in bands of rows (see `bandRows`).
 */
export function filterValid(x: tf.Tensor4D, kernel: Kernel2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const k = tf.tensor4d(kernel.data, [kernel.height, kernel.width, 1, 1]).tile([1, 1, c, 1]) as tf.Tensor4D;
    const outH = h - kernel.height + 1;
    const rows = tf.getBackend() === 'wasm' ? bandRows(kernel.height, kernel.width, w) : outH;
    if (rows >= outH) return tf.depthwiseConv2d(x, k, 1, 'valid');
    const parts: tf.Tensor4D[] = [];
    for (let y = 0; y < outH; y += rows) {
      const n = Math.min(rows, outH - y);
      parts.push(tf.depthwiseConv2d(sliceAxis(x, 1, y, n + kernel.height - 1), k, 1, 'valid'));
    }
    return tf.concat(parts, 1);
  });
}

/** How to extend an image beyond its edges before filtering. */
export type PadMode = 'reflect' | 'wrap';

/** Pads rows (axis 1) and columns (axis 2) by mirroring about the edge or by wrapping around. */
export function padImage(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number, mode: PadMode): tf.Tensor4D {
  return tf.tidy(() => {
    let out = x;
    if (top > 0 || bottom > 0) out = padAxis(out, 1, top, bottom, mode);
    if (left > 0 || right > 0) out = padAxis(out, 2, left, right, mode);
    return out;
  });
}

function padAxis(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number, mode: PadMode): tf.Tensor4D {
  if (mode === 'wrap') {
    // Repeat whole periods first, so that pads longer than the image keep the right phase.
    const n = x.shape[axis];
    const periodic = tf.concat(Array.from({ length: Math.max(1, Math.ceil(Math.max(before, after) / n)) }, () => x), axis);
    const m = periodic.shape[axis];
    const parts: tf.Tensor4D[] = [];
    if (before > 0) parts.push(sliceAxis(periodic, axis, m - before, before));
    parts.push(x);
    if (after > 0) parts.push(sliceAxis(periodic, axis, 0, after));
    return tf.concat(parts, axis);
  }
  // Mirror in steps no larger than the current size, so that tiny inputs can take big kernels.
  let out = x;
  let b = before;
  let a = after;
  while (b > 0 || a > 0) {
    const n = out.shape[axis];
    const pb = Math.min(b, n);
    const pa = Math.min(a, n);
    const pads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pads[axis] = [pb, pa];
    out = tf.mirrorPad(out, pads, 'symmetric');
    b -= pb;
    a -= pa;
  }
  return out;
}

/**
 * Slices `size` rows (axis 1) or columns (axis 2) from `start`. Reshapes first so that every copied run is a
 * whole row (wasm copies a 4-D slice one pixel at a time).
 */
export function sliceAxis(x: tf.Tensor4D, axis: 1 | 2, start: number, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    if (axis === 1) return x.reshape([b, h, w * c]).slice([0, start, 0], [b, size, w * c]).reshape([b, size, w, c]);
    return x.reshape([b * h, w * c]).slice([0, start * c], [b * h, size * c]).reshape([b, h, size, c]);
  });
}

/**
 * Filters `x` with `kernel` (centred on its middle; cross-correlation like tf.depthwiseConv2d) keeping its size,
 * extending the edges by `mode`.
 * All-zero border rows and columns of the kernel are skipped, so thin motion kernels cost little.
 */
export function filterSame(x: tf.Tensor4D, kernel: Kernel2D, mode: PadMode = 'reflect'): tf.Tensor4D {
  const { height, width, data } = kernel;
  let [top, bottom, left, right] = [height, -1, width, -1];
  for (let y = 0; y < height; y++)
    for (let xi = 0; xi < width; xi++)
      if (data[y * width + xi] !== 0) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, xi);
        right = Math.max(right, xi);
      }
  if (bottom < 0) return tf.zerosLike(x);
  // Keep the centre inside the kept box so that padding is never negative.
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  [top, bottom, left, right] = [Math.min(top, cy), Math.max(bottom, cy), Math.min(left, cx), Math.max(right, cx)];
  const trimmed: Kernel2D = {
    height: bottom - top + 1,
    width: right - left + 1,
    data: Float32Array.from({ length: (bottom - top + 1) * (right - left + 1) }, (_, i) => {
      const w = right - left + 1;
      return data[(top + Math.floor(i / w)) * width + left + (i % w)]!;
    }),
  };
  if (trimmed.height === 1 && trimmed.width === 1 && top === (height - 1) / 2 && left === (width - 1) / 2) {
    return tf.mul(x, trimmed.data[0]!);
  }
  // Correlation, as tf.depthwiseConv2d: output (y, x) sums kernel (ky, kx) times input (y + ky - cy, x + kx - cx).
  return tf.tidy(() => filterValid(padImage(x, cy - top, bottom - cy, cx - left, right - cx, mode), trimmed));
}

/** Separable gaussian blur of every channel, keeping the size; identity when `sigma` < 0.2. */
export function gaussianBlur(x: tf.Tensor4D, sigma: number, mode: PadMode = 'reflect'): tf.Tensor4D {
  const g = gaussian1d(sigma);
  if (g.length === 1) return x.clone();
  return tf.tidy(() => {
    const horizontal = filterSame(x, { height: 1, width: g.length, data: g }, mode);
    return filterSame(horizontal, { height: g.length, width: 1, data: g }, mode);
  });
}
