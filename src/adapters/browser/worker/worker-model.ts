/**
 * The model in a dedicated module worker: `loadWorkerModel` starts the worker (which owns the backend,
 * the model and its online learner) and gives a model the `restore` operator and `reviewLearning` take
 * like a `SimpleIR`. VideoFrames are transferred to the worker and the restored ones transferred back,
 * so the page's thread only posts and receives them.
 */
import { Observable, Subject } from 'rxjs';
import type { BackendInfo, BackendName, BackendOptions } from '../../../core/backend.js';
import { isPresetName } from '../../../core/config.js';
import type { Degradation } from '../../../core/degrade/index.js';
import { describeValue, invalidArgument, isOptionsObject, SimpleIRError } from '../../../core/errors.js';
import type { PredictOptions } from '../../../core/model/simpleir.js';
import type { WeightSource } from '../../../core/model/source.js';
import type { LearnerEvent, MemoryCounts, OnlineLearnerOptions } from '../../../core/review/online/index.js';
import type { ModelRuntime } from '../../../streams/metrics.js';
import type { FrameRestoringModel } from '../../../streams/restore.js';
import type { RemoteLearner } from '../../../streams/review-learning.js';
import { fromErrorData, type FromWorker, type RuntimeStats, type ToWorker, type WorkerWeights } from './protocol.js';

/** Options of {@link loadWorkerModel}. */
export interface WorkerModelOptions extends Pick<BackendOptions, 'probe' | 'probeBudgetMs' | 'cache'> {
  /**
   * The worker's backend, chosen inside the worker as `selectBackend` does (default `'auto'`): the
   * worker requests its own WebGPU device, or runs wasm (or webgl, cpu).
   */
  readonly backend?: BackendName | readonly BackendName[] | 'auto';
  /** Where the worker loads the wasm backend's `.wasm` files from (resolved against the page's URL). Default: the binaries built into the package. */
  readonly wasmPaths?: string;
  /** Base URL of the presets' weight files (resolved against the page's URL); default: the weights built into the package. */
  readonly weightsBaseUrl?: string | URL;
  /**
   * The worker: a URL of the worker script, or a `Worker` you started from it. Default
   * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`, i.e. the package's
   * `dist/worker.js` (`simpleir-stream/worker`), which Vite and webpack find and emit from that line.
   * Pass it where a build does not (plain esbuild: bundle `simpleir-stream/worker` as an entry of its own).
   */
  readonly worker?: string | URL | Worker;
}

/** The package's worker, beside this module in dist/. Bundlers look for exactly this expression. */
function packagedWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

function startWorker(choice: WorkerModelOptions['worker']): Worker {
  if (typeof Worker === 'function' && choice instanceof Worker) return choice;
  try {
    if (choice === undefined) return packagedWorker();
    return new Worker(new URL(String(choice), globalThis.location?.href), { type: 'module' });
  } catch (e) {
    throw new SimpleIRError(
      'WORKER_FAILED',
      `The model worker could not be started (${e instanceof Error ? e.message : String(e)}). Serve simpleir-stream's dist/worker.js ` +
        "and pass its URL as loadWorkerModel(source, { worker: url }) (the CommonJS build and some bundlers cannot locate it themselves).",
      { worker: choice === undefined ? 'worker.js' : String(choice) },
      { cause: e },
    );
  }
}

/** An absolute URL string for the worker, whose own base URL is not the page's. */
function absolute(u: string | URL): string {
  return new URL(String(u), globalThis.location?.href).href;
}

/** Bytes copied into an ArrayBuffer of their own (which is then transferred). */
function ownBuffer(b: ArrayBuffer | Uint8Array): ArrayBuffer {
  const view = b instanceof Uint8Array ? b : new Uint8Array(b);
  return view.slice().buffer;
}

