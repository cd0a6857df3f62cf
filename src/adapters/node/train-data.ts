/**
 * Training and validation pairs from a folder of clean photographs (Node): a deterministic pool of
 * random crops per task, degraded on the fly by the task's generator; and a fixed validation split of
 * 1080p frames with their own seeds and strengths at the edges of the training range.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { SimpleIRConfig } from '../../core/config.js';
import { createDegradation, type Degradation, type DegradationKind } from '../../core/degrade/index.js';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../../core/errors.js';
import { highPassPsnr, psnr, ssim } from '../../core/metrics.js';
import type { ParamMap } from '../../core/model/forward.js';
import { predictWith, type PredictOptions } from '../../core/model/simpleir.js';
import { Random } from '../../core/random.js';
import type { PairSource, SampleRef, TaskScore } from '../../core/review/trainer.js';

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
  readonly seed?: number;
}

/** The recipe of one pool sample. */
export interface SampleRecipe {
  readonly photo: number;
  readonly x: number;
  readonly y: number;
  readonly side: number;
  readonly flip: boolean;
  readonly seed: number;
  readonly strength: number;
  /** True for an undegraded sample (input = target). */
  readonly clean: boolean;
}

const TASK_SALT: Record<string, number> = { rain: 11, snow: 23, lowlight: 37, blur: 53, haze: 71, noise: 89 };

/** Training pairs from photographs; implements the trainer's {@link PairSource}. */
export class PhotoPairSource implements PairSource {
  readonly poolSize: number;
  readonly cropSize: number;
  private readonly photos: readonly Photo[];
  private readonly options: PhotoPairOptions;

  constructor(photos: readonly Photo[], options: PhotoPairOptions) {
    if (!Array.isArray(photos)) throw invalidArgument('new PhotoPairSource(photos, options)', 'a list of decoded photos (use createPhotoPairSource({ files }))', photos);
    if (!isOptionsObject(options)) throw invalidArgument('new PhotoPairSource(photos, options)', 'an options object', options);
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

/** Throws `INVALID_ARGUMENT` unless `options.files` is a non-empty list of paths. */
function checkFiles(where: string, options: { files?: unknown } | undefined): void {
  if (!isOptionsObject(options)) throw invalidArgument(where, 'an options object with files: [paths of photographs]', options);
  const files = options!.files;
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'string' || f.length === 0)) {
    throw invalidArgument(`${where}: files`, 'a list of image file paths (e.g. from listImages(dir))', files);
  }
}

/** Loads the photos and builds a {@link PhotoPairSource}. */
export async function createPhotoPairSource(options: PhotoPairOptions): Promise<PhotoPairSource> {
  checkFiles('createPhotoPairSource(options)', options);
  const maxSide = options.maxSide ?? 1920;
  const photos: Photo[] = [];
  for (const f of options.files) photos.push(await decodePhoto(f, maxSide));
  return new PhotoPairSource(photos, options);
}

/** One validation case: a clean frame and its degraded version. */
interface ValidationCase {
  readonly name: string;
  readonly strength: number;
  readonly clean: tf.Tensor4D;
  readonly degraded: tf.Tensor4D;
}

/** Options of {@link createValidationSet}. */
export interface ValidationOptions {
  readonly files: readonly string[];
  readonly tasks: readonly string[];
  /** Frame size (default 1920x1080). Photos are cropped to its aspect ratio and resized. */
  readonly width?: number;
  readonly height?: number;
  /** Seed base, distinct from training seeds (default 9_000_000). */
  readonly seed?: number;
  /**
   * Degradation strengths. Default `'edges'`: each photo at 0 or 1 in turn (the mild and strong edges
   * of the training range). A list degrades every photo at every listed strength.
   */
  readonly strengths?: 'edges' | readonly number[];
  /**
   * Generators of tasks that are not SDK degradation kinds (for example a rain style with its own angles
   * and colours), by task name: called with each case's seed and strength. Kinds not named here use
   * `createDegradation`.
   */
  readonly generators?: Readonly<Record<string, (options: { seed: number; strength: number }) => Degradation>>;
}

/** Options of {@link ValidationSet.evaluate}. */
export interface ValidationScoreOptions {
  /** Also SSIM (default true). */
  readonly ssim?: boolean;
  /** Also the PSNR of the high-pass bands (`highPassPsnr`, default false). */
  readonly highPass?: boolean;
  /** Passed to the network (e.g. `lowLight: 'off'`). */
  readonly predict?: PredictOptions;
}

