/**
 * FLOP counting from the graph that actually runs: a {@link NetOps} wrapper that records, for every
 * convolution and depthwise convolution it forwards, the FLOPs implied by the real tensor shapes.
 *
 *   const counter = countingOps(nativeOps);
 *   forward(config, counter, model.params, x).dispose();
 *   counter.total({ excludeSpatial1x1: true }) / (h * w)   // compare with flopsPerPixel(config)
 *
 * Counting rule (the one `flopsPerPixel` documents): per output position, 2 * k * k * cin * cout + cout
 * for a convolution and 2 * k * k * c + c for a depthwise convolution (2 per multiply-accumulate plus
 * the bias add).
 */
import type * as tf from '@tensorflow/tfjs';
import type { NetOps } from '../../src/core/model/ops.js';

/** One recorded convolution call. */
export interface ConvCall {
  readonly kind: 'conv' | 'dwconv';
  /** Input shape [B, H, W, Cin]. */
  readonly input: readonly number[];
  /** Filter shape [k, k, Cin, Cout] (depthwise: [k, k, C, 1]). */
  readonly filter: readonly number[];
  /** Output positions B * H * W ('same' padding, stride 1). */
  readonly positions: number;
  /** FLOPs of the whole call. */
  readonly flops: number;
}

/** A {@link NetOps} that counts, plus the record. */
export interface CountingOps extends NetOps {
  readonly calls: ConvCall[];
  /** Sum of FLOPs; `excludeSpatial1x1` leaves out calls whose input is 1x1 spatially (pooled tensors). */
  total(options?: { excludeSpatial1x1?: boolean }): number;
  /** Forgets the record. */
  reset(): void;
}

/** FLOPs of one output position of a k x k convolution from cin to cout channels. */
export function convFlopsPerPosition(k: number, cin: number, cout: number): number {
  return 2 * k * k * cin * cout + cout;
}

/** FLOPs of one output position of a k x k depthwise convolution over c channels. */
export function dwconvFlopsPerPosition(k: number, c: number): number {
  return 2 * k * k * c + c;
}

/** True when the call ran on a 1x1 spatial input (the channel-attention convolutions on pooled tensors). */
export function isSpatial1x1(call: ConvCall): boolean {
  return call.input[1] === 1 && call.input[2] === 1;
}

/** Wraps `base` so that every conv/dwconv call is recorded with its FLOPs, computed from the tensor shapes. */
export function countingOps(base: NetOps): CountingOps {
  const calls: ConvCall[] = [];
  const record = (kind: 'conv' | 'dwconv', x: tf.Tensor4D, w: tf.Tensor4D, y: tf.Tensor4D): void => {
    const [b, h, wd, cin] = x.shape;
    const [k, k2, fin, fout] = w.shape;
    if (k !== k2) throw new Error(`countingOps: non-square kernel ${k}x${k2}`);
    if (fin !== cin) throw new Error(`countingOps: ${kind} filter expects ${fin} input channels, input has ${cin}`);
    const [ob, oh, ow, oc] = y.shape;
    if (ob !== b || oh !== h || ow !== wd) throw new Error(`countingOps: ${kind} changed the spatial shape [${x.shape}] -> [${y.shape}]`);
    const positions = ob * oh * ow;
    let perPosition: number;
    if (kind === 'conv') {
      if (oc !== fout) throw new Error(`countingOps: conv output has ${oc} channels, filter ${fout}`);
      perPosition = convFlopsPerPosition(k, cin, fout);
    } else {
      if (fout !== 1 || oc !== cin) throw new Error(`countingOps: depthwise conv [${w.shape}] on [${x.shape}] -> [${y.shape}]`);
      perPosition = dwconvFlopsPerPosition(k, cin);
    }
    calls.push({ kind, input: [...x.shape], filter: [...w.shape], positions, flops: positions * perPosition });
  };
  return {
    name: `counting(${base.name})`,
    conv(x, w, b, activation) {
      const y = base.conv(x, w, b, activation);
      record('conv', x, w, y);
      return y;
    },
    dwconv(x, w, b) {
      const y = base.dwconv(x, w, b);
      record('dwconv', x, w, y);
      return y;
    },
    spaceToDepth: (x, s) => base.spaceToDepth(x, s),
    depthToSpace: (x, s) => base.depthToSpace(x, s),
    calls,
    total(options = {}) {
      return calls.filter((c) => !(options.excludeSpatial1x1 && isSpatial1x1(c))).reduce((n, c) => n + c.flops, 0);
    },
    reset() {
      calls.length = 0;
    },
  };
}
