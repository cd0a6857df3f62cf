/**
 * Browser entry of reliability.test.ts: soak runs of fromMp4 -> restore (zero-copy WebGPU path and the
 * wasm CPU path), unsubscribes at random points, a WebGPU device destroyed mid-stream (then a fallback
 * to wasm), NaN in weights and outputs, and bad arguments to the browser exports. Every VideoFrame and
 * decoder of the page is tracked.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Observable, take } from 'rxjs';
import { SimpleIR, selectBackend, type FramePredictor } from '../../../src/index';
import * as browser from '../../../src/browser';
import { fromMp4 } from '../../../src/browser';
import { frameTimestamp, videoFrameConverter } from '../../../src/adapters/browser/frames/video-frame';
import { Mp4Demuxer } from '../../../src/adapters/browser/mp4-demuxer';
import { openByteReader } from '../../../src/adapters/browser/mp4-reader';
import { Random } from '../../../src/core/random';
import { restore } from '../../../src/streams/restore';
import { countReadbacks } from './readbacks';
import { currentLeaks, openCount, openDecoderCount, resetTracking, tick } from './media-tracking';

setWasmPaths('/wasm/');

export interface Released {
  /** VideoFrames made (decoded or constructed) and not closed. */
  readonly openFrames: number;
  /** Frames made in all. */
  readonly framesMade: number;
  /** Decoders not closed. */
  readonly openDecoders: number;
}

export interface SoakResult extends Released {
  readonly frames: number;
  readonly ms: number;
  readonly backend: string;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  /** Largest tensor count seen between frames. */
  readonly tensorsMax: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** tfjs reads back to the CPU during the run, by function. */
  readonly readbacks: Record<string, number>;
}

export interface StreamOutcome extends Released {
  /** `error`, `complete`, or `hang` (nothing within the bound). */
  readonly outcome: 'error' | 'complete' | 'hang';
  readonly code: string | null;
  readonly message: string;
  readonly frames: number;
}

export interface UnsubscribeRun extends Released {
  readonly run: number;
  readonly cutAfterMs: number;
  readonly framesBeforeCut: number;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
}

export interface BadArgResult {
  readonly name: string;
  /** `typed` (a SimpleIRError), `untyped` (another error), `none` (no error at all). */
  readonly result: 'typed' | 'untyped' | 'none';
  readonly code: string | null;
  readonly message: string;
}

declare global {
  interface Window {
    soak: (url: string, backend: 'webgpu' | 'wasm', light: boolean) => Promise<SoakResult>;
    unsubscribeAtRandom: (url: string, seed: number, runs: number) => Promise<UnsubscribeRun[]>;
    destroyDeviceMidStream: (url: string, after: number, mode: 'lossless' | 'live') => Promise<{ stream: StreamOutcome; fallback: StreamOutcome }>;
    nonFinite: (url: string) => Promise<Record<string, StreamOutcome & { frameErrors?: string[] }>>;
    browserBadArguments: () => Promise<BadArgResult[]>;
  }
}

/** Waits (up to 5 s) for frames in work to be closed, then reports what is still open. */
async function released(): Promise<Released> {
  for (let i = 0; i < 250 && openCount() > 0; i++) await tick(20);
  const { openFrames, framesMade } = currentLeaks();
  return { openFrames, framesMade, openDecoders: openDecoderCount() };
}

/** Waits until the tensor count has been the same for 100 ms (frames cut off by a `take` finish their step first). */
async function settledTensors(): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const n = tf.memory().numTensors;
    if (n === last && openCount() === 0) return n;
    last = n;
    await tick(50);
  }
  return tf.memory().numTensors;
}

/** A cheap model for the GPU path: the frame machinery is what a long run tests here (the tiny model takes ~0.7 s a frame on SwiftShader). */
const light: FramePredictor = { predict: (x) => tf.tidy(() => tf.clipByValue(tf.mul(x, 0.9), 0, 1) as tf.Tensor4D) };

async function useBackend(name: 'webgpu' | 'wasm'): Promise<void> {
  await selectBackend(name, { onWarning: () => undefined });
}

