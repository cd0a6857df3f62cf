/**
 * The SimpleIR forward pass, written once over {@link NetOps} so that inference (native kernels) and
 * training (differentiable formulations) share it. Split in two stages: the low-resolution body, which
 * holds every global statistic, and the full-resolution stage, which is local and can run in tiles.
 */
import * as tf from '@tensorflow/tfjs';
import type { SimpleIRConfig } from '../config.js';
import type { ConvActivation, NetOps } from './ops.js';
import { channelMeanMaxOnWebGPU, NORMALISE_EPSILON, normaliseOnWebGPU, webgpuKernelsUsable } from './webgpu-kernels.js';

/** Weight tensors by name (see `paramSpecs`). */
export type ParamMap = ReadonlyMap<string, tf.Tensor>;

/**
 * Runs `fn` in its own tidy scope when `scoped` (inference: frees each block's intermediates at once,
 * which bounds peak memory at 4K) or inline (training: the gradient tape needs the intermediates).
 */
function scope<T extends tf.Tensor>(scoped: boolean, fn: () => T): T {
  return scoped ? tf.tidy(fn) : fn();
}

function get<T extends tf.Tensor>(p: ParamMap, name: string): T {
  const t = p.get(name);
  if (!t) throw new Error(`SimpleIR internal error: missing parameter ${name}`);
  return t as T;
}

function convNamed(ops: NetOps, p: ParamMap, name: string, x: tf.Tensor4D, activation?: ConvActivation): tf.Tensor4D {
  return ops.conv(x, get<tf.Tensor4D>(p, `${name}.w`), get<tf.Tensor1D>(p, `${name}.b`), activation);
}

/**
 * Layer normalisation over channels, per pixel, without its per-channel affine map: the blocks fold
 * that map into the 1x1 convolution that follows (see {@link affineIntoConv}). One custom kernel on
 * webgpu outside a gradient tape (see `webgpu-kernels.ts`), tfjs operations elsewhere.
 */
export function normalise(x: tf.Tensor4D): tf.Tensor4D {
  return webgpuKernelsUsable() ? normaliseOnWebGPU(x) : normaliseByOps(x);
}

/** {@link normalise} in tfjs operations (eight of them): differentiable, and on every backend. */
export function normaliseByOps(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORMALISE_EPSILON)));
}

/** Mean and maximum over the channels, side by side: [B, H, W, C] -> [B, H, W, 2]. One custom kernel on webgpu outside a gradient tape. */
export function channelMeanMax(x: tf.Tensor4D): tf.Tensor4D {
  return webgpuKernelsUsable() ? channelMeanMaxOnWebGPU(x) : channelMeanMaxByOps(x);
}

/**
 * {@link channelMeanMax} in tfjs operations: each statistic padded with a zero channel and the two added
 * (exact; a channel concat is a slow per-pixel copy on wasm).
 */
export function channelMeanMaxByOps(x: tf.Tensor4D): tf.Tensor4D {
  return tf.add(tf.pad(tf.mean(x, 3, true), [[0, 0], [0, 0], [0, 0], [0, 1]]), tf.pad(tf.max(x, 3, true), [[0, 0], [0, 0], [0, 0], [1, 0]]));
}

/**
 * The mean over height and width, [B, H, W, C] -> [B, 1, 1, C], taken as a mean over one axis of the
 * same values viewed as [B, H*W, C]: equal to `tf.mean(x, [1, 2], true)` bit for bit, and on wasm 4x
 * faster (its Mean over the two spatial axes of a 4-D tensor transposes the frame first: 46 against 11 ms
 * for [1, 270, 480, 32], `base`'s 1080p feature map).
 */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.mean(tf.reshape(x, [b, h * w, c]), 1), [b, 1, 1, c]);
}

/** Weights and bias of a convolution. */
type ConvParams = [w: tf.Tensor4D, b: tf.Tensor1D];

function convParams(p: ParamMap, name: string): ConvParams {
  return [get(p, `${name}.w`), get(p, `${name}.b`)];
}

/** A 1x1 convolution applied to `x * g + h` (per input channel), as one convolution of `x`: weights w * g, bias b + h . w. */
function affineIntoConv([w, b]: ConvParams, g: tf.Tensor1D, h: tf.Tensor1D): ConvParams {
  const [, , cin, cout] = w.shape;
  const bias = tf.add<tf.Tensor1D>(b, tf.reshape(tf.matMul(tf.reshape(h, [1, cin]), tf.reshape(w, [cin, cout])), [cout]));
  return [tf.mul<tf.Tensor4D>(w, tf.reshape(g, [1, 1, cin, 1])), bias];
}

/** A convolution whose output is then scaled per channel by `s`, as one convolution: weights and bias times s. */
function scaleIntoConv([w, b]: ConvParams, s: tf.Tensor): ConvParams {
  return [tf.mul<tf.Tensor4D>(w, s), tf.mul<tf.Tensor1D>(b, s)];
}

