/**
 * SimpleIR, the all-in-one restoration network: create or load it, restore images and frames, save
 * its weights. Loading accepts a preset name, a URL, a file path (Node), a packed buffer, or the two
 * parts of a weight file.
 */
import * as tf from '@tensorflow/tfjs';
import { flopsPerPixel, isPresetName, paramCount, paramSpecs, PRESETS, validateConfig, type PresetName, type SimpleIRConfig } from '../config.js';
import { backendReady } from '../backend.js';
import { SimpleIRError } from '../errors.js';
import { validateImage, type RGBImage } from '../image.js';
import { Random } from '../random.js';
import { activeWebGPULimits, checkFitsInWasm, checkFitsInWebGPU, fullResolutionTiled, resolveTiling, type TileOptions } from './tiling.js';
import { decodeWeights, encodeWeights, packWeights, type DecodedWeights, type WeightDType, type WeightFiles } from '../weights.js';
import { checkLowLight, keepExposure, type LowLightMode } from './exposure.js';
import { body, foldWeights, forward, type FoldedWeights, type ParamMap } from './forward.js';
import { nativeOps, type NetOps } from './ops.js';
import { readWeightSource, type WeightSource, type WeightSourceOptions } from './source.js';

/** How a fresh network's weights are drawn. `identity`: the output equals the input; `random`: every tensor random (tests). */
export type InitMode = 'identity' | 'random';

/** Options of {@link SimpleIR.create}. */
export interface CreateOptions {
  /** Default `identity`. */
  readonly init?: InitMode;
  /** Seed of the random initialisation (default 1). */
  readonly seed?: number;
}

/** Options of {@link SimpleIR.predict} and {@link predictWith}: tiling, and what may happen to the exposure. */
export interface PredictOptions extends TileOptions {
  /**
   * `'auto'` (default): the network brightens what it takes for a low-light frame. `'off'`: the output
   * keeps the input's exposure (scenes meant to be dark), while rain and snow are still removed;
   * see {@link LowLightMode}.
   */
  readonly lowLight?: LowLightMode;
}

/** Options of {@link SimpleIR.restore} (one image); the stream operator `restore` takes `RestoreOperatorOptions`. */
export interface ModelRestoreOptions extends PredictOptions {
  /** Stops the work before it starts when aborted. */
  readonly signal?: AbortSignal;
}

/** Draws initial values for every parameter of `config`. */
export function initialWeights(config: SimpleIRConfig, options: CreateOptions = {}): Map<string, Float32Array> {
  const rng = new Random(options.seed ?? 1);
  const random = options.init === 'random';
  const out = new Map<string, Float32Array>();
  for (const spec of paramSpecs(config)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    const bound = Math.sqrt(3 / spec.fanIn);
    for (let i = 0; i < size; i++) {
      if (spec.init === 'fan' || (random && spec.init === 'zero' && spec.shape.length === 4)) {
        v[i] = rng.uniform(-bound, bound);
      } else if (spec.init === 'one') {
        v[i] = random ? 1 + 0.2 * rng.normal() : 1;
      } else {
        v[i] = random ? 0.2 * rng.normal() : 0;
      }
    }
    out.set(spec.name, v);
  }
  return out;
}

function toTensors(config: SimpleIRConfig, values: ReadonlyMap<string, Float32Array>): Map<string, tf.Tensor> {
  const params = new Map<string, tf.Tensor>();
  for (const spec of paramSpecs(config)) {
    params.set(spec.name, tf.tensor(Float32Array.from(values.get(spec.name)!), [...spec.shape], 'float32'));
  }
  return params;
}

/**
 * Least side, in cells of the low-resolution grid, of the frame the network runs on. Narrower grids
 * are all border: the 7x7 spatial attention and the 3x3 convolutions see mostly zero padding, the
 * whole-frame channel statistics come from border cells only, and the shipped weights darkened an
 * 8x100 grey image from 128 to 11 (`tiny`). Unpadded grey 128, x100 high, channel means off by up to:
 * 8 cells wide (32 pixels at scale 4), 2.8 levels (`base`); 10 cells, 1.6; 16 cells, 0.6.
 */