/** Runs `source` to its end (or `boundMs`), closing every frame; reports the outcome. */
function runToEnd(source: Observable<VideoFrame>, boundMs: number, onFrame?: (n: number) => void): Promise<Omit<StreamOutcome, keyof Released>> {
  return new Promise((resolve) => {
    let frames = 0;
    const timer = setTimeout(() => {
      sub.unsubscribe();
      resolve({ outcome: 'hang', code: null, message: `nothing within ${boundMs} ms`, frames });
    }, boundMs);
    const sub = source.subscribe({
      next: (f) => {
        frames++;
        f.close();
        onFrame?.(frames);
      },
      error: (e: { code?: string; message?: string }) => {
        clearTimeout(timer);
        resolve({ outcome: 'error', code: e?.code ?? null, message: String(e?.message ?? e), frames });
      },
      complete: () => {
        clearTimeout(timer);
        resolve({ outcome: 'complete', code: null, message: '', frames });
      },
    });
  });
}

window.soak = async (url, backend, useLight) => {
  await useBackend(backend);
  const model = useLight ? light : SimpleIR.create('tiny');
  // Warm up: shaders, kernels, the importer's buffers.
  await runToEnd(fromMp4(url).pipe(restore(model), take(10)), 60_000);
  await settledTensors();
  resetTracking();
  const before = tf.memory();
  let tensorsMax = before.numTensors;
  const t0 = performance.now();
  const { result, counts } = await countReadbacks(() =>
    runToEnd(fromMp4(url).pipe(restore(model)), 120_000, (n) => {
      if (n % 10 === 0) tensorsMax = Math.max(tensorsMax, tf.memory().numTensors);
    }),
  );
  const ms = performance.now() - t0;
  if (result.outcome !== 'complete') throw new Error(`soak run ended with ${result.outcome}: ${result.code} ${result.message}`);
  const after = tf.memory();
  if (model instanceof SimpleIR) model.dispose();
  return {
    frames: result.frames,
    ms,
    backend: tf.getBackend(),
    tensorsBefore: before.numTensors,
    tensorsAfter: after.numTensors,
    tensorsMax,
    bytesBefore: before.numBytes,
    bytesAfter: after.numBytes,
    readbacks: counts,
    ...(await released()),
  };
};

window.unsubscribeAtRandom = async (url, seed, runs) => {
  await useBackend('webgpu');
  await runToEnd(fromMp4(url).pipe(restore(light), take(5)), 60_000);
  const tensorsBefore = await settledTensors();
  const rng = new Random(seed);
  const out: UnsubscribeRun[] = [];
  for (let run = 0; run < runs; run++) {
    resetTracking();
    let frames = 0;
    const sub = fromMp4(url, { decodeAhead: rng.int(0, 3) })
      .pipe(restore(light, { mode: rng.next() < 0.5 ? 'live' : 'lossless', maxInFlight: rng.int(1, 3) }))
      .subscribe({
        next: (f) => {
          frames++;
          f.close();
        },
      });
    const cutAfterMs = rng.pick([0, rng.int(0, 20), rng.int(20, 200), rng.int(100, 600)]);
    await tick(cutAfterMs);
    sub.unsubscribe();
    const r = await released();
    for (let i = 0; i < 100 && tf.memory().numTensors !== tensorsBefore; i++) await tick(20);
    out.push({ run, cutAfterMs, framesBeforeCut: frames, tensorsBefore, tensorsAfter: tf.memory().numTensors, ...r });
  }
  return out;
};

window.destroyDeviceMidStream = async (url, after, mode) => {
  await useBackend('webgpu');
  await runToEnd(fromMp4(url).pipe(restore(light), take(5)), 60_000);
  resetTracking();
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const stream = await runToEnd(fromMp4(url).pipe(restore(light, { mode })), 20_000, (n) => {
    if (n === after) device.destroy();
  });
  const streamReleased = await released();
  // The application's fallback: another backend, the model again, the stream again.
  resetTracking();
  await useBackend('wasm');
  const model = SimpleIR.create('tiny');
  const fallback = await runToEnd(fromMp4(url).pipe(restore(model, { mode })), 60_000);
  model.dispose();
  return { stream: { ...stream, ...streamReleased }, fallback: { ...fallback, ...(await released()), message: `${fallback.message} (backend ${tf.getBackend()})` } };
};

