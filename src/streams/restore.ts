/**
 * The `restore` operator: runs SimpleIR on the frames of a stream, either losslessly (every frame, in
 * order, pulling from the source so it never floods) or live (latest frame wins), and reports metrics.
 */
import type * as tf from '@tensorflow/tfjs';
import { Subject, type Observable } from 'rxjs';
import { invalidArgument, isOptionsObject, SimpleIRError, type SimpleIRErrorCode } from '../core/errors.js';
import { checkLowLight } from '../core/model/exposure.js';
import type { PredictOptions } from '../core/model/simpleir.js';
import { selectFrameConverter, type FrameConverter, type FrameTensor } from './frames.js';
import { MetricsRecorder, type ModelRuntime, type RestoreMetrics } from './metrics.js';
import { onDemand, pullFrom, pullSource, type PullOperator, type PullProducer, type PullSource, type PullSubscription } from './pull.js';
import { temporalStage, type TemporalOption, type TemporalStage } from './temporal.js';

/** `lossless`: every frame, in order, with backpressure. `live`: while busy, the newest frame replaces the waiting one. */
export type RestoreMode = 'lossless' | 'live';

/** What the operator needs of a model: a forward pass (a `SimpleIR` is one; synchronous or, for engines that run elsewhere, a promise). */
export interface FramePredictor {
  /** `[1, H, W, 3]` float in [0, 1] to a new tensor of the same shape, owned by the caller; `x` stays the caller's. */
  predict(x: tf.Tensor4D, options?: PredictOptions): tf.Tensor4D | Promise<tf.Tensor4D>;
  /**
   * Optional: rejects (`NON_FINITE`) when the weights hold NaN or infinity. Called before each frame's
   * forward pass; it should cost nothing while the weights are unchanged (see `SimpleIR.assertFiniteWeights`).
   */
  assertFiniteWeights?(): Promise<void>;
}

/**
 * A model that restores whole frames itself, away from this thread: a model in a worker (from
 * `loadWorkerModel` in `simpleir-stream/browser`). The `restore` operator hands it each frame and awaits
 * the restored one, keeping its own order, live/lossless policy, metrics and closing rules.
 */
export interface FrameRestoringModel<F = unknown> {
  /**
   * Restores one frame. Takes `frame` over: closes (or transfers) it on every path, also when it
   * rejects. Resolves with a new frame with the input's timestamp and duration, owned by the caller.
   * Rejects with a `SimpleIRError` (`WORKER_FAILED` once the worker is gone, `DISPOSED` after `dispose()`).
   */
  restoreFrame(frame: F, options: PredictOptions): Promise<F>;
  /** Where the model runs: its backend and tensor memory, for the metrics. */
  readonly runtime: ModelRuntime;
}

/** True when `model` restores whole frames itself (a {@link FrameRestoringModel}). */
function restoresFrames<F>(model: FramePredictor | FrameRestoringModel<F>): model is FrameRestoringModel<F> {
  return typeof (model as Partial<FrameRestoringModel<F>>).restoreFrame === 'function';
}

/** Options of the {@link restore} operator and {@link createRestorer} (a stream of frames; `SimpleIR.restore` of one image takes `ModelRestoreOptions`). Tiling options and `lowLight` are passed to `predict`. */
export interface RestoreOperatorOptions<F> extends PredictOptions {
  /** Default `lossless`. */
  readonly mode?: RestoreMode;
  /**
   * Frames taken from the source and not yet emitted, at most (default 2). In lossless mode with a
   * pull source, also the number of frames requested ahead.
   */
  readonly maxInFlight?: number;
  /** The converter of the frames; default: the first registered one that accepts the first frame. */
  readonly converter?: FrameConverter<F, any>;
  /** Called with each metrics report: at most once per `metricsIntervalMs`, and once at the end (`done`). */
  readonly onMetrics?: (metrics: RestoreMetrics) => void;
  /** Minimum time between metrics reports in ms (default 250). */
  readonly metricsIntervalMs?: number;
  /** Live mode: called with each frame that failed and was skipped (a `SimpleIRError` with `details.timestamp`). */
  readonly onFrameError?: (error: SimpleIRError) => void;
  /**
   * Temporal restoration (default off): `true`, or options such as `{ frames: 5 }`. Each per-frame
   * output is fused with the last `frames - 1` outputs, aligned to it, so that short-lived occluders
   * the network leaves (rain streaks, flakes) are removed, while moving objects and cuts keep the
   * per-frame output. Past frames only (no added latency); the history is cleared when timestamps
   * jump (`maxGapMs`) or go back. Runs on the tensors of the current backend (no readback on webgpu).
   * See `docs/temporal.md`.
   */
  readonly temporal?: TemporalOption;
}

