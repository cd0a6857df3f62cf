/**
 * Page side of `npm run bench:browser` (bench/browser.ts bundles this file with the browser test
 * harness and calls the functions it puts on `window`). Everything here runs in headless Chromium.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { Observable, concatMap, count, firstValueFrom, from, lastValueFrom, map, toArray } from 'rxjs';
import { SimpleIR, selectBackend, type BackendName } from '../src/index';
import { fromMp4, toMp4 } from '../src/browser';
import { median, type PipelineTiming } from './pipeline-overhead';
import { flopsPerPixel, PRESETS, type PresetName } from '../src/core/config';
import { restore } from '../src/streams/restore';
import type { RestoreMetrics } from '../src/streams/metrics';
import type { FrameConverter } from '../src/streams/frames';
import { createVideoFrameConverter, type FramePath, type VideoFrameInfo } from '../src/adapters/browser/frames/video-frame';

export interface PeakResult {
  gflops: number;
  what: string;
  all: { what: string; ms: number; gflops: number }[];
}

export interface ModelTiming {
  preset: PresetName;
  size: string;
  /** Every timed run in ms (after the warm-up). */
  runs: number[];
  warmMs: number;
  ms: number;
  mpxPerS: number;
  gflops: number;
}

export interface PathTiming {
  path: FramePath;
  model: 'identity' | PresetName;
  size: string;
  frames: number;
  /** Per-frame wall time of the whole stream (ms / frame), median of the timed runs. */
  msPerFrame: number;
  runs: number[];
}

export interface LiveResult {
  backend: string;
  size: string;
  framesSent: number;
  sendMs: number;
  inputFps: number;
  metrics: RestoreMetrics | null;
  outputFps: number;
  dropRate: number;
  totalMs: number;
}

declare global {
  interface Window {
    /** `selectBackend(name)` (with `wasmThreads` when given): the backend, and wasm's thread count. */
    benchBackend: (name: BackendName, wasmThreads?: number | 'auto') => Promise<{ name: string; fallbackAdapter: boolean; wasmThreads?: number } | { error: string }>;
    benchPeak: (big: boolean) => Promise<PeakResult>;
    benchModel: (preset: PresetName, w: number, h: number, reps: number, budgetMs: number) => Promise<ModelTiming>;
    benchPaths: (model: 'identity' | PresetName, w: number, h: number, frames: number, reps: number) => Promise<PathTiming[]>;
    benchLive: (w: number, h: number, frames: number, fps: number) => Promise<LiveResult>;
    benchPipeline: (url: string, preset: PresetName, reps: number) => Promise<PipelineTiming>;
  }
}

window.benchBackend = async (name, wasmThreads) => {
  try {
    const info = await selectBackend(name, { wasmPaths: '/wasm/', onWarning: () => undefined, ...(wasmThreads === undefined ? {} : { wasmThreads }) });
    return { name: info.name, fallbackAdapter: info.fallbackAdapter, ...(info.wasmThreads === undefined ? {} : { wasmThreads: info.wasmThreads }) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
};

/** Median ms of an async op (which must wait for its result) over `reps` runs after `warm` warm-ups. */
async function time(fn: () => Promise<void>, reps: number, warm = 1): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/**
 * The backend's peak as in bench/run.ts: best GFLOP/s of 3x3 convolutions (32 and 64 channels) and a
 * square matMul. `big` = bench/run.ts's sizes (1.2 GFLOP each); otherwise a quarter of that, for the
 * SwiftShader backends where one big op takes seconds.
 */
window.benchPeak = async (big) => {
  const all: PeakResult['all'] = [];
  const convs: [number, number][] = big ? [[256, 32], [128, 64]] : [[128, 32], [64, 64]];
  for (const [h, c] of convs) {
    const x = tf.randomUniform([1, h, h, c]) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, c, c]) as tf.Tensor4D;
    const ms = await time(async () => {
      const y = tf.conv2d(x, w, 1, 'same');
      await y.data();
      y.dispose();
    }, 3, 2);
    const flops = 2 * 9 * c * c * h * h;
    all.push({ what: `conv2d 3x3 ${c}->${c} on ${h}x${h}`, ms, gflops: flops / ms / 1e6 });
    tf.dispose([x, w]);
  }
  const n = big ? 1024 : 512;
  const a = tf.randomUniform([n, n]) as tf.Tensor2D;
  const b = tf.randomUniform([n, n]) as tf.Tensor2D;
  const ms = await time(async () => {
    const y = tf.matMul(a, b);
    await y.data();
    y.dispose();
  }, 3, 2);
  all.push({ what: `matMul ${n}x${n}x${n}`, ms, gflops: (2 * n ** 3) / ms / 1e6 });
  tf.dispose([a, b]);
  const best = all.reduce((p, c) => (c.gflops > p.gflops ? c : p));
  return { gflops: best.gflops, what: best.what, all };
};