window.nonFinite = async (url) => {
  const out: Record<string, StreamOutcome & { frameErrors?: string[] }> = {};
  const nan: FramePredictor = { predict: (x) => tf.tidy(() => tf.mul(x, NaN) as tf.Tensor4D) };
  const infEverySecond: FramePredictor = (() => {
    let n = 0;
    return { predict: (x: tf.Tensor4D) => tf.tidy(() => (n++ % 2 === 1 ? tf.div(x, 0) : tf.mul(x, 1)) as tf.Tensor4D) };
  })();
  await useBackend('webgpu');
  resetTracking();
  out['webgpu, NaN output, lossless'] = { ...(await runToEnd(fromMp4(url).pipe(restore(nan)), 60_000)), ...(await released()) };
  resetTracking();
  const frameErrors: string[] = [];
  // A source that waits for each frame to come out before the next (the file decoder would flood a live stream).
  const paced = new Observable<VideoFrame>((subscriber) => {
    const frames: VideoFrame[] = [];
    const sub = fromMp4(url).subscribe({ next: (f) => frames.push(f), complete: () => {
      let i = 0;
      const next = (): void => {
        if (subscriber.closed) return;
        if (i === frames.length) return subscriber.complete();
        subscriber.next(frames[i++]!);
        setTimeout(next, 150);
      };
      next();
    } });
    return () => {
      sub.unsubscribe();
      frames.forEach((f) => f.close());
    };
  });
  const live = await runToEnd(paced.pipe(restore(infEverySecond, { mode: 'live', onFrameError: (e) => frameErrors.push(e.code) })), 60_000);
  out['webgpu, infinity every second frame, live'] = { ...live, ...(await released()), frameErrors };
  // The real model with a NaN weight, on both frame paths.
  for (const backend of ['webgpu', 'wasm'] as const) {
    await useBackend(backend);
    resetTracking();
    const model = SimpleIR.create('tiny');
    const w = model.getWeights();
    w.get('hab0.pw1.b')![0] = NaN;
    model.setWeights(w);
    const tensors = tf.memory().numTensors;
    const r = await runToEnd(fromMp4(url).pipe(restore(model)), 60_000);
    for (let i = 0; i < 100 && tf.memory().numTensors !== tensors; i++) await tick(20);
    out[`${backend}, tiny with a NaN weight, lossless`] = { ...r, ...(await released()), message: `${r.message} [tensors ${tensors} -> ${tf.memory().numTensors}]` };
    model.dispose();
  }
  return out;
};

/** Calls `fn`; awaits a promise; subscribes to an Observable (until its first error or item). */
async function outcome(name: string, fn: () => unknown): Promise<BadArgResult> {
  try {
    let v = fn();
    if (v instanceof Observable) {
      v = await new Promise((resolve, reject) => {
        const sub = (v as Observable<unknown>).subscribe({
          next: (x) => {
            if (x instanceof VideoFrame) x.close();
            resolve(x);
          },
          error: reject,
          complete: () => resolve(undefined),
        });
        setTimeout(() => {
          sub.unsubscribe();
          resolve(undefined);
        }, 3000);
      });
    } else if (v && typeof (v as Promise<unknown>).then === 'function') {
      v = await v;
    }
    return { name, result: 'none', code: null, message: '' };
  } catch (e) {
    const err = e as { code?: string; message?: string; name?: string };
    const typed = err?.name === 'SimpleIRError' && typeof err.code === 'string';
    return { name, result: typed ? 'typed' : 'untyped', code: err?.code ?? null, message: `${err?.name}: ${String(err?.message ?? e)}` };
  }
}

