/**
 * Browser entry of backpressure.test.ts: an MP4 (served by the test) through fromMp4 -> map -> filter
 * -> tap -> restore with a slow identity predictor, counting how far decoding runs ahead of the output,
 * and reading each output's pixels back to compare with the same frame decoded plainly.
 */
import * as tf from '@tensorflow/tfjs';
import { filter, lastValueFrom, map, tap, toArray } from 'rxjs';
import { fromMp4, restore, selectBackend, type FramePredictor } from '../../../src/browser';
import { decodedCount, leaks, resetTracking, type Leaks } from './media-tracking';

export interface OperatorsResult {
  /** Frames the source emitted. */
  readonly emitted: number;
  /** The most frames emitted by the source and neither filtered out nor restored yet. */
  readonly maxAhead: number;
  /** The most frames decoded (decoder outputs) and neither filtered out nor restored yet. */
  readonly maxDecodedAhead: number;
  /** Timestamps (µs) of the restored frames, in output order. */
  readonly timestamps: number[];
  /** Timestamps the filter let through, in order. */
  readonly kept: number[];
  /** Per output frame: mean absolute RGB difference to the same frame decoded plainly, and the least to any other frame. */
  readonly diffs: { same: number; other: number }[];
  readonly leaks: Leaks;
}

declare global {
  interface Window {
    throughOperators: (url: string, slowMs: number) => Promise<OperatorsResult>;
  }
}

/** A frame's RGBA pixels, read through a canvas. */
function pixels(frame: VideoFrame): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

function meanAbsRgb(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 4) sum += Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
  return sum / ((a.length / 4) * 3);
}

window.throughOperators = async (url, slowMs) => {
  await selectBackend('webgpu', { onWarning: () => undefined });
  // The plain decoding: the expected pixels of each frame, by timestamp.
  const reference = new Map<number, Uint8ClampedArray>();
  await lastValueFrom(fromMp4(url).pipe(map((f) => (reference.set(f.timestamp, pixels(f)), f.close())), toArray()));
  resetTracking();
  // An identity network that takes `slowMs` per frame.
  const slow: FramePredictor = {
    predict: (x) => {
      const t = performance.now();
      while (performance.now() - t < slowMs);
      return tf.clone(x);
    },
  };
  let emitted = 0;
  let filtered = 0;
  let restored = 0;
  let maxAhead = 0;
  let maxDecodedAhead = 0;
  const kept: number[] = [];
  const timestamps: number[] = [];
  const diffs: { same: number; other: number }[] = [];
  let index = 0;
  await new Promise<void>((resolve, reject) =>
    fromMp4(url)
      .pipe(
        map((f) => {
          emitted++;
          maxAhead = Math.max(maxAhead, emitted - filtered - restored);
          maxDecodedAhead = Math.max(maxDecodedAhead, decodedCount() - filtered - restored);
          return f;
        }),
        filter((f) => {
          // Every third frame is dropped (and closed, as an app must).
          if (index++ % 3 !== 1) return true;
          filtered++;
          f.close();
          return false;
        }),
        tap((f) => kept.push(f.timestamp)),
        restore(slow, { maxInFlight: 2 }),
      )
      .subscribe({
        next: (f) => {
          restored++;
          timestamps.push(f.timestamp);
          const got = pixels(f);
          let other = Infinity;
          for (const [t, ref] of reference) if (t !== f.timestamp) other = Math.min(other, meanAbsRgb(got, ref));
          const ref = reference.get(f.timestamp);
          diffs.push({ same: ref ? meanAbsRgb(got, ref) : Infinity, other });
          f.close();
        },
        error: reject,
        complete: resolve,
      }),
  );
  return { emitted, maxAhead, maxDecodedAhead, timestamps, kept, diffs, leaks: await leaks() };
};