/** An operator together with the metrics of its runs. */
export interface Restorer<F> {
  /** The operator, as returned by {@link restore}. */
  readonly operator: PullOperator<F, F>;
  /**
   * The metrics reports of the runs of `operator` (usually one). Hot; the last report of a run has
   * `done: true`, and `metrics$` completes right after it, when the restored stream completes, fails or
   * is unsubscribed (and no other run of the operator is active). A Restorer serves one run: make a new
   * one to restore again.
   */
  readonly metrics$: Observable<RestoreMetrics>;
}

/** Errors that are not about one frame: they end a live stream too. */
const FATAL_CODES: readonly SimpleIRErrorCode[] = ['DISPOSED', 'DEVICE_LOST', 'WORKER_FAILED'];

/**
 * Restores every frame of a stream with `model`; frames keep their timestamp and duration. The
 * operator closes each input frame once converted (and every frame it drops); the subscriber owns
 * the frames it receives.
 *
 * - `lossless` (default): every frame, in order. When the source is a {@link PullSource} (the file
 *   sources are), the operator asks for `maxInFlight` frames at start and one more per frame it emits,
 *   so decoding never runs ahead; synchronous operators in between (`map`, `filter`, `tap`, ...) keep
 *   this (see {@link pullFrom}). A push source, or a pull source behind an asynchronous operator
 *   (`delay`, `observeOn`), is buffered in order without bound (its length is `queued` in the metrics). The first failing
 *   frame ends the stream with a `SimpleIRError` carrying `details.timestamp`. The result is itself
 *   a {@link PullSource}: a consumer that pulls (e.g. the y4m sink) holds the whole chain back.
 * - `live`: at most `maxInFlight` frames in work and one waiting; a newer frame replaces the waiting
 *   one, which is closed at once and counted as dropped. A failing frame is counted, reported to
 *   `onFrameError`, and skipped (except `DISPOSED`, `DEVICE_LOST` and `WORKER_FAILED`, which end the stream).
 *
 * With `temporal`, a frame size whose history the backend cannot hold (wasm: 4K with the defaults) ends
 * the stream in either mode with `INVALID_ARGUMENT` saying what fits, before the network runs on it.
 *
 * `model` is a {@link FramePredictor} (a `SimpleIR`: frames are converted to tensors here), or a
 * {@link FrameRestoringModel} (a model in a worker: frames go to it whole, and come back restored).
 *
 * Unsubscribing releases everything: waiting frames are closed, frames in work are closed when their
 * step ends (their tensors disposed, their outputs closed), and the source is unsubscribed.
 */
export function restore<F>(model: FramePredictor | FrameRestoringModel<F>, options: RestoreOperatorOptions<F> = {}): PullOperator<F, F> {
  return createRestorer(model, options).operator;
}

/** Like {@link restore}, and also gives the metrics as an Observable. */
export function createRestorer<F>(model: FramePredictor | FrameRestoringModel<F>, options: RestoreOperatorOptions<F> = {}): Restorer<F> {
  const m = model as Partial<FramePredictor & FrameRestoringModel<F>> | null;
  if (typeof m?.predict !== 'function' && typeof m?.restoreFrame !== 'function') {
    throw invalidArgument('restore(model)', 'a model with predict(x) (a SimpleIR from SimpleIR.load or SimpleIR.create) or restoreFrame(frame) (a model from loadWorkerModel)', model);
  }
  if (!isOptionsObject(options)) throw invalidArgument('restore(model, options)', "an options object such as { mode: 'live' }", options);
  const mode = options.mode ?? 'lossless';
  if (mode !== 'lossless' && mode !== 'live') {
    throw new SimpleIRError('INVALID_ARGUMENT', `restore: mode must be 'lossless' or 'live', got ${JSON.stringify(mode)}`);
  }
  const maxInFlight = options.maxInFlight ?? 2;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new SimpleIRError('INVALID_ARGUMENT', `restore: maxInFlight must be an integer >= 1, got ${String(maxInFlight)}`);
  }
  checkLowLight(options.lowLight, 'restore(model, options)');
  // Checks the temporal options now (each run builds its own stage).
  const temporal = temporalStage(options.temporal);
  temporal?.dispose();
  if (temporal && restoresFrames(model)) {
    throw new SimpleIRError('INVALID_ARGUMENT', 'restore: temporal restoration runs on this thread; use a SimpleIR (not a model in a worker) with { temporal: true }, or drop the option.');
  }
  const subject = new Subject<RestoreMetrics>();
  const report = (m: RestoreMetrics): void => {
    options.onMetrics?.(m);
    subject.next(m);
  };
  const settings: RunSettings<F> = { ...options, mode, maxInFlight, report };
  let active = 0;
  const operator = (source: Observable<F>): PullSource<F> =>
    pullSource<F>((producer) => {
      const run = new RestoreRun(model, settings, source, producer);
      active++;
      let ended = false;
      // Every end of a run (complete, error, unsubscribe) comes here, after its final report.
      const end = (): void => {
        run.shutdown();
        if (ended) return;
        ended = true;
        if (--active === 0) subject.complete();
      };
      run.start();
      return end;
    });
  return { operator, metrics$: subject.asObservable() };
}