window.browserBadArguments = async () => {
  await useBackend('wasm');
  const b = browser as unknown as Record<string, (...a: unknown[]) => unknown>;
  const canvas = document.createElement('canvas');
  /** One frame, for the operators (sinks) to run on. */
  const oneFrame = (): Observable<VideoFrame> =>
    new Observable<VideoFrame>((s) => {
      s.next(new VideoFrame(new Uint8Array(16 * 16 * 4), { format: 'RGBA', codedWidth: 16, codedHeight: 16, timestamp: 0 }));
      s.complete();
    });
  const sink = (name: string, ...args: unknown[]) => () => oneFrame().pipe(b[name]!(...args) as never);
  const cases: [string, () => unknown][] = [
    ['createVideoFrameConverter({ path: "gpu!" })', () => b.createVideoFrameConverter!({ path: 'gpu!' })],
    ['createVideoFrameConverter({ path: "gpu" }) on wasm', async () => {
      const c = browser.createVideoFrameConverter({ path: 'gpu' });
      const f = new VideoFrame(new Uint8Array(16 * 16 * 4), { format: 'RGBA', codedWidth: 16, codedHeight: 16, timestamp: 0 });
      try {
        await c.toTensor(f);
      } finally {
        f.close();
      }
    }],
    ['videoFrameConverter.toTensor(closed frame)', async () => {
      const f = new VideoFrame(new Uint8Array(16 * 16 * 4), { format: 'RGBA', codedWidth: 16, codedHeight: 16, timestamp: 0 });
      f.close();
      await videoFrameConverter.toTensor(f);
    }],
    ['frameTimestamp(null)', () => frameTimestamp(null as never)],
    ['fromMp4(42)', () => b.fromMp4!(42)],
    ['fromMp4(null)', () => b.fromMp4!(null)],
    ['fromMp4(blob, { decodeAhead: -1 })', () => b.fromMp4!(new Blob([]), { decodeAhead: -1 })],
    ['fromMp4(blob, { maxDecodeQueue: 0 })', () => b.fromMp4!(new Blob([]), { maxDecodeQueue: 0 })],
    ['fromMp4(empty blob)', () => b.fromMp4!(new Blob([]))],
    ['fromMp4("/no-such-file.mp4")', () => b.fromMp4!('/no-such-file.mp4')],
    ['toMp4({ bitrate: -5 })', sink('toMp4', { bitrate: -5 })],
    ['toMp4({ framerate: 0 })', sink('toMp4', { framerate: 0 })],
    ['toMp4({ codec: 42 })', sink('toMp4', { codec: 42 })],
    ['toMp4({ codec: "h265!" })', sink('toMp4', { codec: 'h265!' })],
    ['toMp4({ keyFrameInterval: -1 })', sink('toMp4', { keyFrameInterval: -1 })],
    ['toMp4({ timescale: 0.5 })', sink('toMp4', { timescale: 0.5 })],
    ['toMp4({ maxEncodeQueue: 0 })', sink('toMp4', { maxEncodeQueue: 0 })],
    ['toMp4({ source: "x" })', sink('toMp4', { source: 'x' })],
    ['toMp4({ target: "out.mp4" })', sink('toMp4', { target: 'out.mp4' })],
    ['toMp4({ target: locked stream })', () => {
      const target = new WritableStream<Uint8Array>();
      target.getWriter();
      return sink('toMp4', { target })();
    }],
    ['toMp4({ maxBufferedBytes: -1 })', sink('toMp4', { maxBufferedBytes: -1 })],
    ['toMp4({ matrix: [1, 0] })', sink('toMp4', { matrix: [1, 0] })],
    ['toMp4({ pixelAspectRatio: { h: 0, v: 1 } })', sink('toMp4', { pixelAspectRatio: { h: 0, v: 1 } })],
    ['Mp4Demuxer.open(null)', () => (Mp4Demuxer as unknown as { open: (...a: unknown[]) => unknown }).open(null)],
    ['openByteReader({})', () => openByteReader({} as never)],
    ['fromMediaStream(null)', () => b.fromMediaStream!(null)],
    ['fromMediaStream("x")', () => b.fromMediaStream!('x')],
    ['fromCamera("front")', () => b.fromCamera!('front')],
    ['fromCamera(true, { method: "x" })', () => b.fromCamera!(true, { method: 'x' })],
    ['fromMediaStream(new MediaStream())', () => b.fromMediaStream!(new MediaStream())],
    ['fromVideoElement(null)', () => b.fromVideoElement!(null)],
    ['fromVideoElement(canvas)', () => b.fromVideoElement!(canvas)],
    ['toCanvas(null)', sink('toCanvas', null)],
    ['toCanvas("#canvas")', sink('toCanvas', '#canvas')],
    ['toMediaStreamTrack({ method: "x" })', () => b.toMediaStreamTrack!({ method: 'x' })],
    ['Mp4Demuxer.open(reader, "subtitles")', async () => (Mp4Demuxer as unknown as { open: (...a: unknown[]) => unknown }).open(await openByteReader(new Blob([])), 'subtitles')],
    ['indexedDbLearnerStore("")', () => b.indexedDbLearnerStore!('')],
    ['indexedDbLearnerStore(42)', () => b.indexedDbLearnerStore!(42)],
    ['deleteIndexedDbLearner(null)', () => b.deleteIndexedDbLearner!(null)],
  ];
  const out: BadArgResult[] = [];
  for (const [name, fn] of cases) out.push(await outcome(name, fn));
  return out;
};
