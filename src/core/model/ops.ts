/**
 * The network's primitive operations in interchangeable formulations: native tfjs kernels for
 * inference, and a formulation built from slices, reshapes and matrix products whose gradients run on
 * every backend (tfjs-backend-wasm has no Conv2DBackpropFilter nor depthwise backprop kernels, and tfjs
 * has no gradient for DepthToSpace). All share the reshape + transpose space/depth moves.
 */
import * as tf from '@tensorflow/tfjs';

/** An activation applied to a convolution's output. */
export type ConvActivation = 'sigmoid';

/** `y` passed through `activation` (for formulations that cannot fuse it into the convolution). */
function activate(y: tf.Tensor4D, activation?: ConvActivation): tf.Tensor4D {
  return activation === 'sigmoid' ? tf.sigmoid(y) : y;
}

/** The primitives the SimpleIR forward pass is written in. All convolutions are stride 1, 'same' padding, NHWC. */
export interface NetOps {
  /** Name of the formulation, for reports. */
  readonly name: string;
  /** k x k convolution; `w` is [k, k, cin, cout], `b` is [cout]; then a sigmoid if `activation` says so (fused where the backend can). */
  conv(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, activation?: ConvActivation): tf.Tensor4D;
  /** k x k depthwise convolution; `w` is [k, k, c, 1], `b` is [c]. */
  dwconv(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D;
  /** Space-to-depth by `s` (same channel order as tf.spaceToDepth, NHWC). */
  spaceToDepth(x: tf.Tensor4D, s: number): tf.Tensor4D;
  /** Depth-to-space by `s` (same channel order as tf.depthToSpace, NHWC). */
  depthToSpace(x: tf.Tensor4D, s: number): tf.Tensor4D;
}

/**
 * Space-to-depth as reshape + transpose: differentiable everywhere. The column offset and the channel
 * stay together (sx * c) so that the transpose is 4-D, several times faster than a 5-D one on wasm.
 */
function spaceToDepthByReshape(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (s === 1) return x;
  const t = tf.reshape(x, [b * (h / s), s, w / s, s * c]); // [b*h/s, sy, w/s, sx*c]
  const p = tf.transpose(t, [0, 2, 1, 3]); // [b*h/s, w/s, sy, sx*c]
  return tf.reshape(p, [b, h / s, w / s, s * s * c]);
}

/**
 * Depth-to-space as reshape + transpose: differentiable everywhere, and the fast form on wasm, whose
 * DepthToSpace kernel took 1.1 s where this takes 23 ms (a 270x480x128 input, this VM).
 */
function depthToSpaceByReshape(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [b, h, w, cs] = x.shape;
  if (s === 1) return x;
  const c = cs / (s * s);
  const t = tf.reshape(x, [b * h, w, s, s * c]); // [b*h, w, sy, sx*c]
  const p = tf.transpose(t, [0, 2, 1, 3]); // [b*h, sy, w, sx*c]
  return tf.reshape(p, [b, h * s, w * s, c]);
}

/** The k*k shifted views of a zero-padded input, in (ky, kx) order. */
function shiftedViews(x: tf.Tensor4D, k: number): tf.Tensor4D[] {
  const [b, h, w, c] = x.shape;
  const r = (k - 1) / 2;
  const padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]]);
  const views: tf.Tensor4D[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) views.push(tf.slice(padded, [0, ky, kx, 0], [b, h, w, c]));
  }
  return views;
}

/** Convolution as (im2col by shifted slices) x matMul. */
function convByMatMul(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const [b, h, wd, cin] = x.shape;
  const [k, , , cout] = w.shape;
  const cols = k === 1 ? x : tf.concat(shiftedViews(x, k), 3);
  const flat = tf.reshape(cols, [b * h * wd, k * k * cin]);
  const out = tf.add(tf.matMul(flat, tf.reshape(w, [k * k * cin, cout])), bias);
  return tf.reshape(out, [b, h, wd, cout]);
}

/** Depthwise convolution as a sum of shifted views times per-channel taps. */
function dwconvBySlices(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const [k, , c] = w.shape;
  const taps = tf.reshape(w, [k * k, c]);
  const views = shiftedViews(x, k);
  let acc: tf.Tensor4D = tf.mul(views[0]!, tf.reshape(tf.slice(taps, [0, 0], [1, c]), [c]));
  for (let i = 1; i < views.length; i++) {
    acc = tf.add(acc, tf.mul(views[i]!, tf.reshape(tf.slice(taps, [i, 0], [1, c]), [c])));
  }
  return tf.add(acc, bias);
}

