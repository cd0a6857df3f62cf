/**
 * `npm run sample-clip`: the recipe of the demos' bundled sample clip. A permissively licensed photograph
 * of the fetched set (scikit-image's `coffee`, a cup of coffee on a wooden table, CC0 by Rachel Michetti;
 * see examples/assets/README.md) is cut to 640x360 (its top part: the whole cup), animated synthetic rain
 * from the project's own generator falls over it for 4 s at 24 fps, the frames go to a y4m file, and ffmpeg
 * encodes them as H.264 (yuv420p) with a quiet pink-noise "rain" soundtrack, at the CRF that lands nearest
 * 1 MB.
 *
 * Writes `examples/assets/sample-rain.mp4` (committed) and `examples/assets/sample-clean.jpg` (the clean
 * cut, the detection example's clean reference; not committed, made from the fetched photograph on demand
 * with `--clean-only`). Usage: `npm run sample-clip [-- --photo coffee --position top --seed 11 --strength 0.6]`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { rain, snow } from '../src/core/degrade/index.js';
import { createY4mWriter, rgbToYuv420 } from '../src/adapters/node/y4m.js';
import { loadPhotoSet } from '../src/training/photos.js';

const run = promisify(execFile);

/** What the clip is made of; every field has a command-line flag of the same name. */
export interface SampleClipRecipe {
  /**
   * Name of a photograph of the fetched set, training or validation (default `coffee`: CC0, so the clip may
   * be shipped under the repository's licence; the other photographs are mostly GPL-2+).
   */
  photo: string;
  /** `rain` or `snow` (default `rain`). */
  kind: 'rain' | 'snow';
  /** Seed of the degradation (default 11). */
  seed: number;
  /** Severity in [0, 1] (default 0.6). */
  strength: number;
  /** Frame size (default 640x360); the photo is resized to cover it and cropped at `position`. */
  width: number;
  height: number;
  /**
   * Which part of the resized photo the crop keeps, as sharp's `position` (default `top`: the whole cup of
   * `coffee`, which the detection example's CenterNet then finds; centred, the rim is cut and it barely does).
   */
  position: string;
  /** Frames per second (default 24). */
  fps: number;
  /** Length of the clip (default 4). */
  seconds: number;
  /** Target size of the MP4 in bytes (default 1 MB). */
  targetBytes: number;
  /** Output folder (default `examples/assets`). */
  out: string;
}

const DEFAULTS: SampleClipRecipe = {
  photo: 'coffee',
  kind: 'rain',
  seed: 11,
  strength: 0.6,
  width: 640,
  height: 360,
  position: 'top',
  fps: 24,
  seconds: 4,
  targetBytes: 1_000_000,
  out: 'examples/assets',
};

function parseArgs(argv: readonly string[]): SampleClipRecipe {
  const recipe: SampleClipRecipe = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (!flag.startsWith('--') || value === undefined) throw new Error(`usage: make-sample-clip [--photo NAME] [--position top|centre|bottom|...] [--kind rain|snow] [--seed N] [--strength S] [--fps N] [--seconds N] [--out DIR]; got ${flag}`);
    const key = flag.slice(2) as keyof SampleClipRecipe;
    if (!(key in DEFAULTS)) throw new Error(`unknown option ${flag}`);
    (recipe as unknown as Record<string, string | number>)[key] = typeof DEFAULTS[key] === 'number' ? Number(value) : value;
  }
  if (recipe.kind !== 'rain' && recipe.kind !== 'snow') throw new Error(`--kind must be rain or snow, got ${String(recipe.kind)}`);
  return recipe;
}

