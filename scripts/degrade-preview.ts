/** Renders every degradation (or some) on a photo or the synthetic scene into PNGs, to judge realism by eye. */
// Usage: node --import tsx scripts/degrade-preview.ts [--input photo.jpg] [--size 960x540] [--kinds rain,snow]
//          [--strengths 0,0.5,1] [--seeds 1] [--times 0,0.1] [--crop 256] [--out .scratch/preview] [--backend wasm]
// Writes clean.png, KIND-seedN-sSTRENGTH-tTIME.png (and -crop.png: a centre crop at 100%), and sheet.png: every
// result side by side (rows: kinds; columns: seeds x strengths x times), halved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { DEGRADATION_KINDS, createDegradation, syntheticScene, type DegradationKind } from '../src/core/degrade/index.js';
import { psnr, ssim } from '../src/core/quality.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    size: { type: 'string', default: '960x540' },
    kinds: { type: 'string', default: DEGRADATION_KINDS.join(',') },
    strengths: { type: 'string', default: '0,0.5,1' },
    seeds: { type: 'string', default: '1' },
    times: { type: 'string', default: '0' },
    crop: { type: 'string', default: '0' },
    out: { type: 'string', default: '.scratch/preview' },
    backend: { type: 'string', default: 'wasm' },
  },
});

async function loadImage(file: string, width: number, height: number): Promise<tf.Tensor3D> {
  const { data, info } = await sharp(file).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return tf.tidy(() => tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32').toFloat().div(255) as tf.Tensor3D);
}

async function savePng(img: tf.Tensor3D, file: string): Promise<void> {
  const bytes = tf.tidy(() => img.mul(255).round().clipByValue(0, 255).toInt());
  const data = Uint8Array.from(await bytes.data());
  bytes.dispose();
  const [h, w] = img.shape;
  await sharp(Buffer.from(data), { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

async function main(): Promise<void> {
  await tf.setBackend(values.backend ?? 'wasm');
  const [w, h] = (values.size ?? '960x540').split('x').map(Number) as [number, number];
  const clean = values.input ? await loadImage(values.input, w, h) : syntheticScene(h, w, 7);
  const out = values.out ?? '.scratch/preview';
  fs.mkdirSync(out, { recursive: true });
  await savePng(clean, path.join(out, 'clean.png'));
  const crop = Number(values.crop);
  const kinds = (values.kinds ?? '').split(',') as DegradationKind[];
  const strengths = (values.strengths ?? '0.5').split(',').map(Number);
  const times = (values.times ?? '0').split(',').map(Number);
  const seeds = (values.seeds ?? '1').split(',').map(Number);
  const tiles: tf.Tensor3D[] = [];
  for (const kind of kinds) {
    for (const [seed, strength] of seeds.flatMap((sd) => strengths.map((st) => [sd, st] as const))) {
      const d = createDegradation(kind, { seed, strength });
      for (const time of times) {
        const t0 = performance.now();
        const degraded = d.apply(clean, { time }) as tf.Tensor3D;
        await degraded.data();
        const ms = performance.now() - t0;
        const name = `${kind}-seed${seed}-s${strength}-t${time}`;
        await savePng(degraded, path.join(out, `${name}.png`));
        if (crop > 0) {
          const piece = degraded.slice([Math.floor((h - crop) / 2), Math.floor((w - crop) / 2), 0], [crop, crop, 3]);
          await savePng(piece, path.join(out, `${name}-crop.png`));
          piece.dispose();
        }
        tiles.push(tf.tidy(() => tf.image.resizeBilinear(degraded, [Math.round(h / 2), Math.round(w / 2)]) as tf.Tensor3D));
        console.log(`${name}: PSNR ${psnr(clean, degraded).toFixed(2)} dB, SSIM ${ssim(clean, degraded).toFixed(3)}, ${ms.toFixed(0)} ms`);
        degraded.dispose();
      }
      console.log(`  params ${JSON.stringify(d.params)}`);
      d.dispose();
    }
  }
  const perRow = seeds.length * strengths.length * times.length;
  const rows = kinds.map((_, i) => tf.concat(tiles.slice(i * perRow, (i + 1) * perRow), 1));
  const sheet = tf.concat(rows, 0) as tf.Tensor3D;
  await savePng(sheet, path.join(out, 'sheet.png'));
  for (const t of [...tiles, ...rows, sheet, clean]) t.dispose();
}

await main();