/** Forward pass of a random-weight model on a random input, read back (`await data()`), `reps` timed runs after one warm-up; fewer when over `budgetMs`. */
window.benchModel = async (preset, w, h, reps, budgetMs) => {
  const model = SimpleIR.create(preset, { init: 'random', seed: 1 });
  const x = tf.randomUniform([1, h, w, 3]) as tf.Tensor4D;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const y = model.predict(x);
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  const warmMs = await once();
  const runs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    runs.push(await once());
    if (performance.now() - start + runs.at(-1)! > budgetMs) break;
  }
  x.dispose();
  model.dispose();
  const ms = median(runs);
  const mpx = (w * h) / 1e6;
  return { preset, size: `${w}x${h}`, runs, warmMs, ms, mpxPerS: mpx / (ms / 1000), gflops: (flopsPerPixel(PRESETS[preset]) * w * h) / ms / 1e6 };
};

/** `n` RGBA VideoFrames of a smooth seeded pattern (same pixels for both paths). */
function makeFrames(w: number, h: number, n: number, t0 = 0): VideoFrame[] {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      data[i] = (x * 255) / w;
      data[i + 1] = (y * 255) / h;
      data[i + 2] = ((x + y) * 97) & 255;
      data[i + 3] = 255;
    }
  }
  const frames: VideoFrame[] = [];
  for (let k = 0; k < n; k++) frames.push(new VideoFrame(data, { format: 'RGBA', codedWidth: w, codedHeight: h, timestamp: t0 + k * 33_333, duration: 33_333 }));
  return frames;
}

/**
 * The same frames through restore() on the zero-copy (`gpu`) and the fallback (`cpu`: copyTo +
 * readback) converter, on the active backend (webgpu). `identity`: the model is `x => x.clone()`, so
 * only the frame paths are timed; otherwise a random-weight preset. Runs alternate gpu/cpu.
 */
window.benchPaths = async (modelName, w, h, frames, reps) => {
  const model = modelName === 'identity' ? { predict: (x: tf.Tensor4D) => x.clone(), dispose: () => undefined } : SimpleIR.create(modelName, { init: 'random', seed: 1 });
  const paths: FramePath[] = ['gpu', 'cpu'];
  const converters = Object.fromEntries(paths.map((p) => [p, createVideoFrameConverter({ path: p }) as unknown as FrameConverter<VideoFrame, VideoFrameInfo>]));
  const runOnce = async (path: FramePath, n: number): Promise<number> => {
    const inputs = makeFrames(w, h, n);
    const t0 = performance.now();
    const outs = (await firstValueFrom(from(inputs).pipe(restore(model, { converter: converters[path]! }), toArray()))) as VideoFrame[];
    const ms = performance.now() - t0;
    outs.forEach((f) => f.close());
    return ms / n;
  };
  for (const p of paths) await runOnce(p, 1); // warm-up: shaders, buffers
  const runs: Record<FramePath, number[]> = { gpu: [], cpu: [] };
  for (let r = 0; r < reps; r++) for (const p of paths) runs[p].push(await runOnce(p, frames));
  model.dispose();
  return paths.map((p) => ({ path: p, model: modelName, size: `${w}x${h}`, frames, msPerFrame: median(runs[p]), runs: runs[p] }));
};

