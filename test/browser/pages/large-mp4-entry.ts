/**
 * Browser entry of large-mp4.test.ts: a 4K MP4 through fromMp4 -> restore (shipped tiny weights, wasm)
 * tiled and untiled, the restored frames' RGB read back and compared here; the tiled run goes on to toMp4.
 */
import * as tf from '@tensorflow/tfjs';
import { concatMap, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import { fromMp4, toMp4 } from '../../../src/browser';
import { canReadFramePixels, readFramePixels } from '../../../src/adapters/browser/frames/frame-pixels';
import { restore } from '../../../src/streams/restore';
import { base64, leaks, resetTracking, type Leaks } from './media-tracking';

/** A rectangle of luma pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** What the page found for one frame. */
export interface FrameCompare {
  readonly width: number;
  readonly height: number;
  /** Largest |tiled - untiled| over every RGB value, in levels of 1/255. */
  readonly maxDiff: number;
  /** The same over the rows from `fromRow` down. */
  readonly maxDiffBelow: number;
  /** RGB values that differ at all. */
  readonly differing: number;
  /** Mean RGB (levels) over the box: input, tiled, untiled. */
  readonly boxInput: number[];
  readonly boxTiled: number[];
  readonly boxUntiled: number[];
}

export interface Large4kResult {
  readonly frames: FrameCompare[];
  /** The tiled run's toMp4 output, base64. */
  readonly mp4: string;
  readonly backend: string;
  readonly msTiled: number;
  readonly msUntiled: number;
  /** tf.memory().numTensors before and after both runs (model loaded). */
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  /** VideoFrames, decoders and encoders left open by the three runs. */
  readonly leaks: Leaks;
}

declare global {
  interface Window {
    restore4k: (url: string, box: Box, fromRow: number) => Promise<Large4kResult>;
  }
}

/** A frame's RGB bytes (levels 0-255 as float RGB is read, rounded) and its size. */
interface Pixels {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Reads each frame's RGB into `into`; passes the frame on (`keep`) or closes it. */
function readPixels(into: Pixels[], keep: boolean): OperatorFunction<VideoFrame, VideoFrame> {
  return concatMap(async (frame) => {
    try {
      if (!canReadFramePixels(frame)) throw new Error(`cannot read a ${frame.format} frame of ${frame.displayWidth}x${frame.displayHeight}`);
      const f = await readFramePixels(frame);
      const rgb = new Uint8Array(f.length);
      for (let i = 0; i < f.length; i++) rgb[i] = Math.round(f[i]! * 255);
      into.push({ rgb, width: frame.visibleRect!.width, height: frame.visibleRect!.height });
    } catch (e) {
      frame.close();
      throw e;
    }
    if (!keep) frame.close();
    return frame;
  });
}

/** Mean RGB over `box`. */
function boxMean(p: Pixels, box: Box): number[] {
  const sum = [0, 0, 0];
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) {
      for (let k = 0; k < 3; k++) sum[k]! += p.rgb[(y * p.width + x) * 3 + k]!;
    }
  }
  return sum.map((s) => s / (box.width * box.height));
}

window.restore4k = async (url, box, fromRow) => {
  resetTracking();
  const info = await selectBackend('wasm', { wasmPaths: '/wasm/', onWarning: () => undefined });
  const model = await SimpleIR.load('tiny', { weightsBaseUrl: '/weights/' });
  const tensorsBefore = tf.memory().numTensors;
  const input: Pixels[] = [];
  await lastValueFrom(fromMp4(url).pipe(readPixels(input, false), toArray()));
  // Tiled (the default at 4K), on to toMp4; then untiled.
  const tiled: Pixels[] = [];
  let t0 = performance.now();
  const source = fromMp4(url);
  const blob = await lastValueFrom(source.pipe(restore(model), readPixels(tiled, true), toMp4({ source })));
  const msTiled = performance.now() - t0;
  const untiled: Pixels[] = [];
  t0 = performance.now();
  await lastValueFrom(fromMp4(url).pipe(restore(model, { tileSize: 0 }), readPixels(untiled, false), toArray()));
  const msUntiled = performance.now() - t0;
  const tensorsAfter = tf.memory().numTensors;
  model.dispose();
  if (tiled.length !== untiled.length || tiled.length !== input.length) throw new Error(`frame counts differ: input ${input.length}, tiled ${tiled.length}, untiled ${untiled.length}`);
  const frames = tiled.map((a, i): FrameCompare => {
    const b = untiled[i]!;
    if (a.width !== b.width || a.height !== b.height) throw new Error(`frame ${i}: tiled ${a.width}x${a.height}, untiled ${b.width}x${b.height}`);
    let maxDiff = 0;
    let maxDiffBelow = 0;
    let differing = 0;
    const belowStart = fromRow * a.width * 3;
    for (let j = 0; j < a.rgb.length; j++) {
      const d = Math.abs(a.rgb[j]! - b.rgb[j]!);
      if (d === 0) continue;
      differing++;
      if (d > maxDiff) maxDiff = d;
      if (j >= belowStart && d > maxDiffBelow) maxDiffBelow = d;
    }
    return { width: a.width, height: a.height, maxDiff, maxDiffBelow, differing, boxInput: boxMean(input[i]!, box), boxTiled: boxMean(a, box), boxUntiled: boxMean(b, box) };
  });
  return { frames, mp4: await base64(blob), backend: info.name, msTiled, msUntiled, tensorsBefore, tensorsAfter, leaks: await leaks() };
};