interface RunSettings<F> extends RestoreOperatorOptions<F> {
  readonly mode: RestoreMode;
  readonly maxInFlight: number;
  readonly report: (m: RestoreMetrics) => void;
}

/** A frame taken from the source. */
interface Entry<F> {
  readonly frame: F;
  /** `performance.now()` at arrival. */
  readonly arrival: number;
}

/** A frame in work: its output or error once settled. */
interface Job<F> extends Entry<F> {
  settled: boolean;
  /** Temporal restoration: settles when the previous frame's temporal step is done (display order). */
  turn?: Promise<void>;
  /** Temporal restoration: lets the next frame take its temporal step. */
  endTurn?: () => void;
  output?: F;
  error?: SimpleIRError;
  /** The error ends the stream in live mode too: every later frame would fail the same way. */
  endsStream?: boolean;
}

/** One subscription of the operator. */
class RestoreRun<F> {
  private readonly metrics: MetricsRecorder;
  private converter: FrameConverter<F, unknown> | undefined;
  private upstream: PullSubscription | undefined;
  private queue: Entry<F>[] = [];
  private jobs: Job<F>[] = [];
  private upstreamDone = false;
  private closed = false;
  /** Runs {@link emitReady} once downstream asks again. */
  private readonly waitForDemand: () => void;
  /** Temporal restoration, when enabled: its state and the end of the last started frame's turn. */
  private readonly temporal: TemporalStage | undefined;
  private temporalTurn: Promise<void> = Promise.resolve();

  constructor(
    private readonly model: FramePredictor | FrameRestoringModel<F>,
    private readonly settings: RunSettings<F>,
    private readonly source: Observable<F>,
    private readonly producer: PullProducer<F>,
  ) {
    this.metrics = new MetricsRecorder(settings.mode, settings.report, settings.metricsIntervalMs, restoresFrames(model) ? model.runtime : undefined);
    this.converter = settings.converter;
    this.temporal = temporalStage(settings.temporal);
    this.waitForDemand = onDemand(producer, () => {
      if (!this.closed) this.emitReady();
    });
  }

  start(): void {
    const observer = {
      next: (frame: F) => this.onFrame(frame),
      error: (e: unknown) => this.fail(e),
      complete: () => {
        this.upstreamDone = true;
        this.settle();
      },
    };
    let upstream: PullSubscription;
    if (this.settings.mode === 'lossless') {
      upstream = pullFrom(this.source, observer);
    } else {
      const sub = this.source.subscribe(observer);
      upstream = { request: () => {}, unsubscribe: () => sub.unsubscribe() };
    }
    this.upstream = upstream;
    // The source may have finished (or failed) synchronously inside subscribe.
    if (this.closed) upstream.unsubscribe();
    else upstream.request(this.settings.maxInFlight);
    this.metrics.changed();
  }