/** Output channels [from, from + n) of a convolution, or of a depthwise convolution (`depthwise`: channels on axis 2). */
function channels([w, b]: ConvParams, from: number, n: number, depthwise = false): ConvParams {
  const [k, , cin, cout] = w.shape;
  const ws = depthwise ? tf.slice(w, [0, 0, from, 0], [k, k, n, cout]) : tf.slice(w, [0, 0, 0, from], [k, k, cin, n]);
  return [ws, tf.slice(b, [from], [n])];
}

/** The folded convolutions of a block, in the order {@link blockFolds} returns them: gate halves `.0` and `.1`. */
const FOLD_NAMES = ['pw1.0', 'pw1.1', 'dw.0', 'dw.1', 'pw2', 'ffn1.0', 'ffn1.1', 'ffn2'] as const;

/**
 * The convolutions a block runs, derived from its raw parameters: the layer norms' affine maps and the
 * two residual scales (times the FIB's alpha_k for iteration `k`) folded into the neighbouring 1x1
 * convolutions' weights (exact up to float rounding), and the gates' halves cut apart. Small tensors
 * only, but a dozen operations per block: {@link foldWeights} computes them once per weight version.
 */
function blockFolds(p: ParamMap, prefix: string, c: number, k?: number): ConvParams[] {
  let beta: tf.Tensor = get(p, `${prefix}.beta`);
  let gamma: tf.Tensor = get(p, `${prefix}.gamma`);
  if (k !== undefined) {
    const alpha = get<tf.Tensor2D>(p, 'fib.alpha');
    const scale = tf.reshape(tf.slice(alpha, [k, 0], [1, c]), [c]);
    beta = tf.mul(beta, scale);
    gamma = tf.mul(gamma, scale);
  }
  const pw1 = affineIntoConv(convParams(p, `${prefix}.pw1`), get(p, `${prefix}.ln1.g`), get(p, `${prefix}.ln1.b`));
  const dw = convParams(p, `${prefix}.dw`);
  const ffn1 = affineIntoConv(convParams(p, `${prefix}.ffn1`), get(p, `${prefix}.ln2.g`), get(p, `${prefix}.ln2.b`));
  return [
    channels(pw1, 0, c), channels(pw1, c, c), channels(dw, 0, c, true), channels(dw, c, c, true),
    scaleIntoConv(convParams(p, `${prefix}.pw2`), beta),
    channels(ffn1, 0, c), channels(ffn1, c, c),
    scaleIntoConv(convParams(p, `${prefix}.ffn2`), gamma),
  ];
}

/** Name of a block in a folded weight map: its prefix, and the FIB's iteration. */
function blockId(prefix: string, k?: number): string {
  return k === undefined ? prefix : `${prefix}@${k}`;
}

/** A block's folded convolutions: read from `p` when {@link foldWeights} put them there, else computed now. */
function foldedConvs(p: ParamMap, prefix: string, c: number, k?: number): ConvParams[] {
  const id = blockId(prefix, k);
  const cached = FOLD_NAMES.map((n): ConvParams | undefined => {
    const w = p.get(`${id}/${n}.w`);
    const b = p.get(`${id}/${n}.b`);
    return w && b ? [w as tf.Tensor4D, b as tf.Tensor1D] : undefined;
  });
  return cached.every((cp) => cp !== undefined) ? (cached as ConvParams[]) : blockFolds(p, prefix, c, k);
}

/** Number of tensors {@link foldWeights} adds for `config`: a weight and a bias per folded convolution per block run. */
export function foldedTensorCount(config: SimpleIRConfig): number {
  return 2 * FOLD_NAMES.length * (config.blocks + config.iterations);
}

/** Weights with every block's folded convolutions precomputed (see {@link foldWeights}). */
export interface FoldedWeights {
  /** The raw weights (the same tensors, not copies) plus the folded ones; what `forward` takes. */
  readonly params: ParamMap;
  /** Releases the folded tensors (not the raw weights, which stay the caller's). */
  dispose(): void;
}

/**
 * Computes once what every forward pass would otherwise derive from the weights at each call (the
 * folds of {@link blockFolds}, a dozen small operations per block, each a GPU dispatch on webgpu).
 * For inference: a gradient tape must see the raw weights, so training passes `p` itself. The result
 * is valid as long as the tensors of `p` are; the caller disposes it.
 */
export function foldWeights(config: SimpleIRConfig, p: ParamMap): FoldedWeights {
  const ids: [prefix: string, k?: number][] = [];
  for (let i = 0; i < config.blocks; i++) ids.push([`hab${i}`]);
  for (let k = 0; k < config.iterations; k++) ids.push(['fib', k]);
  const names: string[] = [];
  const tensors = tf.tidy(() =>
    ids.flatMap(([prefix, k]) => {
      const id = blockId(prefix, k);
      return blockFolds(p, prefix, config.width, k).flatMap(([w, b], i) => {
        names.push(`${id}/${FOLD_NAMES[i]}.w`, `${id}/${FOLD_NAMES[i]}.b`);
        return [w, b];
      });
    }),
  );
  // Kept: folding may run inside a caller's tidy (a restore), and must outlive it.
  tensors.forEach((t) => tf.keep(t));
  const params = new Map<string, tf.Tensor>(p);
  names.forEach((n, i) => params.set(n, tensors[i]!));
  return { params, dispose: () => tensors.forEach((t) => t.dispose()) };
}

