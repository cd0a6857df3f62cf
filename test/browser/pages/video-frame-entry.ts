/**
 * Browser entry of video-frame.test.ts: VideoFrames built from raw I420 / RGBA / BGRA buffers go
 * through the browser frame converter on the gpu path and on the cpu path; the restore operator runs
 * a tiny SimpleIR on the gpu path while every CPU readback is counted.
 */
import * as tf from '@tensorflow/tfjs';
import { firstValueFrom, from, toArray } from 'rxjs';
import { SimpleIR, selectBackend, type BackendName } from '../../../src/index';
import { restore } from '../../../src/streams/restore';
import type { FrameConverter } from '../../../src/streams/frames';
import { createVideoFrameConverter, type FramePath, type VideoFrameInfo } from '../../../src/adapters/browser/frames/video-frame';
import { startReadbackCount } from './readbacks';

/** One solid block of a test frame: its YUV (I420 cases) or RGB (RGBA/BGRA cases) value. */
export interface Block {
  readonly y?: number;
  readonly u?: number;
  readonly v?: number;
  readonly rgb?: readonly [number, number, number];
}

/** A frame to build: 32x32, four 16x16 blocks (top-left, top-right, bottom-left, bottom-right). */
export interface FrameCase {
  readonly name: string;
  readonly format: 'I420' | 'RGBA' | 'BGRA';
  readonly blocks: readonly [Block, Block, Block, Block];
  readonly colorSpace?: VideoColorSpaceInit;
}

/** Per case: the tensor's RGB (0..255 scale) at the centre of each block. */
export interface ConvertResult {
  readonly name: string;
  readonly shape: number[];
  readonly centres: number[][];
  /** The whole tensor (0..1), for path-to-path comparison. */
  readonly values: number[];
}

export interface RoundTripResult {
  readonly path: FramePath;
  readonly timestamp: number;
  readonly duration: number | null;
  readonly width: number;
  readonly height: number;
  /** The output frame's pixels (RGBX via copyTo), row-major. */
  readonly rgb: number[];
  /** The input tensor's values * 255, same layout. */
  readonly expected: number[];
}

export interface RestoreRunResult {
  readonly path: FramePath;
  readonly backend: string;
  readonly frames: number;
  readonly timestamps: number[];
  readonly durations: (number | null)[];
  readonly readbacks: Record<string, number>;
  readonly openFrames: number;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  /** Output pixels of each frame (RGB, 0..255). */
  readonly pixels: number[][];
}

declare global {
  interface Window {
    useBackend: (name: BackendName) => Promise<string>;
    convertCases: (cases: FrameCase[], path: FramePath) => Promise<ConvertResult[]>;
    roundTrip: (path: FramePath) => Promise<RoundTripResult>;
    restoreFrames: (path: FramePath, n: number) => Promise<RestoreRunResult>;
  }
}

const W = 32;
const H = 32;

function blockOf(x: number, y: number): number {
  return (y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1);
}

function makeFrame(c: FrameCase, timestamp: number): VideoFrame {
  if (c.format === 'I420') {
    const data = new Uint8Array(W * H * 3 / 2);
    const cw = W / 2;
    const ch = H / 2;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = c.blocks[blockOf(x, y)]!.y!;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const b = c.blocks[blockOf(2 * x, 2 * y)]!;
        data[W * H + y * cw + x] = b.u!;
        data[W * H + cw * ch + y * cw + x] = b.v!;
      }
    }
    return new VideoFrame(data, { format: 'I420', codedWidth: W, codedHeight: H, timestamp, duration: 40_000, colorSpace: c.colorSpace });
  }
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [r, g, b] = c.blocks[blockOf(x, y)]!.rgb!;
      const i = 4 * (y * W + x);
      if (c.format === 'RGBA') data.set([r, g, b, 255], i);
      else data.set([b, g, r, 255], i);
    }
  }
  return new VideoFrame(data, { format: c.format, codedWidth: W, codedHeight: H, timestamp, duration: 40_000 });
}

window.useBackend = async (name) => (await selectBackend(name, { wasmPaths: '/wasm/', onWarning: () => undefined })).name;

window.convertCases = async (cases, path) => {
  const converter = createVideoFrameConverter({ path });
  const out: ConvertResult[] = [];
  for (const c of cases) {
    const frame = makeFrame(c, 1000);
    const { x } = await converter.toTensor(frame);
    converter.close(frame);
    const values = Array.from(await x.data());
    const centres = [
      [8, 8],
      [24, 8],
      [8, 24],
      [24, 24],
    ].map(([cx, cy]) => {
      const i = 3 * (cy! * W + cx!);
      return [values[i]! * 255, values[i + 1]! * 255, values[i + 2]! * 255];
    });
    out.push({ name: c.name, shape: x.shape, centres, values });
    x.dispose();
  }
  return out;
};