/** A task's validation figures, with the high-pass PSNR when asked for. */
export interface ValidationScore extends TaskScore {
  /** High-pass PSNR (`highPassPsnr`) of the restored images against the clean ones, dB. */
  readonly psnrHighPass?: number;
  /** High-pass PSNR of the degraded inputs against the clean ones, dB. */
  readonly psnrHighPassDegraded?: number;
}

/** A fixed validation split: per task, every validation photo degraded at a strength of 0 or 1 (alternating). */
export class ValidationSet {
  private constructor(private readonly cases: ReadonlyMap<string, readonly ValidationCase[]>) {}

  /** Builds the set (degradations applied once, kept as tensors). */
  static async create(options: ValidationOptions): Promise<ValidationSet> {
    checkFiles('ValidationSet.create(options)', options);
    if (!Array.isArray(options.tasks) || options.tasks.length === 0) throw invalidArgument('ValidationSet.create(options): tasks', "a list of degradation kinds such as ['rain', 'snow']", options.tasks);
    const width = options.width ?? 1920;
    const height = options.height ?? 1080;
    const cleans: { name: string; t: tf.Tensor4D }[] = [];
    for (const file of options.files) {
      const { data, info } = await sharp(file).rotate().resize({ width, height, fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const t = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, info.height, info.width, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
      cleans.push({ name: file.split('/').pop()!, t });
    }
    const cases = new Map<string, ValidationCase[]>();
    options.tasks.forEach((task, ti) => {
      const list = options.strengths ?? 'edges';
      const plan = cleans.flatMap((c, i) => (list === 'edges' ? [{ c, i, strength: i % 2 === 0 ? 1 : 0 }] : list.map((strength) => ({ c, i, strength }))));
      cases.set(
        task,
        plan.map(({ c, i, strength }) => {
          const seed = (options.seed ?? 9_000_000) + 1000 * ti + i;
          const custom = options.generators?.[task];
          const d = custom ? custom({ seed, strength }) : createDegradation(task as DegradationKind, { seed, strength });
          try {
            return { name: c.name, strength, clean: tf.clone(c.t), degraded: d.apply(c.t) as tf.Tensor4D };
          } finally {
            d.dispose();
          }
        }),
      );
    });
    cleans.forEach((c) => c.t.dispose());
    return new ValidationSet(cases);
  }

  /** Tasks in the set. */
  get tasks(): string[] {
    return [...this.cases.keys()];
  }

  /** Mean PSNR/SSIM per task of the network with these weights, against the degraded inputs' own scores. */
  evaluate(config: SimpleIRConfig, weights: ParamMap, options: ValidationScoreOptions = {}): Record<string, ValidationScore> {
    return this.score(config, weights, options, () => true);
  }

  /** {@link evaluate} split by degradation strength: task -> strength -> score. */
  evaluateByStrength(config: SimpleIRConfig, weights: ParamMap, options: ValidationScoreOptions = {}): Record<string, Record<string, ValidationScore>> {
    const strengths = [...new Set([...this.cases.values()].flatMap((l) => l.map((c) => c.strength)))].sort();
    const out: Record<string, Record<string, ValidationScore>> = {};
    for (const s of strengths) {
      for (const [task, score] of Object.entries(this.score(config, weights, options, (c) => c.strength === s))) {
        (out[task] ??= {})[String(s)] = score;
      }
    }
    return out;
  }

  private score(config: SimpleIRConfig, weights: ParamMap, options: ValidationScoreOptions, keep: (c: ValidationCase) => boolean): Record<string, ValidationScore> {
    const out: Record<string, ValidationScore> = {};
    for (const [task, all] of this.cases) {
      const list = all.filter(keep);
      if (list.length === 0) continue;
      let p = 0;
      let pd = 0;
      let s = 0;
      let sd = 0;
      let h = 0;
      let hd = 0;
      for (const c of list) {
        const y = predictWith(config, weights, c.degraded, options.predict);
        p += psnr(y, c.clean);
        pd += psnr(c.degraded, c.clean);
        if (options.ssim !== false) {
          s += ssim(y, c.clean);
          sd += ssim(c.degraded, c.clean);
        }
        if (options.highPass) {
          h += highPassPsnr(y, c.clean);
          hd += highPassPsnr(c.degraded, c.clean);
        }
        y.dispose();
      }
      const n = list.length;
      out[task] = {
        psnr: p / n,
        psnrDegraded: pd / n,
        ...(options.ssim !== false ? { ssim: s / n, ssimDegraded: sd / n } : {}),
        ...(options.highPass ? { psnrHighPass: h / n, psnrHighPassDegraded: hd / n } : {}),
      };
    }
    return out;
  }

  /** Releases the tensors. */
  dispose(): void {
    for (const list of this.cases.values()) list.forEach((c) => tf.dispose([c.clean, c.degraded]));
  }
}
