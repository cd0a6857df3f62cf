/**
 * Training pairs from a folder of clean photographs (Node): a deterministic pool of random crops per
 * task, degraded on the fly by the task's generator; the trainer's {@link PairSource}.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { createDegradation, type DegradationKind } from '../core/degrade/index.js';
import { SimpleIRError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { PairSource, SampleRef } from '../core/review/trainer.js';
import { checkPhotoFiles } from './photos.js';

/** A decoded photo kept in memory as 8-bit RGB. */
interface Photo {
  readonly name: string;
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Decodes a photo, shrunk (never enlarged) to fit `maxSide`. */
async function decodePhoto(file: string, maxSide: number): Promise<Photo> {
  try {
    const { data, info } = await sharp(file)
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { name: file, data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (e) {
    throw new SimpleIRError('CORRUPT_INPUT', `Cannot decode training photo ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Options of {@link createPhotoPairSource}. */
export interface PhotoPairOptions {
  /** Clean training photographs. */
  readonly files: readonly string[];
  /** Side of the square training crops (default 128). */
  readonly cropSize?: number;
  /** Samples per task in the pool (default 1024). */
  readonly poolSize?: number;
  /** Photos are shrunk to fit this side first, so that degradations have 1080p-like pixel sizes (default 1920). */
  readonly maxSide?: number;
  /** Crops cover `cropSize * zoom` pixels, zoom uniform in this range, then are resized to `cropSize` (default [1, 1.6]). */
  readonly zoomRange?: readonly [number, number];
  /**
   * Share of samples left undegraded (input = target), so the network learns to leave clean content
   * alone (default 0.1).
   */
  readonly cleanFraction?: number;
  /** Strength range of the degradations per task (default [0, 1] for all). */
  readonly strengthRange?: Readonly<Partial<Record<string, readonly [number, number]>>>;
  /** Seed of the pool: the same files and seed give the same recipes (default 1). */
  readonly seed?: number;
}

/** The recipe of one pool sample. */
export interface SampleRecipe {
  /** Index of the photo in `files`. */
  readonly photo: number;
  /** Left edge of the crop in the (shrunk) photo, in pixels. */
  readonly x: number;
  /** Top edge of the crop, in pixels. */
  readonly y: number;
  /** Side of the square crop before it is resized to `cropSize`. */
  readonly side: number;
  /** True when the crop is mirrored left to right. */
  readonly flip: boolean;
  /** Seed of the degradation. */
  readonly seed: number;
  /** Strength of the degradation, in the task's `strengthRange`. */
  readonly strength: number;
  /** True for an undegraded sample (input = target). */
  readonly clean: boolean;
}

const TASK_SALT: Record<string, number> = { rain: 11, snow: 23, lowlight: 37, blur: 53, haze: 71, noise: 89 };

/**
 * Training pairs from photographs, made by {@link createPhotoPairSource}: the trainer's {@link PairSource},
 * with the recipe of each sample. A type only: the class behind it is built from decoded photos.
 */
export type PhotoPairSource = PhotoPairs;

/** Training pairs from photographs; implements the trainer's {@link PairSource}. */
class PhotoPairs implements PairSource {
  readonly poolSize: number;
  readonly cropSize: number;
  private readonly photos: readonly Photo[];
  private readonly options: PhotoPairOptions;

  constructor(photos: readonly Photo[], options: PhotoPairOptions) {
    if (photos.length === 0) throw new SimpleIRError('INVALID_ARGUMENT', 'No training photographs: give a folder with PNG/JPEG/WebP images (or run `npm run fetch-photos`).');
    this.photos = photos;
    this.options = options;
    this.poolSize = options.poolSize ?? 1024;
    this.cropSize = options.cropSize ?? 128;
    const small = photos.filter((p) => Math.min(p.width, p.height) < this.cropSize * 1.6);
    if (small.length === photos.length) {
      throw new SimpleIRError('INVALID_ARGUMENT', `Every photo is smaller than ${Math.ceil(this.cropSize * 1.6)} px on its short side; use larger photos or a smaller crop.`);
    }
  }

  /** The deterministic recipe of a sample. */
  recipe(ref: SampleRef): SampleRecipe {
    const salt = TASK_SALT[ref.task] ?? 97;
    const rng = new Random(((this.options.seed ?? 1) * 1_000_033 + salt * 7_919_993 + ref.index) | 0);
    const [zlo, zhi] = this.options.zoomRange ?? [1, 1.6];
    let photo = rng.int(0, this.photos.length - 1);
    let p = this.photos[photo]!;
    for (let tries = 0; Math.min(p.width, p.height) < this.cropSize * zhi && tries < 32; tries++) {
      photo = rng.int(0, this.photos.length - 1);
      p = this.photos[photo]!;
    }
    const side = Math.min(Math.round(this.cropSize * rng.uniform(zlo, zhi)), p.width, p.height);
    const [slo, shi] = this.options.strengthRange?.[ref.task] ?? [0, 1];
    return {
      photo,
      x: rng.int(0, p.width - side),
      y: rng.int(0, p.height - side),
      side,
      flip: rng.next() < 0.5,
      seed: rng.int(0, 0x7fffffff),
      strength: rng.uniform(slo, shi),
      clean: rng.next() < (this.options.cleanFraction ?? 0.1),
    };
  }

  /** The clean crop of a recipe as [1, S, S, 3] float32. */
  private cleanCrop(r: SampleRecipe): tf.Tensor4D {
    const p = this.photos[r.photo]!;
    const bytes = new Uint8Array(r.side * r.side * 3);
    for (let row = 0; row < r.side; row++) {
      const src = ((r.y + row) * p.width + r.x) * 3;
      bytes.set(p.data.subarray(src, src + r.side * 3), row * r.side * 3);
    }
    return tf.tidy(() => {
      let t = tf.div(tf.cast(tf.tensor4d(bytes, [1, r.side, r.side, 3], 'int32'), 'float32'), 255) as tf.Tensor4D;
      if (r.side !== this.cropSize) t = tf.image.resizeBilinear(t, [this.cropSize, this.cropSize], true);
      if (r.flip) t = tf.reverse(t, 2);
      return t;
    });
  }

  /** Degraded and clean crops of the samples, [B, S, S, 3]. */
  pairs(samples: readonly SampleRef[]): { degraded: tf.Tensor4D; clean: tf.Tensor4D } {
    const cleans: tf.Tensor4D[] = [];
    const degs: tf.Tensor4D[] = [];
    try {
      for (const s of samples) {
        const r = this.recipe(s);
        const clean = this.cleanCrop(r);
        cleans.push(clean);
        if (r.clean) {
          degs.push(tf.clone(clean));
          continue;
        }
        const d = createDegradation(s.task as DegradationKind, { seed: r.seed, strength: r.strength });
        try {
          degs.push(d.apply(clean) as tf.Tensor4D);
        } finally {
          d.dispose();
        }
      }
      return { degraded: tf.concat(degs, 0), clean: tf.concat(cleans, 0) };
    } finally {
      tf.dispose([...cleans, ...degs]);
    }
  }
}

/** Loads the photos and builds a {@link PhotoPairSource}. */
export async function createPhotoPairSource(options: PhotoPairOptions): Promise<PhotoPairSource> {
  checkPhotoFiles('createPhotoPairSource(options)', options);
  const maxSide = options.maxSide ?? 1920;
  const photos: Photo[] = [];
  for (const f of options.files) photos.push(await decodePhoto(f, maxSide));
  return new PhotoPairs(photos, options);
}