export const MIN_GRID_CELLS = 16;

/** Where a frame sits inside the padded frame the network runs on. */
export interface Padding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Padding of one axis: to a multiple of `s` at the end, or, below `minSide`, to `minSide` split evenly around the frame. */
function axisPadding(length: number, s: number, minSide: number): [before: number, after: number] {
  const target = Math.max(Math.ceil(length / s) * s, minSide);
  if (length >= minSide) return [0, target - length];
  const before = Math.floor((target - length) / 2);
  return [before, target - length - before];
}

/** The padding that brings an H x W frame to what the network needs (see {@link MIN_GRID_CELLS}). */
export function networkPadding(config: SimpleIRConfig, height: number, width: number): Padding {
  const minSide = MIN_GRID_CELLS * config.scale;
  const [top, bottom] = axisPadding(height, config.scale, minSide);
  const [left, right] = axisPadding(width, config.scale, minSide);
  return { top, bottom, left, right };
}

/**
 * Pads a [B, H, W, C] tensor by reflection (`tf.mirrorPad`, at most `size - 1` pixels a side), then,
 * where more is needed (frames narrower than {@link MIN_GRID_CELLS} cells), by repeating the outermost
 * pixels. Not by reflecting again: the mirrored copies of a thin strip make a periodic pattern of lines,
 * which the network treats as rain or blur (a 160x8 crop of a photo restored by `base` then matched the
 * same pixels restored in a 160x120 crop to 26 dB, 11 levels on average; with the edge repeated, 42 dB).
 */
export function padFrame(x: tf.Tensor4D, pad: Padding): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [t, b, l, r] = [Math.min(pad.top, h - 1), Math.min(pad.bottom, h - 1), Math.min(pad.left, w - 1), Math.min(pad.right, w - 1)];
  let y = t + b + l + r > 0 ? tf.mirrorPad(x, [[0, 0], [t, b], [l, r], [0, 0]], 'reflect') : x;
  y = repeatEdges(y, 1, pad.top - t, pad.bottom - b);
  return repeatEdges(y, 2, pad.left - l, pad.right - r);
}

/** Extends `x` along `axis` by `before` copies of its first slice and `after` copies of its last. */
function repeatEdges(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  if (before === 0 && after === 0) return x;
  const n = x.shape[axis];
  const indices = Int32Array.from({ length: before + n + after }, (_, i) => Math.min(Math.max(i - before, 0), n - 1));
  return tf.gather(x, tf.tensor1d(indices, 'int32'), axis);
}

/**
 * The last steps of a prediction, after the network ran on the padded frame `y` of the batch `x`:
 * cropped back to `x`'s size (`pad` as {@link networkPadding} gave it), and with `lowLight: 'off'`
 * given `x`'s exposure back (`keepExposure`). Returns a new tensor; call it inside a tidy.
 */
export function finishPrediction(x: tf.Tensor4D, y: tf.Tensor4D, pad: Padding, lowLight: LowLightMode): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const out = y.shape[1] !== h || y.shape[2] !== w ? tf.slice(y, [0, pad.top, pad.left, 0], [b, h, w, 3]) : y;
  return lowLight === 'off' ? keepExposure(x, out) : out;
}

/** Runs the network elsewhere (another runtime, e.g. ONNX Runtime) on a padded batch: NHWC float32 values in, the same shape out. */
export type NetworkRunner = (values: Float32Array, shape: readonly [number, number, number, number]) => Promise<Float32Array>;

/**
 * {@link predictWith}'s padding and finishing steps around a network that another runtime runs
 * (`run`, given the padded batch's values): whole frames, no tiling. Returns a new tensor owned by the
 * caller; `x` stays the caller's.
 * @throws SimpleIRError `INVALID_ARGUMENT` for a bad `lowLight`; what `run` throws.
 */
