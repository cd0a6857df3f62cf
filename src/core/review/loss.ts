/** Training losses: L1 per sample, plus an optional edge (image-gradient) term that rewards sharp restorations. */
import * as tf from '@tensorflow/tfjs';

/** Weights of the loss terms. */
export interface LossOptions {
  /** Weight of the L1 distance between horizontal/vertical differences of output and target (default 0.5). */
  readonly edgeWeight?: number;
}

/**
 * Per-sample loss of a batch [B, H, W, 3]: mean |pred - target| plus `edgeWeight` times the mean
 * |grad(pred) - grad(target)|. Returns a [B] tensor.
 */
export function perSampleLoss(pred: tf.Tensor4D, target: tf.Tensor4D, options: LossOptions = {}): tf.Tensor1D {
  const edgeWeight = options.edgeWeight ?? 0.5;
  const l1 = tf.mean(tf.abs(tf.sub(pred, target)), [1, 2, 3]);
  if (edgeWeight === 0) return l1 as tf.Tensor1D;
  const [b, h, w, c] = pred.shape;
  const diff = tf.sub(pred, target) as tf.Tensor4D;
  const dx = tf.sub(tf.slice(diff, [0, 0, 1, 0], [b, h, w - 1, c]), tf.slice(diff, [0, 0, 0, 0], [b, h, w - 1, c]));
  const dy = tf.sub(tf.slice(diff, [0, 1, 0, 0], [b, h - 1, w, c]), tf.slice(diff, [0, 0, 0, 0], [b, h - 1, w, c]));
  const edge = tf.add(tf.mean(tf.abs(dx), [1, 2, 3]), tf.mean(tf.abs(dy), [1, 2, 3]));
  return tf.add(l1, tf.mul(edge, edgeWeight)) as tf.Tensor1D;
}
