/**
 * The quick start's main job: fetch the free photographs if needed, put synthetic rain on a held-out
 * one at 1280x720, restore it with each shipped preset, write the images and print PSNR/SSIM.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { createDegradation } from '../src/core/degrade/index.js';
import { psnr, ssim } from '../src/core/metrics.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { loadPhotoSet } from '../src/adapters/node/photos.js';
import { writeImage } from '../src/adapters/node/image-file.js';

const outDir = join('out', 'quickstart');
if (!existsSync('.cache/photos/manifest.json')) {
  console.log('fetching the photographs (Debian packages, a few seconds)...');
  execFileSync(process.execPath, ['scripts/fetch-photos.mjs'], { stdio: 'inherit' });
}
await selectBackend('wasm');
const set = await loadPhotoSet();
const file = set.val.find((f) => f.includes('Path')) ?? set.val[0]!;
const { data, info } = await sharp(file).resize({ width: 1280, height: 720, fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const clean = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
const rain = createDegradation('rain', { seed: 2024, strength: 0.7 });
const rainy = rain.apply(clean) as tf.Tensor3D;
rain.dispose();
await mkdir(outDir, { recursive: true });
const save = async (name: string, t: tf.Tensor3D): Promise<void> => {
  const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(t, 0, 1), 255)), 'int32'));
  await writeImage(join(outDir, name), { data: Uint8Array.from(await bytes.data()), width: info.width, height: info.height, channels: 3 });
  bytes.dispose();
};
await save('clean.png', clean);
await save('rainy.png', rainy);
const rows: string[][] = [['image', 'PSNR dB', 'SSIM', 'seconds']];
rows.push(['rainy input', psnr(rainy, clean).toFixed(2), ssim(rainy, clean).toFixed(3), '-']);
let restored = 0;
for (const preset of ['tiny', 'base'] as const) {
  let model: SimpleIR;
  try {
    model = await SimpleIR.load(preset);
  } catch (e) {
    if ((e as { code?: string }).code !== 'WEIGHTS_NOT_FOUND') throw e;
    rows.push([`restored (${preset})`, 'not shipped yet', '', '']);
    continue;
  }
  const t0 = performance.now();
  const y = await model.restore(rainy);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  rows.push([`restored (${preset})`, psnr(y, clean).toFixed(2), ssim(y, clean).toFixed(3), secs]);
  await save(`restored-${preset}.png`, y);
  y.dispose();
  model.dispose();
  restored++;
}
console.log(`\n${file.split('/').pop()} at ${info.width}x${info.height} with synthetic rain (seed 2024, strength 0.7), backend ${tf.getBackend()}:\n`);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
console.log(`\nimages in ${outDir}/`);
if (restored === 0) process.exitCode = 1;