/** `frames` VideoFrames at `fps` (by the wall clock; see below) into restore(tiny, live); the last metrics report and the rates. */
window.benchLive = async (w, h, frames, fps) => {
  const model = SimpleIR.create('tiny', { init: 'random', seed: 5 });
  // Warm-up outside the count (shader compilation / first allocation).
  const warm = makeFrames(w, h, 1);
  (await firstValueFrom(from(warm).pipe(restore(model)))).close();
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
  let sendMs = 0;
  const source = new Observable<VideoFrame>((sub) => {
    let k = 0;
    const t0 = performance.now();
    // A camera keeps capturing while the page's thread is busy (wasm computes on it): each tick emits
    // every frame due by the wall clock, so a blocked thread gets a burst, as from a track processor.
    const timer = setInterval(() => {
      const due = Math.min(frames, Math.floor(((performance.now() - t0) * fps) / 1000) + 1);
      for (; k < due; k++) {
        sub.next(new VideoFrame(data, { format: 'RGBA', codedWidth: w, codedHeight: h, timestamp: Math.round((k * 1e6) / fps), duration: Math.round(1e6 / fps) }));
      }
      if (k >= frames) {
        clearInterval(timer);
        sendMs = performance.now() - t0;
        sub.complete();
      }
    }, 1000 / fps);
    return () => clearInterval(timer);
  });
  let metrics: RestoreMetrics | null = null;
  const t0 = performance.now();
  await lastValueFrom(
    source.pipe(
      restore(model, { mode: 'live', onMetrics: (m) => (metrics = m) }),
      map((f) => f.close()),
    ),
    { defaultValue: undefined },
  );
  const totalMs = performance.now() - t0;
  model.dispose();
  const m = metrics as RestoreMetrics | null;
  const out = m?.framesOut ?? 0;
  return {
    backend: tf.getBackend(),
    size: `${w}x${h}`,
    framesSent: frames,
    sendMs,
    inputFps: frames / (sendMs / 1000),
    metrics: m,
    outputFps: out / (totalMs / 1000),
    dropRate: m ? m.dropped / m.framesIn : NaN,
    totalMs,
  };
};

/** A decoded frame's visible pixels, copied out of the decoder's memory, and what it takes to rebuild it. */
interface FrameCopy {
  data: Uint8Array;
  init: VideoFrameBufferInit;
}

async function copyFrame(frame: VideoFrame): Promise<FrameCopy> {
  const data = new Uint8Array(frame.allocationSize());
  const layout = await frame.copyTo(data);
  const { width, height } = frame.visibleRect!;
  const init: VideoFrameBufferInit = { format: frame.format!, codedWidth: width, codedHeight: height, timestamp: frame.timestamp, layout, colorSpace: frame.colorSpace.toJSON() };
  if (frame.duration !== null) init.duration = frame.duration;
  return { data, init };
}

/**
 * Pipeline overhead: the MP4 at `url` through fromMp4 -> restore(preset, lossless) -> toMp4 (audio
 * copied), against restore alone over copies of the same decoded frames (built before the clock starts,
 * outputs closed), on the active backend with the shipped weights. One untimed run of each, then `reps`
 * pairs in alternating order; also decode alone (fromMp4, frames closed) and encode alone (toMp4 over
 * clones of restored frames), to say where a difference goes. Each output file is read back for its
 * frame count.
 */