/**
 * One Hybrid Attention Block: a gated conv branch with channel and spatial attention, then a gated
 * feed-forward, each added back with a learned per-channel scale (times the FIB's alpha_k for
 * iteration `k`). The layer norms' affine maps and the two scales are folded into the neighbouring 1x1
 * convolutions' weights (see {@link blockFolds}), so none of them is a frame-sized operation.
 */
function hybridAttentionBlock(ops: NetOps, p: ParamMap, prefix: string, f: tf.Tensor4D, k?: number): tf.Tensor4D {
  const c = f.shape[3];
  const [pw1a, pw1b, dwa, dwb, pw2, ffn1a, ffn1b, ffn2] = foldedConvs(p, prefix, c, k) as [ConvParams, ConvParams, ConvParams, ConvParams, ConvParams, ConvParams, ConvParams, ConvParams];
  const n1 = normalise(f);
  let t = tf.mul<tf.Tensor4D>(ops.dwconv(ops.conv(n1, ...pw1a), ...dwa), ops.dwconv(ops.conv(n1, ...pw1b), ...dwb));
  // Channel attention from the global average: the whole frame's statistics.
  const pooled = spatialMean(t);
  t = tf.mul(t, convNamed(ops, p, `${prefix}.ca`, pooled));
  // Spatial attention from channel mean and max.
  t = tf.mul(t, convNamed(ops, p, `${prefix}.sa`, channelMeanMax(t), 'sigmoid'));
  let out = tf.add(f, ops.conv(t, ...pw2)) as tf.Tensor4D;
  const n2 = normalise(out);
  // A gate: the two halves multiplied, each computed by its own convolutions rather than split off a
  // tensor twice as wide (splitting a frame-sized tensor on channels is a slow copy on some backends: wasm).
  const u = tf.mul<tf.Tensor4D>(ops.conv(n2, ...ffn1a), ops.conv(n2, ...ffn1b));
  out = tf.add(out, ops.conv(u, ...ffn2));
  return out;
}

/**
 * Low-resolution body: space-to-depth, head conv, N HABs, K iterations of the shared FIB, long skip.
 * `x` is [B, H, W, 3] with H and W multiples of `config.scale`; returns [B, H/s, W/s, C].
 */
export function body(config: SimpleIRConfig, ops: NetOps, p: ParamMap, x: tf.Tensor4D, scoped = false): tf.Tensor4D {
  const f0 = scope(scoped, () => convNamed(ops, p, 'head', ops.spaceToDepth(x, config.scale)));
  let f = f0;
  const step = (next: tf.Tensor4D): void => {
    if (scoped && f !== f0) f.dispose();
    f = next;
  };
  for (let i = 0; i < config.blocks; i++) step(scope(scoped, () => hybridAttentionBlock(ops, p, `hab${i}`, f)));
  for (let k = 0; k < config.iterations; k++) step(scope(scoped, () => hybridAttentionBlock(ops, p, 'fib', f, k)));
  const out = tf.add(f, f0) as tf.Tensor4D;
  if (scoped) {
    if (f !== f0) f.dispose();
    f0.dispose();
  }
  return out;
}

/**
 * Full-resolution stage: the coarse residual from the body plus the Local Detail Attention Module.
 * `x` is [B, H, W, 3], `f` the body output [B, H/s, W/s, C] for the same region. Purely local: an output
 * pixel depends on `f` and `x` within {@link fullResReceptiveRadius} pixels, so it can run in tiles.
 * Returns x + residual + detail, clipped to [0, 1] when `clip` is set.
 */
export function fullResolution(config: SimpleIRConfig, ops: NetOps, p: ParamMap, x: tf.Tensor4D, f: tf.Tensor4D, clip: boolean): tf.Tensor4D {
  const s = config.scale;
  const residual = ops.depthToSpace(convNamed(ops, p, 'tail', f), s);
  const up = ops.depthToSpace(convNamed(ops, p, 'ldam.up', f), s);
  const d = ops.dwconv(convNamed(ops, p, 'ldam.in', x), get(p, 'ldam.dw.w'), get(p, 'ldam.dw.b'));
  const attention = convNamed(ops, p, 'ldam.att', tf.add(up, d), 'sigmoid');
  const detail = convNamed(ops, p, 'ldam.out', tf.add(tf.mul(attention, d), up));
  const y = tf.add(tf.add(x, residual), detail) as tf.Tensor4D;
  return clip ? tf.clipByValue(y, 0, 1) : y;
}

/**
 * The whole network on an input whose sides are multiples of `config.scale`. `scoped` frees
 * intermediates block by block (inference only: it breaks gradients).
 */
export function forward(config: SimpleIRConfig, ops: NetOps, p: ParamMap, x: tf.Tensor4D, clip = true, scoped = false): tf.Tensor4D {
  if (!scoped) return fullResolution(config, ops, p, x, body(config, ops, p, x), clip);
  const f = body(config, ops, p, x, true);
  const y = tf.tidy(() => fullResolution(config, ops, p, x, f, clip));
  f.dispose();
  return y;
}