export async function predictWithRunner(config: SimpleIRConfig, x: tf.Tensor4D, run: NetworkRunner, options: PredictOptions = {}): Promise<tf.Tensor4D> {
  const lowLight = checkLowLight(options.lowLight, 'predict(x, options)');
  const [b, h, w] = x.shape;
  const pad = networkPadding(config, h, w);
  const shape = [b, pad.top + h + pad.bottom, pad.left + w + pad.right, 3] as const;
  const padded = tf.tidy(() => padFrame(x, pad));
  let values: Float32Array;
  try {
    values = (await padded.data()) as Float32Array;
  } finally {
    if (padded !== x) padded.dispose();
  }
  const out = await run(values, shape);
  return tf.tidy(() => finishPrediction(x, tf.tensor4d(out, [...shape]), pad, lowLight));
}

/**
 * The network with the given weights on a float batch [B, H, W, 3] in [0, 1] of any size of at least
 * `scale` pixels: padded to multiples of the scale and to at least {@link MIN_GRID_CELLS} cells a side
 * (see `padFrame`), run (tiled above 1920x1088, or on webgpu above what the device's limits allow in one
 * pass, unless `tileSize: 0`), cropped back; with `lowLight: 'off'`, given the input's exposure back
 * (`keepExposure`). Synchronous; returns a new tensor owned by the caller.
 * @throws SimpleIRError `INVALID_ARGUMENT` for bad tile or `lowLight` options, or a frame too large for
 * the wasm backend's memory or the WebGPU device's limits (see `checkFitsInWasm`, `checkFitsInWebGPU`).
 */
export function predictWith(config: SimpleIRConfig, weights: ParamMap, x: tf.Tensor4D, options: PredictOptions = {}, ops: NetOps = nativeOps): tf.Tensor4D {
  const lowLight = checkLowLight(options.lowLight, 'predict(x, options)');
  const [b, h, w] = x.shape;
  const pad = networkPadding(config, h, w);
  const [hp, wp] = [pad.top + h + pad.bottom, pad.left + w + pad.right];
  const limits = activeWebGPULimits();
  const { tileSize, overlap } = resolveTiling(config, hp, wp, options, limits, b);
  checkFitsInWasm(config, hp, wp, tileSize, tf.getBackend());
  if (limits) checkFitsInWebGPU(config, hp, wp, tileSize, limits, b);
  return tf.tidy(() => {
    const xp = padFrame(x, pad);
    let y: tf.Tensor4D;
    if (tileSize === 0) {
      y = forward(config, ops, weights, xp, true, true);
    } else {
      const outs: tf.Tensor4D[] = [];
      for (let i = 0; i < b; i++) {
        const xi = b === 1 ? xp : tf.slice(xp, [i, 0, 0, 0], [1, hp, wp, 3]);
        const f = body(config, ops, weights, xi, true);
        outs.push(fullResolutionTiled(config, ops, weights, xi, f, tileSize, overlap));
      }
      y = b === 1 ? outs[0]! : tf.concat(outs, 0);
    }
    return finishPrediction(x, y, pad, lowLight);
  });
}

/**
 * Restores an image of bytes with `predict` (a model's forward pass on a float batch [1, H, W, 3] in
 * [0, 1], synchronous or not): RGB or RGBA in (alpha kept), bytes out. `SimpleIR.restore` and the
 * CLI's ONNX Runtime engine share it.
 * @throws SimpleIRError `INVALID_IMAGE`; what `predict` throws.
 */