  /** Releases everything and sends the last metrics report. Idempotent. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.unsubscribe();
    const c = this.metrics.counters;
    for (const entry of this.queue) {
      this.release(entry.frame);
      c.dropped++;
    }
    for (const job of this.jobs) {
      if (job.error) c.errors++;
      else c.dropped++;
      // Unsettled jobs close their own output when they settle (they see `closed`).
      if (job.output !== undefined) this.closeOutput(job.output);
    }
    this.queue = [];
    this.jobs = [];
    this.temporal?.dispose();
    this.count();
    this.metrics.finish();
  }

  private onFrame(frame: F): void {
    if (this.closed) {
      this.release(frame);
      return;
    }
    this.metrics.counters.framesIn++;
    if (this.settings.mode === 'live' && this.queue.length > 0) {
      for (const old of this.queue.splice(0)) {
        this.release(old.frame);
        this.metrics.counters.dropped++;
      }
    }
    this.queue.push({ frame, arrival: performance.now() });
    this.pump();
  }

  /** Starts waiting frames while there is room. */
  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.jobs.length < this.settings.maxInFlight) {
      const job: Job<F> = { ...this.queue.shift()!, settled: false };
      if (this.temporal) {
        job.turn = this.temporalTurn;
        this.temporalTurn = new Promise<void>((resolve) => (job.endTurn = resolve));
      }
      this.jobs.push(job);
      const model = this.model;
      void (restoresFrames(model) ? this.handOver(job, model) : this.work(job, model));
    }
    this.count();
    this.metrics.changed();
  }

  /** Converts, predicts and converts back one frame; never throws (errors go to `job.error`). */
  private async work(job: Job<F>, model: FramePredictor): Promise<void> {
    let x: tf.Tensor4D | undefined;
    let y: tf.Tensor4D | undefined;
    let stage = 'conversion';
    try {
      let converter: FrameConverter<F, unknown>;
      let t: FrameTensor<unknown>;
      let timestamp: number | undefined;
      try {
        converter = this.converterFor(job.frame);
        timestamp = this.timestampOf(job.frame);
        t = await converter.toTensor(job.frame);
      } finally {
        this.release(job.frame);
      }
      x = t.x;
      checkInput(x, converter.name);
      if (this.closed) return;
      if (this.temporal) {
        // A frame size the backend cannot hold the temporal history of is refused before the network
        // runs, and ends the stream (also live): each later frame of the size would fail alike.
        stage = 'temporal restoration';
        try {
          this.temporal.assertFits(x.shape[1], x.shape[2], true);
        } catch (e) {
          job.endsStream = true;
          throw e;
        }
      }
      stage = 'the model';
      // Broken weights would give black frames and no error on wasm, whose clip turns NaN into 0.
      await model.assertFiniteWeights?.();
      if (this.closed) return;
      y = await model.predict(x, { tileSize: this.settings.tileSize, overlap: this.settings.overlap, lowLight: this.settings.lowLight });
      if (this.temporal) {
        stage = 'temporal restoration';
        await job.turn;
        if (this.closed) return;
        // The degraded input guides the temporal step (input guidance, docs/temporal.md).
        const fused = this.temporal.process(y, timestamp, x);
        y.dispose();
        y = fused;
      }
      x.dispose();
      x = undefined;
      stage = 'output conversion';
      const out = await converter.fromTensor(y, t.info);
      if (this.closed) this.closeOutput(out);
      else job.output = out;
    } catch (e) {
      job.error = frameError(e, this.timestampOf(job.frame), stage);
    } finally {
      x?.dispose();
      y?.dispose();
      job.endTurn?.();
      job.settled = true;
    }
    if (!this.closed) this.emitReady();
  }

  /** Hands one frame whole to a model that restores frames itself (in a worker); never throws. */
  private async handOver(job: Job<F>, model: FrameRestoringModel<F>): Promise<void> {
    let stage = 'conversion';
    try {
      let pending: Promise<F>;
      try {
        // Checks the frame against the stream's converter (which also closes outputs).
        this.converterFor(job.frame);
        stage = 'the model';
        pending = model.restoreFrame(job.frame, { tileSize: this.settings.tileSize, overlap: this.settings.overlap, lowLight: this.settings.lowLight });
      } catch (e) {
        // Thrown before the model took the frame over.
        this.release(job.frame);
        throw e;
      }
      const out = await pending;
      if (this.closed) this.closeOutput(out);
      else job.output = out;
    } catch (e) {
      job.error = frameError(e, this.timestampOf(job.frame), stage);
    } finally {
      job.settled = true;
    }
    if (!this.closed) this.emitReady();
  }

  /** Emits settled jobs in order while downstream wants them, then refills and checks for the end. */
  private emitReady(): void {
    const c = this.metrics.counters;
    while (!this.closed && this.jobs[0]?.settled) {
      const job = this.jobs[0];
      if (job.error) {
        this.jobs.shift();
        c.errors++;
        if (this.settings.mode === 'lossless' || job.endsStream || FATAL_CODES.includes(job.error.code)) {
          this.fail(job.error);
          return;
        }
        this.notifyFrameError(job.error);
        continue;
      }
      if (this.producer.demand <= 0) {
        this.waitForDemand();
        break;
      }
      this.jobs.shift();
      this.metrics.output(job.arrival);
      this.count();
      this.producer.next(job.output!);
      this.upstream?.request(1);
    }
    this.pump();
    this.settle();
  }

  /** Completes once the source has and every frame is out. */
  private settle(): void {
    if (this.closed || !this.upstreamDone || this.queue.length > 0 || this.jobs.length > 0) return;
    this.shutdown();
    this.producer.complete();
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    this.shutdown();
    this.producer.error(e);
  }

  private converterFor(frame: F): FrameConverter<F, unknown> {
    if (!this.converter) {
      this.converter = selectFrameConverter(frame);
    } else if (!this.converter.matches(frame)) {
      throw new SimpleIRError('INVALID_IMAGE', `not a frame the '${this.converter.name}' converter accepts (the stream's first frame chose it)`);
    }
    return this.converter;
  }

  /** Closes a frame taken from the source; never throws. */
  private release(frame: F): void {
    try {
      const c = this.converter?.matches(frame) ? this.converter : undefined;
      if (c) c.close(frame);
      else (frame as { close?: () => void } | null)?.close?.();
    } catch {
      // Releasing is best effort: a frame that cannot be closed is already unusable.
    }
  }

  private closeOutput(frame: F): void {
    try {
      this.converter?.close(frame);
    } catch {
      // As in release().
    }
  }

  private timestampOf(frame: F): number | undefined {
    try {
      const t = this.converter?.matches(frame) ? this.converter.timestamp(frame) : (frame as { timestamp?: unknown } | null)?.timestamp;
      return typeof t === 'number' ? t : undefined;
    } catch {
      return undefined;
    }
  }

  private notifyFrameError(error: SimpleIRError): void {
    try {
      this.settings.onFrameError?.(error);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  }

  private count(): void {
    this.metrics.counters.queued = this.queue.length;
    this.metrics.counters.inFlight = this.jobs.length;
  }
}