/** The clean cut of the photograph, RGB bytes of `width` x `height` (resized to cover, cropped at `position`). */
async function cleanFrame(file: string, width: number, height: number, position: string): Promise<Uint8Array> {
  const { data } = await sharp(file).rotate().resize({ width, height, fit: 'cover', position }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Writes the degraded frames to `y4mPath`; returns the frame count. */
async function writeFrames(recipe: SampleClipRecipe, clean: Uint8Array, y4mPath: string): Promise<number> {
  const { width, height, fps } = recipe;
  const frames = Math.round(recipe.seconds * fps);
  const degradation = (recipe.kind === 'rain' ? rain : snow)({ seed: recipe.seed, strength: recipe.strength });
  const cleanT = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(clean, [height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
  const writer = createY4mWriter(y4mPath, { width, height, fps: { num: fps, den: 1 }, range: 'limited' });
  try {
    for (let i = 0; i < frames; i++) {
      const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(degradation.apply(cleanT, { time: i / fps }), 255)), 'int32'));
      const rgb = Uint8Array.from(await bytes.data());
      bytes.dispose();
      await writer.write(rgbToYuv420({ data: rgb, width, height, channels: 3 }, { matrix: 'bt601', range: 'limited' }));
    }
  } finally {
    await writer.close();
    degradation.dispose();
    cleanT.dispose();
  }
  return frames;
}

/** Encodes `y4mPath` at `crf` with the noise soundtrack into `mp4Path`; returns its size in bytes. */
async function encode(y4mPath: string, mp4Path: string, crf: number, seconds: number): Promise<number> {
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-i', y4mPath,
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.06:sample_rate=44100:seed=7:duration=${seconds},lowpass=f=2500,afade=t=in:d=0.3,afade=t=out:st=${seconds - 0.3}:d=0.3`,
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'slow', '-crf', String(crf), '-pix_fmt', 'yuv420p',
    '-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m', '-color_range', 'tv',
    '-c:a', 'aac', '-b:a', '48k', '-ac', '1',
    '-shortest', '-movflags', '+faststart', mp4Path,
  ]);
  return (await stat(mp4Path)).size;
}

/** The CRF (18..40) whose file is nearest `target` bytes, by bisection (size falls as CRF rises). */
async function encodeNear(y4mPath: string, mp4Path: string, target: number, seconds: number): Promise<{ crf: number; bytes: number }> {
  let lo = 18;
  let hi = 40;
  const sizes = new Map<number, number>();
  const size = async (crf: number): Promise<number> => {
    if (!sizes.has(crf)) sizes.set(crf, await encode(y4mPath, mp4Path, crf, seconds));
    return sizes.get(crf)!;
  };
  while (hi - lo > 1) {
    const mid = Math.round((lo + hi) / 2);
    if ((await size(mid)) > target) lo = mid;
    else hi = mid;
  }
  const best = [lo, hi].reduce((a, b) => (Math.abs((sizes.get(a) ?? Infinity) - target) <= Math.abs((sizes.get(b) ?? Infinity) - target) ? a : b));
  return { crf: best, bytes: await encode(y4mPath, mp4Path, best, seconds) };
}

async function main(): Promise<void> {
  const cleanOnly = process.argv.includes('--clean-only');
  const recipe = parseArgs(process.argv.slice(2).filter((a) => a !== '--clean-only'));
  if (!existsSync('.cache/photos/manifest.json')) {
    console.log('fetching the photographs from Debian (node scripts/fetch-photos.mjs)...');
    await run(process.execPath, ['scripts/fetch-photos.mjs']);
  }
  await selectBackend('wasm');
  const set = await loadPhotoSet();
  const entry = set.photos.find((p) => p.name === recipe.photo);
  if (!entry) throw new Error(`no photo named ${recipe.photo}; have ${set.photos.map((p) => p.name).join(', ')}`);
  const file = entry.file;
  const out = resolve(recipe.out);
  await mkdir(out, { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), 'simpleir-sample-'));
  try {
    const clean = await cleanFrame(file, recipe.width, recipe.height, recipe.position);
    await sharp(clean, { raw: { width: recipe.width, height: recipe.height, channels: 3 } }).jpeg({ quality: 90, mozjpeg: true }).toFile(join(out, 'sample-clean.jpg'));
    if (cleanOnly) {
      console.log(`${join(out, 'sample-clean.jpg')}: the clean ${recipe.width}x${recipe.height} cut of ${basename(file)} (${entry.licence ?? 'licence not in the manifest'})`);
      return;
    }
    const y4m = join(tmp, 'clip.y4m');
    const frames = await writeFrames(recipe, clean, y4m);
    const mp4 = join(out, `sample-${recipe.kind}.mp4`);
    const { crf, bytes } = await encodeNear(y4m, mp4, recipe.targetBytes, recipe.seconds);
    console.log(`${mp4}: ${frames} frames ${recipe.width}x${recipe.height} at ${recipe.fps} fps, ${recipe.kind} seed ${recipe.seed} strength ${recipe.strength} over ${basename(file)} (${entry.licence ?? 'licence not in the manifest'}); H.264 CRF ${crf}, ${(bytes / 1e6).toFixed(2)} MB`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
