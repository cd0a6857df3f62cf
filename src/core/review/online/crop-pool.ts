/**
 * The online learner's crop pools: crops waiting for their visits (fresh crops of the current domain,
 * or synthesised crops of earlier domains), and the random crops they are cut as.
 */
import * as tf from '@tensorflow/tfjs';
import type { Degradation } from '../../degrade/index.js';
import { SimpleIRError } from '../../errors.js';
import type { Random } from '../../random.js';

/** A crop waiting to be trained on. */
export interface PoolCrop {
  readonly id: string;
  /** Domain of the crop (the current domain for fresh crops, an earlier one for synthesised review crops). */
  readonly domain?: string;
  readonly degraded: tf.Tensor4D;
  readonly clean: tf.Tensor4D;
  visits: number;
}

/** Crops that each wait for `visitsPerCrop` visits, at most `target` of them; the pool owns their tensors. */
export class CropPool {
  private crops: PoolCrop[] = [];

  constructor(
    /** Most crops kept. */
    readonly target: number,
    private readonly visitsPerCrop: number,
  ) {}

  /** Adds a crop (the pool takes its tensors), then bounds the pool: crops not trained on yet leave first (oldest first), so that scoring crops finish their visits. */
  add(crop: PoolCrop): void {
    this.crops.push(crop);
    while (this.crops.length > this.target) {
      const i = Math.max(0, this.crops.findIndex((c) => c.visits === 0));
      const [old] = this.crops.splice(i, 1);
      tf.dispose([old!.degraded, old!.clean]);
    }
  }

  /** Adds each pair of a [N, H, W, 3] batch as a crop of its own named by `id()` (copies: the caller keeps the batch). */
  addBatch(degraded: tf.Tensor4D, clean: tf.Tensor4D, id: () => string): void {
    const [n, h, w] = degraded.shape;
    for (let i = 0; i < n; i++) {
      const d = tf.keep(tf.slice(degraded, [i, 0, 0, 0], [1, h, w, 3]));
      const c = tf.keep(tf.slice(clean, [i, 0, 0, 0], [1, h, w, 3]));
      this.add({ id: id(), degraded: d, clean: c, visits: 0 });
    }
  }

  /** Adds `clean` crops ([N, H, W, 3], released here) degraded by `degrade` at `time` seconds, each as a crop of its own. */
  addDegradedCrops(clean: tf.Tensor4D, degrade: Degradation, time: number, id: () => string): void {
    try {
      const degraded = degrade.apply(clean, { time }) as tf.Tensor4D;
      try {
        this.addBatch(degraded, clean, id);
      } finally {
        degraded.dispose();
      }
    } finally {
      clean.dispose();
    }
  }

  /** Adds one crop of a pair of same-size [1, H, W, 3] images (not disposed), cut from both at once by `cut`. */
  addPairCrop(degraded: tf.Tensor4D, clean: tf.Tensor4D, cut: (both: tf.Tensor4D) => tf.Tensor4D, id: () => string): void {
    const both = tf.concat([degraded, clean], 3) as tf.Tensor4D;
    try {
      const crop = cut(both);
      const [d, c] = tf.split(crop, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      crop.dispose();
      this.addBatch(d, c, id);
      tf.dispose([d, c]);
    } finally {
      both.dispose();
    }
  }

  /** The crops still to be visited (the pool keeps owning them). */
  unfinished(): PoolCrop[] {
    return this.crops.filter((c) => c.visits < this.visitsPerCrop);
  }

  /** Takes the crops that finished their visits out of the pool; the caller owns their tensors then. */
  takeFinished(): PoolCrop[] {
    const done = this.crops.filter((c) => c.visits >= this.visitsPerCrop);
    this.crops = this.crops.filter((c) => c.visits < this.visitsPerCrop);
    return done;
  }

  /** Releases every crop. */
  clear(): void {
    this.crops.forEach((c) => tf.dispose([c.degraded, c.clean]));
    this.crops = [];
  }
}

/**
 * `count` random crops, [count, side, side, C], of a [1, H, W, C] image: `side` is `cropSize`, or the
 * largest that fits, rounded down to a multiple of `scale`; positions are drawn from `rng`.
 * @throws SimpleIRError `INVALID_IMAGE` when the image is smaller than `scale`.
 */
export function randomCrops(frame: tf.Tensor4D, count: number, cropSize: number, scale: number, rng: Random): tf.Tensor4D {
  const [, h, w, ch] = frame.shape;
  const side = Math.floor(Math.min(cropSize, h, w) / scale) * scale;
  if (side < scale) throw new SimpleIRError('INVALID_IMAGE', `A ${w}x${h} frame is too small to crop for learning (needs ${scale}x${scale}).`);
  return tf.tidy(() => {
    const crops = Array.from({ length: count }, () => tf.slice(frame, [0, rng.int(0, h - side), rng.int(0, w - side), 0], [1, side, side, ch]));
    return count === 1 ? crops[0]! : (tf.concat(crops, 0) as tf.Tensor4D);
  });
}