/**
 * One frame through `converter` and `model`, as the operator restores a frame (without temporal
 * restoration): read (the frame is closed once read, on every path), checked, restored, and written
 * back as a new frame with its timestamp and duration; tensors disposed. The model worker runs it on
 * each frame the page sends.
 * @throws SimpleIRError as the converter and the model do (`INVALID_IMAGE`, `NON_FINITE`, ...).
 */
export async function restoreFrameWith<F>(model: FramePredictor, converter: FrameConverter<F, unknown>, frame: F, options: PredictOptions = {}): Promise<F> {
  let t: FrameTensor<unknown>;
  try {
    t = await converter.toTensor(frame);
  } finally {
    converter.close(frame);
  }
  let y: tf.Tensor4D | undefined;
  try {
    checkInput(t.x, converter.name);
    await model.assertFiniteWeights?.();
    y = await model.predict(t.x, options);
    return await converter.fromTensor(y, t.info);
  } finally {
    t.x.dispose();
    y?.dispose();
  }
}

function checkInput(x: tf.Tensor4D, converter: string): void {
  const s = x?.shape;
  if (!s || s.length !== 4 || s[0] !== 1 || s[3] !== 3 || x.dtype !== 'float32') {
    throw new SimpleIRError('INVALID_IMAGE', `the '${converter}' converter gave a tensor of shape [${String(s)}] (${x?.dtype}); [1, H, W, 3] float32 expected`);
  }
}

/** A frame's failure as a SimpleIRError carrying its timestamp. */
function frameError(e: unknown, timestamp: number | undefined, stage: string): SimpleIRError {
  const at = timestamp === undefined ? 'frame' : `frame at ${timestamp} µs`;
  if (e instanceof SimpleIRError) {
    if (e.details.timestamp === timestamp) return e;
    return new SimpleIRError(e.code, `${at}: ${e.message}`, { ...e.details, timestamp }, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SimpleIRError('INVALID_IMAGE', `${at}: ${stage} failed: ${message}`, { timestamp, stage }, { cause: e });
}