export async function restoreImageWith(predict: (x: tf.Tensor4D) => tf.Tensor4D | Promise<tf.Tensor4D>, image: RGBImage): Promise<RGBImage> {
  const img = validateImage(image);
  const all = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, img.channels], 'int32');
  let x: tf.Tensor4D | undefined;
  let y: tf.Tensor4D | undefined;
  let bytes: tf.Tensor3D | undefined;
  try {
    x = tf.tidy(() => {
      const rgb = img.channels === 4 ? tf.slice(all, [0, 0, 0], [img.height, img.width, 3]) : all;
      return tf.div(tf.cast(rgb, 'float32'), 255).expandDims(0) as tf.Tensor4D;
    });
    y = await predict(x);
    const out = y;
    bytes = tf.tidy(() => {
      let b = tf.cast(tf.round(tf.mul(out.squeeze([0]), 255)), 'int32') as tf.Tensor3D;
      if (img.channels === 4) b = tf.concat([b, tf.slice(all, [0, 0, 3], [img.height, img.width, 1])], 2);
      return b;
    });
    const data = await bytes.data();
    return { data: Uint8ClampedArray.from(data), width: img.width, height: img.height, channels: img.channels };
  } finally {
    tf.dispose([all, ...(x ? [x] : []), ...(y ? [y] : []), ...(bytes ? [bytes] : [])]);
  }
}

/**
 * A SimpleIR network ready to restore images. Create one with {@link SimpleIR.load} or
 * {@link SimpleIR.create}; call {@link SimpleIR.dispose} when done.
 */
export class SimpleIR {
  /** The network's shape. */
  readonly config: SimpleIRConfig;
  /** Facts stored with the weights (training command, data, date), if any. */
  readonly metadata: Readonly<Record<string, unknown>>;
  private weights: Map<string, tf.Tensor>;
  private disposed = false;
  /** The weight map last found finite by {@link SimpleIR.assertFiniteWeights}. */
  private finiteWeights: Map<string, tf.Tensor> | undefined;
  /** The current weights with their folds computed once (see `foldWeights`): remade by {@link SimpleIR.setWeights}. */
  private folded: FoldedWeights;

  private constructor(config: SimpleIRConfig, weights: Map<string, tf.Tensor>, metadata: Record<string, unknown>) {
    this.config = config;
    this.weights = weights;
    this.folded = foldWeights(config, weights);
    this.metadata = metadata;
  }

  /**
   * A new network for a config or preset, identity-initialised unless `init: 'random'`.
   * @throws SimpleIRError `INVALID_CONFIG`
   */
  static create(config: SimpleIRConfig | PresetName, options: CreateOptions = {}): SimpleIR {
    const c = typeof config === 'string' ? presetConfig(config) : validateConfig(config);
    return new SimpleIR(c, toTensors(c, initialWeights(c, options)), {});
  }

  /**
   * Loads trained weights: `'tiny'` or `'base'` (shipped with the package), a URL or file path of a
   * manifest (`.json`) or packed file (`.sirw`), a packed `ArrayBuffer`/`Uint8Array`, or `{ manifest, data }`.
   * Without a backend chosen by the app (`selectBackend` or `tf.setBackend`), selects one as
   * `selectBackend()` does, measured for this network, and waits until it is ready.
   * @throws SimpleIRError `WEIGHTS_NOT_FOUND`, `WEIGHTS_INVALID`, `WEIGHTS_MISMATCH`, `NON_FINITE` or `BACKEND_UNAVAILABLE`.
   */
  static async load(source: WeightSource, options: WeightSourceOptions = {}): Promise<SimpleIR> {
    const files = await readWeightSource(source, options);
    const decoded = decodeWeights(files.manifest, files.data);
    await backendReady({ probe: { preset: decoded.config } });
    return SimpleIR.fromDecoded(decoded);
  }

  /** A network from already decoded weights. */
  static fromDecoded(decoded: DecodedWeights): SimpleIR {
    return new SimpleIR(decoded.config, toTensors(decoded.config, decoded.tensors), { ...decoded.metadata });
  }

  /** Number of trainable parameters. */
  get paramCount(): number {
    return paramCount(this.config);
  }

  /** FLOPs per output pixel of one forward pass (see {@link flopsPerPixel}). */
  get flopsPerPixel(): number {
    return flopsPerPixel(this.config);
  }

  /** The current weight tensors by name. Owned by the model: do not dispose them. */
  get params(): ParamMap {
    this.assertLive();
    return this.weights;
  }

