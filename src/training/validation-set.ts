/**
 * A fixed validation split that scores networks (Node): per task, 1080p frames made from held-out
 * photographs, degraded with their own seeds at strengths at the edges of the training range; mean
 * PSNR/SSIM of a network's output against the degraded inputs' own scores.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { SimpleIRConfig } from '../core/config.js';
import { createDegradation, type Degradation, type DegradationKind } from '../core/degrade/index.js';
import { invalidArgument } from '../core/errors.js';
import { highPassPsnr, psnr, ssim } from '../core/quality.js';
import type { ParamMap } from '../core/model/forward.js';
import { predictWith, type PredictOptions } from '../core/model/simpleir.js';
import type { TaskScore } from '../core/review/trainer.js';
import { checkPhotoFiles } from './photos.js';

/** One validation case: a clean frame and its degraded version. */
export interface ValidationCase {
  readonly name: string;
  readonly strength: number;
  readonly clean: tf.Tensor4D;
  readonly degraded: tf.Tensor4D;
}

/** Options of {@link ValidationSet.create}. */
export interface ValidationOptions {
  /** Clean photographs held out from training (e.g. `loadPhotoSet().val`). */
  readonly files: readonly string[];
  /** Tasks to score: degradation kinds, or names of {@link ValidationOptions.generators}. */
  readonly tasks: readonly string[];
  /** Frame width (default 1920). Photos are cropped to the frame's aspect ratio and resized. */
  readonly width?: number;
  /** Frame height (default 1080). */
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
    checkPhotoFiles('ValidationSet.create(options)', options);
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

  /** The cases of one task (the set owns their tensors: do not dispose them); empty for a task not in the set. */
  casesOf(task: string): readonly ValidationCase[] {
    return this.cases.get(task) ?? [];
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
