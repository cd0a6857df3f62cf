/**
 * Browser entry of temporal.test.ts: `restore(model, { temporal: true })` (or `{ guide: true }`, or with `guideVotes: 'explained'`) on the zero-copy WebGPU
 * path (VideoFrames in, VideoFrames out) with every CPU readback counted; frames of a smooth scene
 * with bright streaks at new places in every frame.
 */
import * as tf from '@tensorflow/tfjs';
import { firstValueFrom, from, toArray } from 'rxjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import type { FrameConverter } from '../../../src/streams/frames';
import { restore } from '../../../src/streams/restore';
import { createVideoFrameConverter, type VideoFrameInfo } from '../../../src/adapters/browser/frames/video-frame';
import { startReadbackCount } from './readbacks';

/** What {@link window.temporalRun} reports. */
export interface TemporalRunResult {
  readonly backend: string;
  readonly frames: number;
  readonly timestamps: number[];
  readonly readbacks: Record<string, number>;
  /** Input frames still open after the run (the operator must close them all). */
  readonly inputsOpen: number;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  /** Mean PSNR (dB) against the clean scene, over frames 4 and later: the inputs and the outputs. */
  readonly psnrInput: number;
  readonly psnrOutput: number;
}

declare global {
  interface Window {
    temporalRun: (n: number, guide?: boolean | 'explained') => Promise<TemporalRunResult>;
  }
}

const W = 64;
const H = 48;

/** The clean scene, RGBA bytes: smooth gradients and waves. */
function scene(): Uint8Array {
  const d = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = 4 * (y * W + x);
      d[i] = Math.round(255 * (0.3 + 0.2 * Math.sin(x / 5)));
      d[i + 1] = Math.round(255 * (0.35 + 0.2 * Math.cos(y / 6)));
      d[i + 2] = Math.round(255 * (0.2 + 0.3 * (x / W)));
      d[i + 3] = 255;
    }
  }
  return d;
}

/** The scene with 4 bright vertical streaks (1 px wide, 10 long) at places that change with `seed`. */
function rainy(clean: Uint8Array, seed: number): Uint8Array {
  const d = Uint8Array.from(clean);
  // mulberry32: neighbouring seeds give unrelated places (an LCG's would line up frame to frame)
  let s = (seed + 1) * 0x9e3779b9;
  const next = (n: number): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
  for (let k = 0; k < 4; k++) {
    const x = next(W);
    const y0 = next(H - 10);
    for (let y = y0; y < y0 + 10; y++) for (let c = 0; c < 3; c++) d[4 * (y * W + x) + c] = Math.round(d[4 * (y * W + x) + c]! + 0.8 * (255 - d[4 * (y * W + x) + c]!));
  }
  return d;
}

function pixels(frame: VideoFrame): Uint8ClampedArray {
  const ctx = new OffscreenCanvas(W, H).getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, W, H).data;
}

function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    se += (a[i]! - b[i]!) ** 2;
    n++;
  }
  return 10 * Math.log10((255 * 255) / Math.max(se / n, 1e-10));
}

window.temporalRun = async (n, guide = false) => {
  const temporal = guide === 'explained' ? ({ guide: true, guideVotes: 'explained' } as const) : guide ? { guide: true } : true;
  await selectBackend('webgpu', { onWarning: () => undefined });
  const converter = createVideoFrameConverter({ path: 'gpu' }) as unknown as FrameConverter<VideoFrame, VideoFrameInfo>;
  const model = SimpleIR.create('tiny'); // the identity: what changes is the temporal stage's doing
  const clean = scene();
  const frame = (data: Uint8Array, i: number): VideoFrame =>
    new VideoFrame(data, { format: 'RGBA', codedWidth: W, codedHeight: H, timestamp: i * 40_000, duration: 40_000 });
  // Warm up (shader compilation) outside the count.
  const warm = await firstValueFrom(from([0, 1].map((i) => frame(rainy(clean, 100 + i), i))).pipe(restore(model, { converter, temporal }), toArray()));
  warm.forEach((f) => f.close());
  const inputs = Array.from({ length: n }, (_, i) => frame(rainy(clean, i), i));
  const tensorsBefore = tf.memory().numTensors;
  const rb = startReadbackCount();
  let outputs: VideoFrame[];
  try {
    outputs = await firstValueFrom(from(inputs).pipe(restore(model, { converter, temporal }), toArray()));
  } finally {
    rb.restore();
  }
  const tensorsAfter = tf.memory().numTensors;
  let psnrInput = 0;
  let psnrOutput = 0;
  for (let i = 4; i < outputs.length; i++) {
    psnrInput += psnr(rainy(clean, i), clean) / (outputs.length - 4);
    psnrOutput += psnr(pixels(outputs[i]!), clean) / (outputs.length - 4);
  }
  const result: TemporalRunResult = {
    backend: tf.getBackend(),
    frames: outputs.length,
    timestamps: outputs.map((f) => f.timestamp),
    readbacks: rb.counts,
    inputsOpen: inputs.filter((f) => f.format !== null).length,
    tensorsBefore,
    tensorsAfter,
    psnrInput,
    psnrOutput,
  };
  outputs.forEach((f) => f.close());
  model.dispose();
  return result;
};