  /**
   * Restores an image. Bytes in (`{data, width, height, channels}`, RGB or RGBA; alpha is kept), bytes
   * out. A `tf.Tensor3D` [H, W, 3] in: float32 read as [0, 1] and int32 as [0, 255]; a new tensor of the
   * same dtype out, owned by the caller.
   * @throws SimpleIRError `INVALID_IMAGE`, `INVALID_ARGUMENT`, `DISPOSED`, `ABORTED`
   */
  async restore(image: RGBImage, options?: ModelRestoreOptions): Promise<RGBImage>;
  async restore(image: tf.Tensor3D, options?: ModelRestoreOptions): Promise<tf.Tensor3D>;
  async restore(image: RGBImage | tf.Tensor3D, options: ModelRestoreOptions = {}): Promise<RGBImage | tf.Tensor3D> {
    this.assertLive();
    if (options.signal?.aborted) throw new SimpleIRError('ABORTED', 'restore() was aborted before it started.');
    if (image instanceof tf.Tensor) return this.restoreTensor(image, options);
    const img = validateImage(image);
    this.checkSize(img.height, img.width);
    return restoreImageWith((x) => this.predict(x, options), img);
  }

  private restoreTensor(image: tf.Tensor3D, options: ModelRestoreOptions): tf.Tensor3D {
    if (image.rank !== 3 || image.shape[2] !== 3) {
      throw new SimpleIRError('INVALID_IMAGE', `Expected a tensor of shape [height, width, 3]; got [${image.shape}].`);
    }
    this.checkSize(image.shape[0], image.shape[1]);
    const isInt = image.dtype === 'int32';
    return tf.tidy(() => {
      const x = (isInt ? tf.div(tf.cast(image, 'float32'), 255) : image).expandDims(0) as tf.Tensor4D;
      const y = this.predict(x, options).squeeze([0]) as tf.Tensor3D;
      return isInt ? (tf.cast(tf.round(tf.mul(y, 255)), 'int32') as tf.Tensor3D) : y;
    });
  }

  private checkSize(height: number, width: number): void {
    const s = this.config.scale;
    if (height < s || width < s) {
      throw new SimpleIRError('INVALID_IMAGE', `Image ${width}x${height} is too small: this model needs at least ${s}x${s} pixels.`);
    }
  }

  /**
   * The network on a float batch [B, H, W, 3] in [0, 1] (any size of at least `scale` pixels; padded by
   * reflection and cropped back). Synchronous; returns a new tensor owned by the caller. Frames above
   * 1920x1088 run the full-resolution stage in tiles unless `tileSize: 0`; `lowLight: 'off'` keeps the
   * input's exposure.
   */
  predict(x: tf.Tensor4D, options: PredictOptions = {}, ops: NetOps = nativeOps): tf.Tensor4D {
    this.assertLive();
    return predictWith(this.config, this.inferenceParams(), x, options, ops);
  }

  /**
   * The weights with their folds computed once per weight version, or the raw weights under a gradient
   * tape (`tf.grad` and kin), which must differentiate through them.
   */
  private inferenceParams(): ParamMap {
    return tf.engine().state.gradientDepth > 0 ? this.weights : this.folded.params;
  }

  /**
   * Checks the weights for NaN and infinity, once per weight version (the first call after a
   * {@link SimpleIR.setWeights}; later calls cost nothing). The read is small (one flag per tensor), but
   * on webgpu it would be a stream's only readback: there the check is skipped, and a non-finite output
   * is reported by the output check of the frame converters instead.
   * @throws SimpleIRError `NON_FINITE` naming the first broken tensor (load sound weights), `DISPOSED`
   */
  async assertFiniteWeights(): Promise<void> {
    this.assertLive();
    const weights = this.weights;
    if (weights === this.finiteWeights || tf.getBackend() === 'webgpu' || weights.size === 0) return;
    const entries = [...weights.entries()];
    const finite = tf.tidy(() => tf.stack(entries.map(([, t]) => tf.all(tf.isFinite(t)))));
    let flags: ArrayLike<number>;
    try {
      flags = (await finite.data()) as ArrayLike<number>;
    } finally {
      finite.dispose();
    }
    const bad = entries.findIndex((_, i) => !flags[i]);
    if (bad >= 0) {
      const name = entries[bad]![0];
      throw new SimpleIRError('NON_FINITE', `the model's weight tensor ${name} holds NaN or infinity: the weights are broken (diverged training?); load sound weights`, { tensor: name });
    }
    // Weights swapped meanwhile (setWeights) are checked at the next call.
    if (weights === this.weights) this.finiteWeights = weights;
  }

