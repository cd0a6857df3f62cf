/**
 * `npm run quickstart`: the SDK on files the repository ships, offline. From the bundled sample clip
 * (examples/assets/sample-rain.mp4: a still photograph under animated rain) it makes a clean picture
 * (the per-pixel temporal median of every 4th frame: the rain moves, the photograph does not) and a
 * rainy one (the project's own synthetic rain on it), restores the rainy picture and prints PSNR/SSIM
 * of both against the clean one, writes the side-by-side image (rainy | restored), and restores the
 * clip itself into an MP4. No backend is selected here: `SimpleIR.load` chooses one.
 *
 * Options: --out DIR (default out/quickstart)  --frames N (frames of the clip to restore, default all)
 *          --preset tiny|base (default tiny). Needs ffmpeg on the PATH (`apt-get install ffmpeg`).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { lastValueFrom, take, toArray } from 'rxjs';
import { fromFfmpeg } from '../src/adapters/node/ffmpeg-source.js';
import { toFfmpeg } from '../src/adapters/node/ffmpeg-sink.js';
import { writeImage } from '../src/adapters/node/image-file.js';
import { isPresetName } from '../src/core/config.js';
import { createDegradation } from '../src/core/degrade/index.js';
import { psnr, ssim } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { restore } from '../src/streams/restore.js';
import type { NodeFrame } from '../src/streams/frames.js';

/** The clip the quick start runs on (committed; `npm run sample-clip` made it). */
export const SAMPLE_CLIP = 'examples/assets/sample-rain.mp4';
/** The synthetic rain put on the clean picture. */
export const QUICKSTART_RAIN = { seed: 2024, strength: 0.7 } as const;

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: join('out', 'quickstart') },
    frames: { type: 'string' },
    preset: { type: 'string', default: 'tiny' },
  },
});
const frames = args.frames === undefined ? Infinity : Number(args.frames);
if (!(frames >= 1) || (frames !== Infinity && !Number.isInteger(frames))) throw new Error(`--frames must be a whole number of at least 1, got ${args.frames}`);
if (!isPresetName(args.preset)) throw new Error(`--preset must be tiny or base, got ${args.preset}`);
const outDir = args.out;

/** Per-pixel median of `frames` (all the same size): the still background under moving rain. */
function temporalMedian(clip: readonly NodeFrame[]): Uint8Array {
  const n = clip[0]!.data.length;
  const out = new Uint8Array(n);
  const values = new Uint8Array(clip.length);
  const mid = clip.length >> 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < clip.length; j++) values[j] = clip[j]!.data[i]!;
    values.sort();
    out[i] = clip.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]! + 1) >> 1;
  }
  return out;
}

/** Bytes [H, W, 3] to a float tensor in [0, 1]. */
function toTensor(data: Uint8Array, width: number, height: number): tf.Tensor3D {
  return tf.tidy(() => tf.div(tf.cast(tf.tensor3d(Int32Array.from(data), [height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
}

/** A float tensor in [0, 1] to bytes. */
async function toBytes(t: tf.Tensor3D): Promise<Uint8Array> {
  const q = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(t, 0, 1), 255)), 'int32'));
  const bytes = Uint8Array.from(await q.data());
  q.dispose();
  return bytes;
}

/** `left` and `right` (same size, RGB) next to each other. */
function sideBySide(left: Uint8Array, right: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * 2 * height * 3);
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    out.set(left.subarray(y * row, (y + 1) * row), y * 2 * row);
    out.set(right.subarray(y * row, (y + 1) * row), y * 2 * row + row);
  }
  return out;
}

const model = await SimpleIR.load(args.preset);
await mkdir(outDir, { recursive: true });
const decoded = await lastValueFrom(fromFfmpeg(SAMPLE_CLIP).pipe(toArray()));
const { width, height } = decoded[0]!;
const cleanBytes = temporalMedian(decoded.filter((_, i) => i % 4 === 0));
const clean = toTensor(cleanBytes, width, height);
const rain = createDegradation('rain', QUICKSTART_RAIN);
const rainy = rain.apply(clean) as tf.Tensor3D;
rain.dispose();
const t0 = performance.now();
const restored = await model.restore(rainy);
const seconds = (performance.now() - t0) / 1000;
const [rainyBytes, restoredBytes] = [await toBytes(rainy), await toBytes(restored)];
await writeImage(join(outDir, 'clean.png'), { data: cleanBytes, width, height, channels: 3 });
await writeImage(join(outDir, 'rainy.png'), { data: rainyBytes, width, height, channels: 3 });
await writeImage(join(outDir, `restored-${args.preset}.png`), { data: restoredBytes, width, height, channels: 3 });
await writeImage(join(outDir, 'side-by-side.png'), { data: sideBySide(rainyBytes, restoredBytes, width, height), width: width * 2, height, channels: 3 });
const rows = [
  ['image', 'PSNR dB', 'SSIM', 'seconds'],
  ['rainy input', psnr(rainy, clean).toFixed(2), ssim(rainy, clean).toFixed(3), '-'],
  [`restored (${args.preset})`, psnr(restored, clean).toFixed(2), ssim(restored, clean).toFixed(3), seconds.toFixed(2)],
];
tf.dispose([clean, rainy, restored]);

const t1 = performance.now();
const summary = await lastValueFrom(fromFfmpeg(SAMPLE_CLIP).pipe(take(Math.min(frames, decoded.length)), restore(model), toFfmpeg(join(outDir, 'restored.mp4'))));
const clipSeconds = (performance.now() - t1) / 1000;
model.dispose();

console.log(
  `\nClean picture: the temporal median of ${SAMPLE_CLIP} (${width}x${height}); rainy: synthetic rain on it ` +
    `(seed ${QUICKSTART_RAIN.seed}, strength ${QUICKSTART_RAIN.strength}); backend ${tf.getBackend()} (chosen by SimpleIR.load):\n`,
);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
console.log(`\nrestored ${summary.frames} frames of the clip in ${clipSeconds.toFixed(1)} s -> ${join(outDir, 'restored.mp4')}`);
console.log(`images in ${outDir}/: side-by-side.png (rainy | restored), clean.png, rainy.png, restored-${args.preset}.png`);