function workerWeights(source: WeightSource): { weights: WorkerWeights; transfer: Transferable[] } {
  if (typeof source === 'string') return { weights: isPresetName(source) ? source : absolute(source), transfer: [] };
  if (source instanceof URL) return { weights: source.href, transfer: [] };
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    const buffer = ownBuffer(source);
    return { weights: buffer, transfer: [buffer] };
  }
  if (isOptionsObject(source) && 'manifest' in source && 'data' in source) {
    const data = ownBuffer(source.data);
    const manifest = typeof source.manifest === 'string' ? source.manifest : JSON.stringify(source.manifest);
    return { weights: { manifest, data }, transfer: [data] };
  }
  throw invalidArgument('loadWorkerModel(source)', "a preset name ('tiny', 'base'), a URL, a packed buffer or { manifest, data }", source);
}

interface Pending {
  resolve(frame: VideoFrame): void;
  reject(e: SimpleIRError): void;
}

/**
 * Starts a module worker that selects a backend and loads `source` (as `SimpleIR.load` does), and
 * resolves with the model once it is ready. Use it with `restore(model, ...)` (and
 * `reviewLearning(model.createOnlineLearner())`) as a `SimpleIR`; `dispose()` ends the worker.
 * @throws SimpleIRError `WORKER_FAILED` when the worker script cannot be started or loaded; the worker's
 *   own error (`WEIGHTS_NOT_FOUND`, `BACKEND_UNAVAILABLE`, ...) when it cannot load the model.
 */
export async function loadWorkerModel(source: WeightSource, options: WorkerModelOptions = {}): Promise<WorkerModel> {
  if (!isOptionsObject(options)) throw invalidArgument('loadWorkerModel(source, options)', "an options object such as { backend: 'wasm' }", options);
  const { weights, transfer } = workerWeights(source);
  const worker = startWorker(options.worker);
  const init: ToWorker = {
    t: 'init',
    weights,
    ...(options.weightsBaseUrl !== undefined ? { weightsBaseUrl: absolute(options.weightsBaseUrl) } : {}),
    backend: options.backend ?? 'auto',
    backendOptions: {
      ...(options.wasmPaths !== undefined ? { wasmPaths: absolute(options.wasmPaths) } : {}),
      ...(options.probe !== undefined ? { probe: options.probe } : {}),
      ...(options.probeBudgetMs !== undefined ? { probeBudgetMs: options.probeBudgetMs } : {}),
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
    },
  };
  const ready = await new Promise<Extract<FromWorker, { t: 'ready' }>>((resolve, reject) => {
    const done = (): void => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
    };
    const onMessage = (e: MessageEvent<FromWorker>): void => {
      if (e.data.t === 'ready') {
        done();
        resolve(e.data);
      } else if (e.data.t === 'init-failed') {
        done();
        worker.terminate();
        reject(fromErrorData(e.data.error));
      }
    };
    const onError = (e: ErrorEvent): void => {
      done();
      worker.terminate();
      reject(workerFailed('failed to load or start', e));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage(init, transfer);
  });
  return new WorkerModel(worker, ready.backend, ready.preset);
}

function workerFailed(what: string, e: ErrorEvent | undefined): SimpleIRError {
  const reason = e?.message ? `: ${e.message}` : ' (no message: often a worker script that was not found or is not a module)';
  return new SimpleIRError(
    'WORKER_FAILED',
    `The model worker ${what}${reason}. Load a new model with loadWorkerModel(); check that simpleir-stream's worker.js is served (or pass { worker: url }).`,
    { file: e?.filename, line: e?.lineno },
  );
}

/**
 * A SimpleIR running in a dedicated worker, from {@link loadWorkerModel}. `restore(model, ...)` sends it
 * each VideoFrame (transferred) and receives the restored one; the page's thread does no model work.
 */
export class WorkerModel implements FrameRestoringModel<VideoFrame> {
  /** The backend the worker selected. */
  readonly backend: BackendInfo;
  /** The preset loaded, or null for weights from a URL or buffer. */
  readonly preset: string | null;
  /** The worker's backend and tensor memory (updated with each restored frame), for the metrics. */
  readonly runtime: ModelRuntime;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: SimpleIRError | undefined;
  private stats: RuntimeStats;
  private learner: WorkerLearner | undefined;