  /** The current weights as float32 arrays by name (a copy). */
  getWeights(): Map<string, Float32Array> {
    this.assertLive();
    const out = new Map<string, Float32Array>();
    for (const [name, t] of this.weights) out.set(name, Float32Array.from(t.dataSync() as Float32Array));
    return out;
  }

  /**
   * Replaces every weight at once (atomically with respect to {@link predict}, which reads the map once
   * per call). Accepts float32 arrays or tensors (copied) by name; names and sizes must match the config.
   * @throws SimpleIRError `WEIGHTS_MISMATCH`
   */
  setWeights(values: ReadonlyMap<string, Float32Array | tf.Tensor>): void {
    this.assertLive();
    const specs = paramSpecs(this.config);
    const unknown = [...values.keys()].filter((k) => !specs.some((sp) => sp.name === k));
    if (unknown.length > 0) {
      throw new SimpleIRError('WEIGHTS_MISMATCH', `setWeights: tensors unknown to config ${JSON.stringify(this.config)}: ${unknown.slice(0, 5).join(', ')}.`);
    }
    const next = new Map<string, tf.Tensor>();
    try {
      for (const spec of specs) {
        const v = values.get(spec.name);
        const size = spec.shape.reduce((a, c) => a * c, 1);
        const got = v instanceof tf.Tensor ? v.size : v?.length;
        if (got !== size) {
          throw new SimpleIRError('WEIGHTS_MISMATCH', `setWeights: ${spec.name} missing or of the wrong size (needs ${size} values).`, { tensor: spec.name });
        }
        next.set(spec.name, v instanceof tf.Tensor ? tf.tidy(() => tf.cast(tf.reshape(v, [...spec.shape]), 'float32')) : tf.tensor(Float32Array.from(v!), [...spec.shape], 'float32'));
      }
    } catch (e) {
      next.forEach((t) => t.dispose());
      throw e;
    }
    const old = this.weights;
    const oldFolds = this.folded;
    this.folded = foldWeights(this.config, next);
    this.weights = next;
    oldFolds.dispose();
    old.forEach((t) => t.dispose());
  }

  /** The weights as a weight file (manifest + binary), in fp32 or fp16 storage. */
  toWeightFiles(options: { dtype?: WeightDType; weightsFile?: string; metadata?: Record<string, unknown> } = {}): WeightFiles {
    return encodeWeights(this.config, this.getWeights(), { ...options, metadata: options.metadata ?? { ...this.metadata } });
  }

  /** The weights as one packed buffer, loadable with {@link SimpleIR.load}. */
  toPackedWeights(options: { dtype?: WeightDType; metadata?: Record<string, unknown> } = {}): Uint8Array {
    return packWeights(this.toWeightFiles(options));
  }

  /** Releases every tensor; later calls throw `DISPOSED`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.folded.dispose();
    this.weights.forEach((t) => t.dispose());
    this.weights.clear();
  }

  /** True after {@link dispose}. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertLive(): void {
    if (this.disposed) throw new SimpleIRError('DISPOSED', 'This SimpleIR model was disposed; load or create a new one.');
  }
}

/** The config of a preset. */
export function presetConfig(name: PresetName): SimpleIRConfig {
  if (!isPresetName(name)) {
    throw new SimpleIRError('INVALID_CONFIG', `Unknown preset ${JSON.stringify(name)}; presets are ${Object.keys(PRESETS).join(', ')}.`);
  }
  return PRESETS[name];
}