/** All k*k shifted views of `x` as one [N, k*k*c] im2col matrix (forward only: no gradient flows through it). */
function im2col(x: tf.Tensor4D, k: number): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  const cols = k === 1 ? x : tf.concat(shiftedViews(x, k), 3);
  return tf.reshape(cols, [b * h * w, k * k * c]);
}

/**
 * Convolution with native forward kernels and hand-written gradients that use only kernels the wasm
 * backend has: dx is a convolution of dy with the kernel rotated by 180 degrees (in/out swapped), dw is
 * im2col(x)^T x dy, db is the sum of dy.
 */
const convWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, bias, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.conv2d({ x, filter: w, bias, strides: 1, pad: 'same' }),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [k, , cin, cout] = ws.shape;
      const flipped = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(dy, flipped, 1, 'same');
      const n = dy.shape[0] * dy.shape[1] * dy.shape[2];
      const dw = tf.reshape(tf.matMul(im2col(xs, k), tf.reshape(dy, [n, cout]), true, false), [k, k, cin, cout]);
      const db = tf.sum(dy, [0, 1, 2]);
      return [dx, dw, db];
    },
  };
}) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D) => tf.Tensor4D;

/**
 * Depthwise convolution with native forward kernels and hand-written gradients: dx is a depthwise
 * convolution of dy with the taps rotated by 180 degrees, dw[tap] is the sum of view(tap) * dy.
 */
const dwconvWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, bias, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.depthwiseConv2d({ x, filter: w, bias, strides: 1, pad: 'same' }),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [k, , c] = ws.shape;
      const dx = tf.depthwiseConv2d(dy, tf.reverse(ws, [0, 1]) as tf.Tensor4D, 1, 'same');
      const taps = shiftedViews(xs, k).map((view) => tf.sum(tf.mul(view, dy), [0, 1, 2]));
      const dw = tf.reshape(tf.stack(taps), [k, k, c, 1]);
      const db = tf.sum(dy, [0, 1, 2]);
      return [dx, dw, db];
    },
  };
}) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D) => tf.Tensor4D;

/** Native kernels: the inference formulation (fast on every backend, not differentiable on wasm). */
export const nativeOps: NetOps = {
  name: 'native',
  conv: (x, w, b, activation) => tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same', activation: activation ?? 'linear' }),
  dwconv: (x, w, b) => tf.fused.depthwiseConv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' }),
  // tfjs has no SpaceToDepth kernel, and wasm's DepthToSpace is far slower than reshape + transpose.
  spaceToDepth: spaceToDepthByReshape,
  depthToSpace: depthToSpaceByReshape,
};

/**
 * Native convolutions with reshape-based space/depth moves: differentiable on backends that have the
 * convolution backprop kernels (cpu, webgl, webgpu).
 */
export const nativeTrainOps: NetOps = {
  name: 'native-train',
  conv: (x, w, b, activation) => activate(tf.add(tf.conv2d(x, w, 1, 'same'), b), activation),
  dwconv: (x, w, b) => tf.add(tf.depthwiseConv2d(x, w, 1, 'same'), b),
  spaceToDepth: spaceToDepthByReshape,
  depthToSpace: depthToSpaceByReshape,
};

/** Slices + matMul: differentiable on every backend, wasm included. */
export const matmulOps: NetOps = {
  name: 'matmul',
  conv: (x, w, b, activation) => activate(convByMatMul(x, w, b), activation),
  dwconv: dwconvBySlices,
  spaceToDepth: spaceToDepthByReshape,
  depthToSpace: depthToSpaceByReshape,
};

/**
 * Native forward kernels with custom gradients built from kernels every backend has (forward
 * convolutions, matMul, slices): differentiable on wasm, and faster there than {@link matmulOps}.
 */
export const customGradOps: NetOps = {
  name: 'custom-grad',
  conv: (x, w, b, activation) => activate(convWithGrad(x, w, b), activation),
  dwconv: (x, w, b) => dwconvWithGrad(x, w, b),
  spaceToDepth: spaceToDepthByReshape,
  depthToSpace: depthToSpaceByReshape,
};

/** The training formulation whose gradients run on `backend`. */
export function trainingOpsFor(backend: string): NetOps {
  return backend === 'wasm' ? customGradOps : nativeTrainOps;
}