/** A seeded RGB gradient tensor [1, H, W, 3] in [0, 1]. */
function pattern(seed: number): tf.Tensor4D {
  const v = new Float32Array(W * H * 3);
  let s = seed;
  for (let i = 0; i < v.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s >>> 8) / 16777216;
  }
  return tf.tensor4d(v, [1, H, W, 3]);
}

/** A frame's pixels as RGB bytes, drawn through a 2D canvas. */
function framePixels(frame: VideoFrame): number[] {
  const w = frame.displayWidth;
  const h = frame.displayHeight;
  const ctx = new OffscreenCanvas(w, h).getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  const d = ctx.getImageData(0, 0, w, h).data;
  const rgb: number[] = [];
  for (let i = 0; i < w * h; i++) rgb.push(d[4 * i]!, d[4 * i + 1]!, d[4 * i + 2]!);
  return rgb;
}

window.roundTrip = async (path) => {
  const converter = createVideoFrameConverter({ path });
  const y = pattern(99);
  const frame = (await converter.fromTensor(y, { timestamp: 123_456, duration: 33_333, width: W, height: H, path })) as VideoFrame;
  const expected = Array.from(await y.data()).map((v) => v * 255);
  y.dispose();
  const result: RoundTripResult = {
    path,
    timestamp: frame.timestamp,
    duration: frame.duration,
    width: frame.displayWidth,
    height: frame.displayHeight,
    rgb: framePixels(frame),
    expected,
  };
  frame.close();
  return result;
};

/** Counts VideoFrames made and closed on the page (every path: constructor and close are wrapped). */
function trackFrames(): { open: () => number; restore: () => void } {
  const Original = globalThis.VideoFrame;
  const open = new Set<VideoFrame>();
  const originalClose = Original.prototype.close;
  // A proxy, not a subclass: frames made elsewhere must stay `instanceof VideoFrame`.
  const Tracked = new Proxy(Original, {
    construct(target, args: ConstructorParameters<typeof VideoFrame>) {
      const frame = Reflect.construct(target, args) as VideoFrame;
      open.add(frame);
      return frame;
    },
  });
  Original.prototype.close = function (this: VideoFrame) {
    open.delete(this);
    originalClose.call(this);
  };
  globalThis.VideoFrame = Tracked;
  return {
    open: () => open.size,
    restore: () => {
      globalThis.VideoFrame = Original;
      Original.prototype.close = originalClose;
    },
  };
}

window.restoreFrames = async (path, n) => {
  const converter = createVideoFrameConverter({ path }) as unknown as FrameConverter<VideoFrame, VideoFrameInfo>;
  const model = SimpleIR.create('tiny');
  const frames = trackFrames();
  const inputs: VideoFrame[] = [];
  for (let i = 0; i < n; i++) {
    const y = pattern(7 + i);
    const data = new Uint8Array(W * H * 4);
    const v = await y.data();
    y.dispose();
    for (let p = 0; p < W * H; p++) data.set([Math.round(v[3 * p]! * 255), Math.round(v[3 * p + 1]! * 255), Math.round(v[3 * p + 2]! * 255), 255], 4 * p);
    inputs.push(new VideoFrame(data, { format: 'RGBA', codedWidth: W, codedHeight: H, timestamp: 1_000_000 + i * 40_000, duration: 40_000 }));
  }
  // Warm up (shader compilation) outside the count.
  const warm = await firstValueFrom(from([new VideoFrame(new Uint8Array(W * H * 4), { format: 'RGBA', codedWidth: W, codedHeight: H, timestamp: 0 })]).pipe(restore(model, { converter })));
  warm.close();
  const tensorsBefore = tf.memory().numTensors;
  const rb = startReadbackCount();
  let outputs: VideoFrame[];
  try {
    outputs = (await firstValueFrom(from(inputs).pipe(restore(model, { converter }), toArray()))) as VideoFrame[];
  } finally {
    rb.restore();
  }
  const tensorsAfter = tf.memory().numTensors;
  const pixels: number[][] = [];
  for (const f of outputs) pixels.push(framePixels(f));
  const result: RestoreRunResult = {
    path,
    backend: tf.getBackend(),
    frames: outputs.length,
    timestamps: outputs.map((f) => f.timestamp),
    durations: outputs.map((f) => f.duration),
    readbacks: rb.counts,
    openFrames: 0,
    tensorsBefore,
    tensorsAfter,
    pixels,
  };
  outputs.forEach((f) => f.close());
  const open = frames.open();
  frames.restore();
  model.dispose();
  return { ...result, openFrames: open };
};
