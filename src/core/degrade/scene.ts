/** A seeded synthetic "photograph" (sky, textured ground, lit shapes) for tests, previews and benchmarks without image files. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import { smoothField } from './fields.js';

/**
 * A natural-looking test image [H,W,3] in [0,1]: a sky gradient, a textured ground with a wavy horizon,
 * a few soft-edged discs and boxes, and fine texture at several scales. Same seed, same image.
 */
export function syntheticScene(height: number, width: number, seed = 1): tf.Tensor3D {
  const rng = new Random(seed);
  return tf.tidy(() => {
    const ys = tf.linspace(0, 1, height).reshape([height, 1, 1]);
    const xs = tf.linspace(0, width / height, width).reshape([1, width, 1]);
    const sky = tf.add(tf.tensor1d([0.35, 0.55, 0.85]), tf.mul(ys, tf.tensor1d([0.45, 0.3, 0.1])));
    const coarse = smoothField(1, height, width, 80, rng.int(1, 1e9)).reshape([height, width, 1]);
    const medium = smoothField(1, height, width, 12, rng.int(1, 1e9)).reshape([height, width, 1]);
    const fine = smoothField(1, height, width, 1.2, rng.int(1, 1e9)).reshape([height, width, 1]);
    const ground = tf.mul(
      tf.tensor1d([0.32, 0.4, 0.18]).mul(rng.uniform(0.8, 1.2)),
      tf.add(0.4, tf.add(tf.mul(coarse, 0.6), tf.add(tf.mul(medium, 0.5), tf.mul(fine, 0.5)))),
    );
    const horizon = tf.add(rng.uniform(0.45, 0.6), tf.mul(tf.sub(coarse, 0.5), 0.3));
    const groundMask = tf.sigmoid(tf.mul(tf.sub(ys, horizon), height / 3));
    let img: tf.Tensor = tf.add(tf.mul(sky, tf.sub(1, groundMask)), tf.mul(ground, groundMask));
    for (let i = 0; i < 7; i++) {
      const cx = rng.uniform(0, width / height);
      const cy = rng.uniform(0.1, 0.95);
      const r = rng.uniform(0.04, 0.18);
      const color = tf.tensor1d([rng.uniform(0.1, 1), rng.uniform(0.1, 1), rng.uniform(0.05, 0.9)]);
      const dx = tf.sub(xs, cx);
      const dy = tf.sub(ys, cy);
      const dist = rng.next() < 0.5 ? tf.sqrt(tf.add(tf.square(dx), tf.square(dy))) : tf.maximum(tf.abs(dx), tf.abs(dy));
      const mask = tf.sigmoid(tf.mul(tf.sub(r, dist), height * 1.5));
      const shaded = tf.mul(color, tf.add(0.75, tf.mul(tf.sub(medium, 0.5), 0.8)));
      img = tf.add(tf.mul(img, tf.sub(1, mask)), tf.mul(shaded, mask));
    }
    return tf.clipByValue(img, 0, 1) as tf.Tensor3D;
  });
}
