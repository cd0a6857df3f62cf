import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { basename } from 'node:path';
import { selectBackend } from '../src/core/backend.js';
import { trainingPhotosOrExit } from '../src/cli/photos.js';
import { ValidationSet } from '../src/training/validation-set.js';

await selectBackend('wasm');
const K = tf.tensor4d([1, -2, 1, -2, 4, -2, 1, -2, 1], [3, 3, 1, 1]);
function stats(x: tf.Tensor4D): string {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const mean = tf.mean(x).dataSync()[0]!;
    const chans = tf.split(x, 3, 3) as tf.Tensor4D[];
    const lap = tf.addN(chans.map((c) => tf.abs(tf.conv2d(c, K as tf.Tensor4D, 1, 'valid')))).div(3) as tf.Tensor4D;
    const scale = Math.sqrt(Math.PI / 2) / 6;
    const whole = tf.mean(lap).dataSync()[0]! * scale;
    const blocks = tf.avgPool(lap, 8, 8, 'valid').reshape([-1]);
    const n = blocks.shape[0]!;
    const sorted = tf.topk(tf.neg(blocks), n).values.neg().dataSync();
    const q = (p: number) => sorted[Math.floor(p * (n - 1))]! * scale * 255;
    return `mean ${mean.toFixed(3)} whole ${(whole * 255).toFixed(2)} q05 ${q(0.05).toFixed(2)} q20 ${q(0.2).toFixed(2)} q50 ${q(0.5).toFixed(2)}`;
  });
}
const set = await trainingPhotosOrExit();
const sizes = (process.argv[2] ?? '960x540').split(',');
for (const size of sizes) {
  const [width, height] = size.split('x').map(Number) as [number, number];
  console.log(`== ${size} identity`);
  for (const file of [...set.val]) {
    const { data } = await sharp(file).rotate().resize({ width, height, fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const photo = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
    const q = (t: tf.Tensor4D) => tf.tidy(() => tf.div(tf.round(tf.mul(t, 255)), 255) as tf.Tensor4D);
    for (const [name, f] of [['clean', (t: tf.Tensor4D) => t.clone()], ['dark', (t: tf.Tensor4D) => tf.mul(t, 0.35)], ['night', (t: tf.Tensor4D) => tf.mul(tf.pow(t, 2.2), 0.6)], ['nightq', (t: tf.Tensor4D) => q(tf.mul(tf.pow(t, 2.2), 0.6) as tf.Tensor4D)]] as const) {
      const x = tf.tidy(() => f(photo) as tf.Tensor4D);
      console.log(basename(file).padEnd(28), name.padEnd(6), stats(x));
      x.dispose();
    }
    photo.dispose();
  }
  if (process.argv[3] === 'cases') {
    const v = await ValidationSet.create({ files: set.val, tasks: ['lowlight', 'blur', 'rain', 'snow'], width, height, strengths: [0, 0.5, 1] });
    for (const t of ['lowlight', 'blur', 'rain', 'snow']) for (const c of v.casesOf(t)) console.log(t.padEnd(9), c.name.padEnd(40), String(c.strength).padEnd(4), stats(c.degraded));
    v.dispose();
  }
}
