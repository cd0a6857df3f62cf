/**
 * Browser entry of worker.test.ts: the model in a worker (`loadWorkerModel`, wasm in the worker) against
 * the same model on the page's thread: an MP4 and the fake webcam restored both ways, pixel for pixel;
 * order, closing, unsubscribing, disposing, a crashing worker, a missing worker script, and online
 * learning in the worker.
 */
import { concatMap, firstValueFrom, from, lastValueFrom, Observable, take, tap, toArray } from 'rxjs';
import {
  createDegradation,
  fromCamera,
  fromMp4,
  isSimpleIRError,
  loadWorkerModel,
  restore,
  reviewLearning,
  selectBackend,
  SimpleIR,
  type LearnerEvent,
  type RestoreMetrics,
  type WorkerModel,
} from '../../../src/browser';
import { currentLeaksAfterTransfer, resetTracking, tick, trackFrame, type Leaks } from './media-tracking';

export interface CompareResult {
  /** Timestamps of the worker's outputs, in output order. */
  readonly timestamps: number[];
  /** Timestamps of the page's outputs for the same inputs. */
  readonly reference: number[];
  /** Largest difference of one RGB sample between the two, in 1/255 steps. */
  readonly maxDiff: number;
  /** Mean absolute difference between a restored frame and its input (the model did something). */
  readonly changed: number;
  readonly workerBackend: string;
  readonly metrics: RestoreMetrics | null;
  readonly leaks: Leaks;
}

export interface TeardownResult {
  readonly received: number;
  readonly leaks: Leaks;
  /** Code of restoreFrame after dispose(). */
  readonly afterDispose: string | null;
  /** Code of a frame in flight when dispose() came. */
  readonly inFlightOnDispose: string | null;
}

export interface FailureResult {
  readonly code: string | null;
  readonly message: string;
  readonly framesOut: number;
  readonly leaks: Leaks;
}

export interface LearnResult {
  readonly steps: number;
  readonly eventTypes: Record<string, number>;
  readonly framesAfterFirstStep: number;
  readonly completed: boolean;
  readonly leaks: Leaks;
}

declare global {
  interface Window {
    compareMp4: (url: string, workerUrl: string, backend?: 'wasm' | 'webgpu', frames?: number) => Promise<CompareResult>;
    compareCamera: (frames: number, workerUrl: string) => Promise<CompareResult>;
    teardown: (url: string, workerUrl: string) => Promise<TeardownResult>;
    crash: (url: string, crashUrl: string) => Promise<FailureResult>;
    missingWorker: () => Promise<FailureResult>;
    learnInWorker: (workerUrl: string, steps: number) => Promise<LearnResult>;
  }
}

/** A frame's RGBA pixels, read through a canvas. */
function pixels(frame: VideoFrame): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

let pageModel: { backend: string; model: SimpleIR } | undefined;

/** The reference model on the page's thread, on `backend` (switching backends loads it again). */
async function setUp(backend: 'wasm' | 'webgpu' = 'wasm'): Promise<SimpleIR> {
  if (pageModel?.backend !== backend) {
    pageModel?.model.dispose();
    await selectBackend(backend, { wasmPaths: '/wasm/' });
    pageModel = { backend, model: await SimpleIR.load('tiny') };
  }
  return pageModel.model;
}

function workerModel(workerUrl: string, backend: 'wasm' | 'webgpu' = 'wasm'): Promise<WorkerModel> {
  return loadWorkerModel('tiny', { backend, wasmPaths: '/wasm/', worker: workerUrl });
}

/** Restores copies of `inputs` on both threads; compares the outputs per timestamp. */
async function compare(inputs: VideoFrame[], workerUrl: string, backend: 'wasm' | 'webgpu' = 'wasm'): Promise<CompareResult> {
  const model = await setUp(backend);
  const wm = await workerModel(workerUrl, backend);
  try {
    const originals = new Map(inputs.map((f) => [f.timestamp, pixels(f)]));
    let metrics: RestoreMetrics | null = null;
    const own = await lastValueFrom(from(inputs.map((f) => f.clone())).pipe(restore(model), toArray()));
    const off = await lastValueFrom(from(inputs).pipe(restore(wm, { onMetrics: (m) => (metrics = m) }), tap(trackFrame), toArray()));
    let maxDiff = 0;
    let changed = 0;
    off.forEach((frame, i) => {
      const a = pixels(frame);
      const b = pixels(own[i]!);
      const input = originals.get(frame.timestamp)!;
      let d = 0;
      for (let k = 0; k < a.length; k++) {
        if (k % 4 === 3) continue;
        maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
        d += Math.abs(a[k]! - input[k]!);
      }
      changed += d / ((a.length * 3) / 4) / off.length;
    });
    const result = { timestamps: off.map((f) => f.timestamp), reference: own.map((f) => f.timestamp), maxDiff, changed, workerBackend: wm.backend.name, metrics };
    [...off, ...own].forEach((f) => f.close());
    return { ...result, leaks: currentLeaksAfterTransfer() };
  } finally {
    wm.dispose();
  }
}

