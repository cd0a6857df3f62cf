/**
 * The synthetic clips of the temporal experiments (scripts/experiment-temporal.ts, scripts/diagnose-temporal.ts):
 * an `H` x `W` view moving over a held-out photograph (static, slow sub-pixel pan, hand shake, a moving
 * object pasted over the scene, a cut to the next photograph), and the weather put on it.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { rain, snow, type Degradation } from '../src/core/degrade/index.js';
import { Random } from '../src/core/random.js';

export type Motion = 'static' | 'pan' | 'shake' | 'object' | 'cut';
export type Weather = 'rain' | 'snow' | 'clean';
/** `[top, left, height, width]` of the moving object in one frame. */
export type Box = [number, number, number, number];

/** A clip's clean frames, the view's top-left corner in the scene per frame (the true camera position), and for `object` the object's box per frame. */
export interface CleanClip {
  readonly frames: tf.Tensor4D[];
  readonly origins: Array<[number, number]>;
  readonly boxes?: Box[];
}

/** Clip geometry: frame size and length. */
export interface ClipSize {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

/** A photograph resized to cover `width` x `height`, `[1, h, w, 3]`. */
async function load(file: string, width: number, height: number): Promise<tf.Tensor4D> {
  const { data, info } = await sharp(file).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return tf.tensor4d(Float32Array.from(data, (v) => v / 255), [1, info.height, info.width, 3]);
}

/** The `height` x `width` view of `scene` with its top-left corner at (`oy`, `ox`), sub-pixel (bilinear). */
function view(scene: tf.Tensor4D, oy: number, ox: number, height: number, width: number): tf.Tensor4D {
  const [, sh, sw] = scene.shape;
  const box = [oy / (sh - 1), ox / (sw - 1), (oy + height - 1) / (sh - 1), (ox + width - 1) / (sw - 1)];
  return tf.image.cropAndResize(scene, tf.tensor2d([box]), [0], [height, width], 'bilinear') as tf.Tensor4D;
}

/** The clean clip of `motion` over `photos[index]` (`cut` cuts to the next photograph; `object` pastes a part of it). */
export async function cleanClip(photos: readonly string[], index: number, motion: Motion, size: ClipSize): Promise<CleanClip> {
  const { width: W, height: H, frames: N } = size;
  const margin = 48;
  const scene = await load(photos[index]!, W + 2 * margin, H + 2 * margin);
  const second = await load(photos[(index + 1) % photos.length]!, W + 2 * margin, H + 2 * margin);
  const rng = new Random(100 + index);
  const frames: tf.Tensor4D[] = [];
  const origins: Array<[number, number]> = [];
  const boxes: Box[] = [];
  const side = Math.round(H / 3);
  const patch = tf.tidy(() => view(second, margin, margin, H, W).slice([0, 0, 0, 0], [1, side, side, 3]).mul(0.7).add(0.15)) as tf.Tensor4D;
  for (let i = 0; i < N; i++) {
    const o: [number, number] =
      motion === 'pan' ? [margin - 6 + 0.6 * i, margin - 16 + 1.7 * i] : motion === 'shake' ? [margin + rng.uniform(-4, 4), margin + rng.uniform(-4, 4)] : [margin, margin];
    origins.push(o);
    const frame = tf.tidy(() => {
      if (motion === 'cut') return view(i < N / 2 ? scene : second, o[0], o[1], H, W);
      const v = view(scene, o[0], o[1], H, W);
      if (motion !== 'object') return v;
      const top = Math.round(H / 2 - side / 2);
      const left = Math.round(W * 0.1 + 5 * i);
      boxes.push([top, left, side, side]);
      const pad: Array<[number, number]> = [[0, 0], [top, H - top - side], [left, W - left - side], [0, 0]];
      const mask = tf.pad(tf.ones([1, side, side, 1]), pad);
      return tf.add(tf.mul(v, tf.sub(1, mask)), tf.pad(patch, pad)) as tf.Tensor4D;
    });
    frames.push(frame);
  }
  tf.dispose([scene, second, patch]);
  return motion === 'object' ? { frames, origins, boxes } : { frames, origins };
}

/** The animated weather of a clip (none for `clean`). */
export function degradationFor(weather: Weather, seed: number, strength: number): Degradation | undefined {
  if (weather === 'rain') return rain({ seed, strength });
  if (weather === 'snow') return snow({ seed, strength });
  return undefined;
}