window.benchPipeline = async (url, preset, reps) => {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const model = await SimpleIR.load(preset, { weightsBaseUrl: '/weights/' });
  const info = await fromMp4(bytes).info;
  const copies = await lastValueFrom(
    fromMp4(bytes).pipe(
      concatMap(async (f) => {
        try {
          return await copyFrame(f);
        } finally {
          f.close();
        }
      }),
      toArray(),
    ),
  );
  const frames = copies.length;
  const metrics: PipelineTiming['pipelineMetrics'] = [];
  const pipeline = async (): Promise<{ ms: number; tailMs: number; blob: Blob }> => {
    const source = fromMp4(bytes);
    let last: RestoreMetrics | undefined;
    let restoreDone = NaN;
    const onMetrics = (m: RestoreMetrics): void => {
      last = m;
      // The final report comes as restore completes, right after its last frame went to toMp4.
      if (m.done) restoreDone = performance.now();
    };
    const t0 = performance.now();
    const blob = await lastValueFrom(source.pipe(restore(model, { mode: 'lossless', onMetrics }), toMp4({ source })));
    const end = performance.now();
    const m = last as RestoreMetrics | undefined;
    metrics.push({ framesIn: m?.framesIn ?? 0, framesOut: m?.framesOut ?? 0, dropped: m?.dropped ?? 0, errors: m?.errors ?? 0 });
    return { ms: end - t0, tailMs: end - restoreDone, blob };
  };
  let restored: VideoFrame[] = [];
  const restoreOnly = async (): Promise<{ ms: number; n: number }> => {
    const inputs = copies.map((c) => new VideoFrame(c.data, c.init));
    const t0 = performance.now();
    const outs = await lastValueFrom(from(inputs).pipe(restore(model, { mode: 'lossless' }), toArray()));
    const ms = performance.now() - t0;
    restored.forEach((f) => f.close());
    restored = outs;
    return { ms, n: outs.length };
  };
  const decodeOnly = async (): Promise<{ ms: number; firstMs: number }> => {
    let first = NaN;
    const t0 = performance.now();
    await lastValueFrom(
      fromMp4(bytes).pipe(
        map((f) => {
          if (Number.isNaN(first)) first = performance.now();
          f.close();
        }),
        count(),
      ),
    );
    return { ms: performance.now() - t0, firstMs: first - t0 };
  };
  const encodeOnly = async (): Promise<number> => {
    const inputs = restored.map((f) => f.clone());
    const t0 = performance.now();
    await lastValueFrom(from(inputs).pipe(toMp4({ source: fromMp4(bytes) })));
    return performance.now() - t0;
  };
  const framesIn = async (blob: Blob): Promise<number> => (await fromMp4(blob).info).video.frameCount;
  try {
    const warmPipeline = await pipeline();
    const warmRestore = await restoreOnly();
    await decodeOnly();
    await encodeOnly();
    metrics.length = 0;
    const t: PipelineTiming = {
      backend: tf.getBackend(),
      preset,
      size: `${info.video.width}x${info.video.height}`,
      codec: info.video.codec,
      frames,
      threads: tf.getBackend() === 'wasm' ? getThreadsCount() : 0,
      warmup: { pipelineMs: warmPipeline.ms, restoreMs: warmRestore.ms },
      pipelineMs: [],
      restoreMs: [],
      decodeMs: [],
      encodeMs: [],
      firstFrameMs: [],
      tailMs: [],
      framesOut: [],
      restoredFrames: [],
      pipelineMetrics: metrics,
      outputBytes: warmPipeline.blob.size,
    };
    const timePipeline = async (): Promise<void> => {
      const p = await pipeline();
      t.pipelineMs.push(p.ms);
      t.tailMs.push(p.tailMs);
      t.framesOut.push(await framesIn(p.blob));
      t.outputBytes = p.blob.size;
    };
    const timeRestore = async (): Promise<void> => {
      const o = await restoreOnly();
      t.restoreMs.push(o.ms);
      t.restoredFrames.push(o.n);
    };
    for (let r = 0; r < reps; r++) {
      // Pairs alternate their order (pipeline first, then restore first), so that a load that grows or
      // shrinks during the run weighs on both sides alike.
      for (const part of r % 2 ? [timeRestore, timePipeline] : [timePipeline, timeRestore]) await part();
      const d = await decodeOnly();
      t.decodeMs.push(d.ms);
      t.firstFrameMs.push(d.firstMs);
      t.encodeMs.push(await encodeOnly());
    }
    return t;
  } finally {
    restored.forEach((f) => f.close());
    model.dispose();
  }
};