  /** @internal Use {@link loadWorkerModel}. */
  constructor(
    private readonly worker: Worker,
    backend: BackendInfo,
    preset: string | null,
  ) {
    this.backend = backend;
    this.preset = preset;
    this.stats = { backend: backend.name, numBytes: 0, numTensors: 0 };
    this.runtime = { backend: () => this.stats.backend, memory: () => ({ numBytes: this.stats.numBytes, numTensors: this.stats.numTensors }) };
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.onMessage(e.data));
    worker.addEventListener('error', (e) => {
      // Handled here: the page's stream gets the error (a typed one) instead of the console.
      e.preventDefault();
      this.fail(workerFailed('crashed', e));
    });
    worker.addEventListener('messageerror', () => this.fail(workerFailed('sent a message that could not be read', undefined)));
  }

  /** True once disposed or failed: every call rejects. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Restores one VideoFrame in the worker. The frame is transferred (it is closed here at once, on every
   * path); the result is a new VideoFrame with its timestamp and duration, owned by the caller.
   * @throws SimpleIRError (rejects) `INVALID_IMAGE` for something other than an open VideoFrame, the
   *   worker's error for the frame, `WORKER_FAILED` when the worker crashed, `DISPOSED` after {@link dispose}.
   */
  restoreFrame(frame: VideoFrame, options: PredictOptions = {}): Promise<VideoFrame> {
    if (this.failure) {
      closeQuietly(frame);
      return Promise.reject(this.failure);
    }
    if (typeof VideoFrame !== 'function' || !(frame instanceof VideoFrame)) {
      closeQuietly(frame);
      return Promise.reject(new SimpleIRError('INVALID_IMAGE', `A model in a worker restores VideoFrames; got ${describeValue(frame)}. Make one with new VideoFrame(source, { timestamp }).`));
    }
    const id = ++this.nextId;
    const predictOptions = { tileSize: options.tileSize, overlap: options.overlap, lowLight: options.lowLight };
    return new Promise<VideoFrame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.post({ t: 'restore', id, frame, options: predictOptions }, [frame]);
      } catch (e) {
        this.pending.delete(id);
        closeQuietly(frame);
        reject(new SimpleIRError('INVALID_IMAGE', `The frame could not be sent to the worker (closed already?): ${e instanceof Error ? e.message : String(e)}`, { timestamp: frame.timestamp }));
      }
    });
  }

  /**
   * An online Review Learning learner that trains in the worker, on this model's weights (it replaces
   * one created before). Teach it with `reviewLearning(learner, { domain, pairs: 'synthesize', degrade })`
   * before `restore(model, ...)`: it learns from the frames this model restores, between them, in the worker.
   */
  createOnlineLearner(options: OnlineLearnerOptions = {}): WorkerLearner {
    if (!isOptionsObject(options)) throw invalidArgument('createOnlineLearner(options)', 'an options object (or nothing)', options);
    if (this.failure) throw this.failure;
    this.learner?.dispose();
    this.post({ t: 'learner-create', options: structuredClone(options) });
    const learner = new WorkerLearner((m) => this.post(m), () => {
      if (this.learner === learner) this.learner = undefined;
    });
    this.learner = learner;
    return learner;
  }

  /** Ends the worker (its model, backend and learner with it); pending frames reject with `DISPOSED`. Idempotent. */
  dispose(): void {
    this.fail(new SimpleIRError('DISPOSED', 'This worker model was disposed; load a new one with loadWorkerModel().'));
  }

  private post(m: ToWorker, transfer: Transferable[] = []): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(m, transfer);
  }

  private fail(error: SimpleIRError): void {
    if (this.failure) return;
    this.failure = error;
    this.worker.terminate();
    const pending = [...this.pending.values()];
    this.pending.clear();
    pending.forEach((p) => p.reject(error));
    this.learner?.end(error.code === 'DISPOSED' ? null : error);
    this.learner = undefined;
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'restored':
      case 'rejected': {
        this.stats = m.runtime;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.t === 'restored') {
          if (p) p.resolve(m.frame);
          else m.frame.close();
        } else {
          p?.reject(fromErrorData(m.error));
        }
        break;
      }
      case 'learner-event':
        this.learner?.onEvent(m.event, m.steps, m.paused);
        break;
      case 'learner-failed':
        this.learner?.onFailure(fromErrorData(m.error));
        break;
    }
  }
}