window.compareMp4 = async (url, workerUrl, backend = 'wasm', frames = Infinity) => {
  resetTracking();
  const inputs = await lastValueFrom(fromMp4(url).pipe(take(frames), toArray()));
  return compare(inputs, workerUrl, backend);
};

/** A copy of a frame in memory of its own (the camera has few buffers: frames held open would stall it); `frame` is closed. */
async function copyFrame(frame: VideoFrame): Promise<VideoFrame> {
  try {
    const data = new Uint8Array(frame.allocationSize());
    const layout = await frame.copyTo(data);
    return new VideoFrame(data, { format: frame.format!, codedWidth: frame.codedWidth, codedHeight: frame.codedHeight, timestamp: frame.timestamp, layout, colorSpace: frame.colorSpace.toJSON() });
  } finally {
    frame.close();
  }
}

window.compareCamera = async (frames, workerUrl) => {
  resetTracking();
  const inputs = await lastValueFrom(fromCamera({ width: 64, height: 48 }).pipe(take(frames), tap(trackFrame), concatMap(copyFrame), toArray()));
  return compare(inputs, workerUrl);
};

window.teardown = async (url, workerUrl) => {
  resetTracking();
  await setUp();
  const wm = await workerModel(workerUrl);
  // Every frame the worker sends back is tracked, also those the operator closes itself after an unsubscribe.
  const send = wm.restoreFrame.bind(wm);
  wm.restoreFrame = (f, o) => send(f, o).then((out) => (trackFrame(out), out));
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = fromMp4(url)
      .pipe(restore(wm, { maxInFlight: 3 }))
      .subscribe({
        next: (f) => {
          trackFrame(f);
          f.close();
          if (++received === 2) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
  });
  // Outputs in flight at the unsubscribe arrive later and are closed by the operator.
  await tick(1500);
  const frames = await lastValueFrom(fromMp4(url).pipe(take(2), toArray()));
  const inFlight = wm.restoreFrame(frames[0]!, {}).then(
    (f) => (f.close(), null),
    (e: unknown) => (isSimpleIRError(e) ? e.code : String(e)),
  );
  wm.dispose();
  const inFlightOnDispose = await inFlight;
  const afterDispose = await wm.restoreFrame(frames[1]!, {}).then(
    (f) => (f.close(), null),
    (e: unknown) => (isSimpleIRError(e) ? e.code : String(e)),
  );
  await tick(200);
  return { received, leaks: currentLeaksAfterTransfer(), afterDispose, inFlightOnDispose };
};

window.crash = async (url, crashUrl) => {
  resetTracking();
  await setUp();
  const wm = await workerModel(crashUrl);
  let framesOut = 0;
  try {
    await lastValueFrom(fromMp4(url).pipe(restore(wm), tap((f) => (framesOut++, f.close()))));
    return { code: null, message: 'no error', framesOut, leaks: currentLeaksAfterTransfer() };
  } catch (e) {
    await tick(200);
    return { code: isSimpleIRError(e) ? e.code : null, message: String(e), framesOut, leaks: currentLeaksAfterTransfer() };
  } finally {
    wm.dispose();
  }
};

window.missingWorker = async () => {
  resetTracking();
  try {
    (await loadWorkerModel('tiny', { backend: 'wasm', worker: '/bundles/no-such-worker.js' })).dispose();
    return { code: null, message: 'loaded', framesOut: 0, leaks: currentLeaksAfterTransfer() };
  } catch (e) {
    return { code: isSimpleIRError(e) ? e.code : null, message: String(e), framesOut: 0, leaks: currentLeaksAfterTransfer() };
  }
};

window.learnInWorker = async (workerUrl, steps) => {
  resetTracking();
  const wm = await workerModel(workerUrl);
  const learner = wm.createOnlineLearner({ stepBudgetMs: 250, cropSize: 32, batchSize: 2, seedPerDomain: 1 });
  const eventTypes: Record<string, number> = {};
  let completed = false;
  let framesAfterFirstStep = 0;
  learner.events$.subscribe({ next: (e: LearnerEvent) => (eventTypes[e.type] = (eventTypes[e.type] ?? 0) + 1), complete: () => (completed = true) });
  const degrade = createDegradation('rain', { seed: 1, strength: 0.6 });
  try {
    await firstValueFrom(
      fromCamera({ width: 64, height: 48 }).pipe(
        tap(trackFrame),
        reviewLearning<VideoFrame>(learner, { domain: 'scene-rain', pairs: 'synthesize', degrade }),
        restore(wm, { mode: 'live' }),
        tap((f) => {
          f.close();
          if (learner.steps > 0) framesAfterFirstStep++;
        }),
        (source) => new Observable<number>((s) => source.subscribe({ next: () => (learner.steps >= steps && framesAfterFirstStep >= 3 ? s.next(learner.steps) : undefined), error: (e) => s.error(e) })),
      ),
    );
    const result = { steps: learner.steps, eventTypes, framesAfterFirstStep };
    learner.dispose();
    await tick(300);
    return { ...result, completed, leaks: currentLeaksAfterTransfer() };
  } finally {
    degrade.dispose();
    wm.dispose();
  }
};
