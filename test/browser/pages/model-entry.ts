/**
 * Browser entry of the model test: SimpleIR (random weights, tiny) on a seeded 64x64 input, on the
 * webgpu, wasm and cpu backends, through the SDK's own backend selection; and the tile cutter and
 * assembly on webgpu at frame sizes above 2^24 values, checked against values computed here.
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIR, selectBackend, type BackendName } from '../../../src/index';
import { fullResReceptiveRadius, PRESETS } from '../../../src/core/config';
import { axisTilePlan, blendTiles, cropWindow, resolveTiling } from '../../../src/core/model/tiling';

export interface ModelResult {
  outputs: Partial<Record<BackendName, number[]>>;
  /** `lowLight: 'off'` on a 400x224 input (its low-pass luminance is pooled in cells of 3 pixels): output and the plain output's sum. */
  lowLightOff: Partial<Record<BackendName, { off: number[]; autoSum: number; offSum: number }>>;
  backends: Partial<Record<BackendName, { name: string; fallbackAdapter: boolean }>>;
  autoBackend: string;
  tensorsBefore: number;
  tensorsAfter: number;
  paramCount: number;
}

/** What {@link Window.runLargeFrame} found at one frame size. */
export interface LargeFrameResult {
  backend: string;
  width: number;
  height: number;
  /** Tiles cut and compared. */
  tiles: number;
  /** Largest |cut tile - expected value| over them (0 when exact). */
  cropError: number;
  /** Largest |assembled frame - frame| (the frame's own tiles blended back). */
  blendError: number;
  tensorsLeft: number;
}

declare global {
  interface Window {
    runModel: () => Promise<ModelResult>;
    runLargeFrame: (size: [number, number]) => Promise<LargeFrameResult>;
  }
}

/** The test pattern: row / 8192, column / 8192 (exact in float32), a hash of both. */
function patternValue(y: number, x: number, k: number): number {
  return k === 0 ? y / 8192 : k === 1 ? x / 8192 : ((y * 7 + x * 13) % 256) / 256;
}

function patternError(got: ArrayLike<number>, y0: number, x0: number, h: number, w: number): number {
  let worst = 0;
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++, i++) worst = Math.max(worst, Math.abs(got[i]! - patternValue(y0 + y, x0 + x, k)));
    }
  }
  return worst;
}

window.runLargeFrame = async ([width, height]: [number, number]): Promise<LargeFrameResult> => {
  await selectBackend('webgpu', { onWarning: () => undefined });
  const before = tf.memory().numTensors;
  const values = new Float32Array(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let k = 0; k < 3; k++) values[i++] = patternValue(y, x, k);
  }
  const frame = tf.tensor4d(values, [1, height, width, 3]);
  const config = PRESETS.tiny;
  const { tileSize, overlap } = resolveTiling(config, height, width);
  const radius = fullResReceptiveRadius(config);
  const rows = axisTilePlan(height, tileSize, overlap, radius, config.scale);
  const cols = axisTilePlan(width, tileSize, overlap, radius, config.scale);
  // The last row and the last column of tiles (the highest indices) and the first tile.
  let cropError = 0;
  let tiles = 0;
  for (const [ri, y0] of rows.starts.entries()) {
    for (const [ci, x0] of cols.starts.entries()) {
      if (ri !== rows.starts.length - 1 && ci !== cols.starts.length - 1 && ri + ci !== 0) continue;
      const t = cropWindow(frame, y0, x0, rows.size, cols.size);
      cropError = Math.max(cropError, patternError(await t.data(), y0, x0, rows.size, cols.size));
      t.dispose();
      tiles++;
    }
  }
  const assembled = blendTiles(rows, cols, (y0, x0) => cropWindow(frame, y0, x0, rows.size, cols.size));
  const blendError = patternError(await assembled.data(), 0, 0, height, width);
  tf.dispose([frame, assembled]);
  return { backend: tf.getBackend(), width, height, tiles, cropError, blendError, tensorsLeft: tf.memory().numTensors - before };
};

window.runModel = async (): Promise<ModelResult> => {
  const auto = await selectBackend('auto', { wasmPaths: '/wasm/', onWarning: () => undefined });
  const input = new Float32Array(64 * 64 * 3);
  let s = 12345;
  for (let i = 0; i < input.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    input[i] = (s >>> 8) / 16777216;
  }
  const result: ModelResult = { outputs: {}, backends: {}, lowLightOff: {}, autoBackend: auto.name, tensorsBefore: 0, tensorsAfter: 0, paramCount: 0 };
  for (const name of ['webgpu', 'wasm', 'cpu'] as const) {
    const info = await selectBackend(name, { wasmPaths: '/wasm/', onWarning: () => undefined });
    result.backends[name] = { name: info.name, fallbackAdapter: info.fallbackAdapter };
    const model = SimpleIR.create('tiny', { init: 'random', seed: 7 });
    result.paramCount = model.paramCount;
    const x = tf.tensor3d(input, [64, 64, 3]);
    const before = tf.memory().numTensors;
    const y = await model.restore(x);
    result.outputs[name] = Array.from(await y.data());
    y.dispose();
    const wide = tf.tidy(() => tf.mul(tf.tile(x, [4, 7, 1]).slice([0, 0, 0], [224, 400, 3]), 0.3) as tf.Tensor3D);
    const [plain, off] = [await model.restore(wide), await model.restore(wide, { lowLight: 'off' })];
    const [plainValues, offValues] = [Array.from(await plain.data()), Array.from(await off.data())];
    const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);
    result.lowLightOff[name] = { off: offValues, autoSum: sum(plainValues), offSum: sum(offValues) };
    tf.dispose([wide, plain, off]);
    if (name === 'webgpu') {
      result.tensorsBefore = before;
      result.tensorsAfter = tf.memory().numTensors;
    }
    x.dispose();
    model.dispose();
  }
  return result;
};