function closeQuietly(frame: unknown): void {
  try {
    (frame as { close?: () => void } | null)?.close?.();
  } catch {
    // Nothing to release.
  }
}

/**
 * The online learner of a {@link WorkerModel}, training in the worker: from
 * `model.createOnlineLearner(options)`, taught by `reviewLearning(learner, { domain, pairs: 'synthesize', degrade })`.
 * Its state here is what the worker last reported.
 */
export class WorkerLearner implements RemoteLearner {
  /** Every event of the learner in the worker (`step`, `hard-sample`, `domain`, `swap`); hot, completes on dispose. */
  readonly events$: Observable<LearnerEvent>;
  private readonly subject = new Subject<LearnerEvent>();
  private stepCount = 0;
  private isPaused = false;
  private counts: MemoryCounts = { memorySize: 0, memoryByDomain: {} };
  private ended = false;
  private readonly failureListeners = new Set<(e: SimpleIRError) => void>();

  /** @internal Made by {@link WorkerModel.createOnlineLearner}. */
  constructor(
    private readonly send: (m: ToWorker) => void,
    private readonly onDispose: () => void,
  ) {
    this.events$ = this.subject.asObservable();
  }

  /** Optimiser steps taken (as last reported). */
  get steps(): number {
    return this.stepCount;
  }

  /** True between {@link pause} and {@link resume}. */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Memory sizes, as last reported. */
  memoryCounts(): MemoryCounts {
    return this.counts;
  }

  /** Stops taking steps (frames keep flowing). */
  pause(): void {
    this.control('pause');
    this.isPaused = true;
  }

  /** Takes steps again. */
  resume(): void {
    this.control('resume');
    this.isPaused = false;
  }

  /** Back to the model's weights from before learning (published at once), memory and domain forgotten. */
  reset(): void {
    this.control('reset');
  }

  /** Ends learning and frees the learner in the worker; `events$` completes. Idempotent. */
  dispose(): void {
    if (this.ended) return;
    try {
      this.send({ t: 'learner-control', op: 'dispose' });
    } catch {
      // The worker is gone, and the learner with it.
    }
    this.end(null);
  }

  /** @internal For `reviewLearning`: teach `domain` from the frames the model restores. */
  teach(lesson: { readonly domain: string; readonly degrade: Degradation }, onError: (e: SimpleIRError) => void): () => void {
    if (this.ended) throw new SimpleIRError('DISPOSED', 'This worker learner was disposed; create a new one with model.createOnlineLearner().');
    this.send({ t: 'learner-teach', domain: lesson.domain, degrade: { kind: lesson.degrade.kind, params: { ...lesson.degrade.params } } });
    this.failureListeners.add(onError);
    return () => {
      this.failureListeners.delete(onError);
      if (this.ended) return;
      try {
        this.send({ t: 'learner-untaught' });
      } catch {
        // The worker is gone.
      }
    };
  }

  /** @internal */
  onEvent(event: LearnerEvent, steps: number, paused: boolean): void {
    this.stepCount = steps;
    this.isPaused = paused;
    this.counts = { memorySize: event.memorySize, memoryByDomain: event.memoryByDomain };
    this.subject.next(event);
  }

  /** @internal A learning failure in the worker: the streams teaching this learner fail with it. */
  onFailure(e: SimpleIRError): void {
    [...this.failureListeners].forEach((l) => l(e));
  }

  /** @internal The learner is gone (disposed, or its worker failed: `error`). */
  end(error: SimpleIRError | null): void {
    if (this.ended) return;
    this.ended = true;
    if (error) this.onFailure(error);
    this.failureListeners.clear();
    this.subject.complete();
    this.onDispose();
  }

  private control(op: 'pause' | 'resume' | 'reset'): void {
    if (this.ended) throw new SimpleIRError('DISPOSED', 'This worker learner was disposed; create a new one with model.createOnlineLearner().');
    this.send({ t: 'learner-control', op });
  }
}
