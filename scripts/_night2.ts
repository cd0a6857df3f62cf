import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { basename } from 'node:path';
import { selectBackend } from '../src/core/backend.js';
import { psnr } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { trainingPhotosOrExit } from '../src/cli/photos.js';
await selectBackend('wasm');
const model = await SimpleIR.load(process.argv[2] ?? 'tiny');
const set = await trainingPhotosOrExit();
const [w, h] = [640, 360];
for (const f of set.val.filter((f) => /EveningGlow|Path|Wood/.test(f))) {
  for (const kernel of ['nearest', 'linear', 'mitchell', 'lanczos3'] as const) {
    const { data } = await sharp(f).rotate().resize({ width: w, height: h, fit: 'cover', kernel }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const c = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, h, w, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
    for (const [name, fn] of [['clean', (x: tf.Tensor4D) => x.clone()], ['night', (x: tf.Tensor4D) => tf.mul(tf.pow(x, 2.2), 0.6)]] as const) {
      const x = tf.tidy(() => fn(c) as tf.Tensor4D);
      const y = model.predict(x);
      console.log(basename(f), kernel, name, psnr(y, x).toFixed(2), tf.mean(x).dataSync()[0]!.toFixed(3), tf.mean(y).dataSync()[0]!.toFixed(3));
      tf.dispose([x, y]);
    }
    c.dispose();
  }
}
