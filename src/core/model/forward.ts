/**
 * The SimpleIR forward pass, written once over {@link NetOps} so that inference (native kernels) and
 * training (differentiable formulations) share it. Split in two stages: the low-resolution body, which
 * holds every global statistic, and the full-resolution stage, which is local and can run in tiles.
 */
import * as tf from '@tensorflow/tfjs';
import type { SimpleIRConfig } from '../config.js';
import type { NetOps } from './ops.js';

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

function convNamed(ops: NetOps, p: ParamMap, name: string, x: tf.Tensor4D): tf.Tensor4D {
  return ops.conv(x, get<tf.Tensor4D>(p, `${name}.w`), get<tf.Tensor1D>(p, `${name}.b`));
}

/** Layer normalisation over channels, per pixel, with a per-channel affine map. */
function layerNorm(p: ParamMap, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6)));
  return tf.add(tf.mul(normed, get(p, `${name}.g`)), get(p, `${name}.b`));
}

/** Splits channels in two halves and multiplies them. */
function gate(x: tf.Tensor4D): tf.Tensor4D {
  const [a, b] = tf.split(x, 2, 3);
  return tf.mul(a!, b!);
}

/**
 * One Hybrid Attention Block: a gated conv branch with channel and spatial attention, then a gated
 * feed-forward, each added back with a learned per-channel scale (times `scale`, the FIB's alpha_k).
 */
function hybridAttentionBlock(ops: NetOps, p: ParamMap, prefix: string, f: tf.Tensor4D, scale?: tf.Tensor): tf.Tensor4D {
  let t = layerNorm(p, `${prefix}.ln1`, f);
  t = convNamed(ops, p, `${prefix}.pw1`, t);
  t = ops.dwconv(t, get(p, `${prefix}.dw.w`), get(p, `${prefix}.dw.b`));
  t = gate(t);
  // Channel attention from the global average: the whole frame's statistics.
  const pooled = tf.mean(t, [1, 2], true) as tf.Tensor4D;
  t = tf.mul(t, convNamed(ops, p, `${prefix}.ca`, pooled));
  // Spatial attention from channel mean and max.
  const stats = tf.concat([tf.mean(t, 3, true), tf.max(t, 3, true)], 3) as tf.Tensor4D;
  t = tf.mul(t, tf.sigmoid(convNamed(ops, p, `${prefix}.sa`, stats)));
  let beta: tf.Tensor = get(p, `${prefix}.beta`);
  let gamma: tf.Tensor = get(p, `${prefix}.gamma`);
  if (scale) {
    beta = tf.mul(beta, scale);
    gamma = tf.mul(gamma, scale);
  }
  let out = tf.add(f, tf.mul(convNamed(ops, p, `${prefix}.pw2`, t), beta)) as tf.Tensor4D;
  let u = convNamed(ops, p, `${prefix}.ffn1`, layerNorm(p, `${prefix}.ln2`, out));
  u = convNamed(ops, p, `${prefix}.ffn2`, gate(u));
  out = tf.add(out, tf.mul(u, gamma));
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
  if (config.iterations > 0) {
    const alpha = get<tf.Tensor2D>(p, 'fib.alpha');
    for (let k = 0; k < config.iterations; k++) {
      step(scope(scoped, () => hybridAttentionBlock(ops, p, 'fib', f, tf.reshape(tf.slice(alpha, [k, 0], [1, config.width]), [config.width]))));
    }
  }
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
  const attention = tf.sigmoid(convNamed(ops, p, 'ldam.att', tf.add(up, d)));
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
