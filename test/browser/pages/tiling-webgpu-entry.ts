/**
 * Browser entry of tiling-webgpu.test.ts: on the webgpu backend, the tile size `'auto'` reads from the
 * device's limits, a frame restored in tiles of the size a device with small limits gets against the
 * same frame untiled, and an untiled pass past the limits refused before any work.
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import { fullResReceptiveRadius, PRESETS } from '../../../src/core/config';
import { activeWebGPULimits, axisTilePlan, resolveTiling, webgpuTileSize, type GpuTileLimits } from '../../../src/core/model/tiling';

/** The device's limits and what `'auto'` makes of them. */
export interface LimitsResult {
  backend: string;
  limits: GpuTileLimits | null;
  tileSize: number;
  /** `resolveTiling` of a 3840x2160 and a 1920x1080 frame on this device. */
  tile4k: number;
  tile1080p: number;
}

/** A seeded frame restored in tiles and untiled. */
export interface SeamResult {
  backend: string;
  tileSize: number;
  tiles: number;
  /** Largest |tiled - untiled| over the frame, and over the overlaps of neighbouring tiles (the seams). */
  maxDiff: number;
  maxDiffSeams: number;
  seamPixels: number;
  /** Largest |untiled - input|: the model changes the frame. */
  change: number;
  tensorsLeft: number;
}

declare global {
  interface Window {
    tilingLimits: () => Promise<LimitsResult>;
    tilingSeams: (args: { width: number; height: number; limits: GpuTileLimits }) => Promise<SeamResult>;
    /** A `k`x`k` convolution of `cin` to `cout` channels over a 1-row image of `pixels` pixels (read back): null, or tfjs's error. */
    convOver: (args: { pixels: number; k: number; cin: number; cout: number }) => Promise<string | null>;
    /** `predict` of a zero 3840x2160 frame with `tileSize: 0`: the error's code and message, or null. */
    untiled4k: () => Promise<{ code: string; message: string } | null>;
  }
}

async function webgpu(): Promise<void> {
  await selectBackend('webgpu', { onWarning: () => undefined });
}

window.tilingLimits = async () => {
  await webgpu();
  const limits = activeWebGPULimits() ?? null;
  const tiny = PRESETS.tiny;
  return {
    backend: tf.getBackend(),
    limits: limits && { maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize },
    tileSize: limits ? webgpuTileSize(tiny, limits) : -1,
    tile4k: resolveTiling(tiny, 2160, 3840, {}, limits ?? undefined).tileSize,
    tile1080p: resolveTiling(tiny, 1080, 1920, {}, limits ?? undefined).tileSize,
  };
};

window.tilingSeams = async ({ width, height, limits }) => {
  await webgpu();
  const model = SimpleIR.create('tiny', { init: 'random', seed: 3 });
  const config = model.config;
  const tileSize = webgpuTileSize(config, limits);
  const { overlap } = resolveTiling(config, height, width, { tileSize });
  const r = fullResReceptiveRadius(config);
  const rows = axisTilePlan(height, tileSize, overlap, r, config.scale);
  const cols = axisTilePlan(width, tileSize, overlap, r, config.scale);
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      data[i] = x / width;
      data[i + 1] = y / height;
      data[i + 2] = ((x * 13 + y * 7) % 32) / 31;
    }
  }
  const x = tf.tensor4d(data, [1, height, width, 3]);
  const tiled = model.predict(x, { tileSize, overlap });
  const untiled = model.predict(x, { tileSize: 0 });
  const [a, b] = await Promise.all([tiled.data(), untiled.data()]);
  tf.dispose([x, tiled, untiled]);
  model.dispose();
  // The seams: positions covered by two tiles along either axis.
  const covered = (plan: typeof rows, length: number): Uint8Array => {
    const n = new Uint8Array(length);
    for (const s of plan.starts) for (let p = s; p < s + plan.size; p++) n[p]! += 1;
    return n;
  };
  const rowCover = covered(rows, height);
  const colCover = covered(cols, width);
  let maxDiff = 0;
  let maxDiffSeams = 0;
  let seamPixels = 0;
  let change = 0;
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      const seam = rowCover[y]! > 1 || colCover[xx]! > 1;
      if (seam) seamPixels++;
      for (let c = 0; c < 3; c++) {
        const i = 3 * (y * width + xx) + c;
        const d = Math.abs(a[i]! - b[i]!);
        maxDiff = Math.max(maxDiff, d);
        if (seam) maxDiffSeams = Math.max(maxDiffSeams, d);
        change = Math.max(change, Math.abs(b[i]! - data[i]!));
      }
    }
  }
  return { backend: tf.getBackend(), tileSize, tiles: rows.starts.length * cols.starts.length, maxDiff, maxDiffSeams, seamPixels, change, tensorsLeft: tf.memory().numTensors };
};

window.untiled4k = async () => {
  await webgpu();
  const model = SimpleIR.create('tiny');
  const x = tf.zeros([1, 2160, 3840, 3]) as tf.Tensor4D;
  try {
    model.predict(x, { tileSize: 0 }).dispose();
    return null;
  } catch (e) {
    return { code: (e as { code?: string }).code ?? 'none', message: (e as Error).message };
  } finally {
    x.dispose();
    model.dispose();
  }
};

window.convOver = async ({ pixels, k, cin, cout }) => {
  await webgpu();
  const x = tf.ones([1, 1, pixels, cin]) as tf.Tensor4D;
  const w = tf.ones([k, k, cin, cout]) as tf.Tensor4D;
  try {
    const y = tf.conv2d(x, w, 1, 'same');
    const last = await tf.slice(y, [0, 0, pixels - 1, 0], [1, 1, 1, 1]).data();
    y.dispose();
    return last[0] === cin * (k === 1 ? 1 : 2) ? null : `wrong value ${last[0]}`;
  } catch (e) {
    return (e as Error).message;
  } finally {
    tf.dispose([x, w]);
  }
};
