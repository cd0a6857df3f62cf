/**
 * Live numbers of a restore stream (frames in/out/dropped, fps, latency percentiles, backend, tensor
 * memory) and the recorder that keeps them and reports them a few times a second.
 */
import * as tf from '@tensorflow/tfjs';

/** One report of a running (or finished) restore stream. */
export interface RestoreMetrics {
  /** The stream's mode. */
  readonly mode: 'lossless' | 'live';
  /** Frames received from the source. */
  readonly framesIn: number;
  /** Frames emitted downstream. */
  readonly framesOut: number;
  /**
   * Frames released without output: replaced by a newer frame in live mode, or abandoned by an
   * unsubscribe or a fatal error. At the end, `framesIn = framesOut + dropped + errors`.
   */
  readonly dropped: number;
  /** Frames that failed (conversion, model or output); in lossless mode the first one ends the stream. */
  readonly errors: number;
  /** Frames received and waiting to start (live mode: 0 or 1). */
  readonly queued: number;
  /** Frames started and not yet emitted. */
  readonly inFlight: number;
  /** Output frames per second over the last second. */
  readonly fps: number;
  /** Median time from a frame's arrival to its output, in ms, over the last 256 outputs (0 before any). */
  readonly latencyP50: number;
  /** 95th percentile of the same, in ms. */
  readonly latencyP95: number;
  /** The tfjs backend (`tf.getBackend()`; of the worker, for a model in a worker). */
  readonly backend: string;
  /** Bytes held by live tensors (`tf.memory().numBytes`), all of tfjs (the worker's, for a model in a worker), not this stream alone. */
  readonly tensorBytes: number;
  /** Live tensors (`tf.memory().numTensors`), all of tfjs. */
  readonly numTensors: number;
  /** Milliseconds since the stream was subscribed. */
  readonly elapsedMs: number;
  /** True on the last report of a stream (completed, failed or unsubscribed). */
  readonly done: boolean;
}

/** Where a stream's model runs: its backend and tensor memory (default: this thread's tfjs). */
export interface ModelRuntime {
  /** The tfjs backend, e.g. `wasm`. */
  backend(): string;
  /** Live tensors and their bytes, as `tf.memory()` counts them. */
  memory(): { readonly numBytes: number; readonly numTensors: number };
}

/** This thread's tfjs. */
export const localRuntime: ModelRuntime = {
  backend: () => tf.getBackend() ?? 'none',
  memory: () => tf.memory(),
};

/** Counters a stream updates as frames move. */
export interface MetricsCounters {
  framesIn: number;
  framesOut: number;
  dropped: number;
  errors: number;
  queued: number;
  inFlight: number;
}

const FPS_WINDOW_MS = 1000;
const LATENCY_WINDOW = 256;

/** The `q` quantile (0..1) of `values` by the nearest-rank method; 0 when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Keeps the counters and windows of one stream and reports snapshots to `report`: at most once per
 * `intervalMs` (a change inside the interval is reported at its end), and once more, with
 * `done: true`, from {@link MetricsRecorder.finish}.
 */
export class MetricsRecorder {
  /** The live counters; change them, then call {@link MetricsRecorder.changed}. */
  readonly counters: MetricsCounters = { framesIn: 0, framesOut: 0, dropped: 0, errors: 0, queued: 0, inFlight: 0 };
  private readonly start = performance.now();
  private readonly outputTimes: number[] = [];
  private readonly latencies: number[] = [];
  private lastReport = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private finished = false;

  constructor(
    private readonly mode: 'lossless' | 'live',
    private readonly report: (m: RestoreMetrics) => void,
    private readonly intervalMs = 250,
    private readonly runtime: ModelRuntime = localRuntime,
  ) {}

  /** Records one output whose frame arrived at `arrival` (a `performance.now()` time). */
  output(arrival: number): void {
    const now = performance.now();
    this.counters.framesOut++;
    this.outputTimes.push(now);
    while (this.outputTimes.length > 0 && this.outputTimes[0]! < now - FPS_WINDOW_MS) this.outputTimes.shift();
    this.latencies.push(now - arrival);
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.shift();
  }

  /** The current numbers. */
  snapshot(done = false): RestoreMetrics {
    const now = performance.now();
    const recent = this.outputTimes.filter((t) => t >= now - FPS_WINDOW_MS);
    // Before a full second has passed, the rate is over the time elapsed so far.
    const span = Math.min(FPS_WINDOW_MS, now - this.start);
    const memory = this.runtime.memory();
    return {
      mode: this.mode,
      ...this.counters,
      fps: span > 0 ? (recent.length * 1000) / span : 0,
      latencyP50: quantile(this.latencies, 0.5),
      latencyP95: quantile(this.latencies, 0.95),
      backend: this.runtime.backend(),
      tensorBytes: memory.numBytes,
      numTensors: memory.numTensors,
      elapsedMs: now - this.start,
      done,
    };
  }

  /** Reports now if the last report is older than the interval, else once at the interval's end. */
  changed(): void {
    if (this.finished || this.timer !== undefined) return;
    const wait = this.lastReport + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.emit(false);
      return;
    }
    // Timers may fire a little early against performance.now(): changed() checks again then.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, Math.ceil(wait));
  }

  /** Sends the final report (`done: true`) and stops; later calls do nothing. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit(true);
  }

  private emit(done: boolean): void {
    this.lastReport = performance.now();
    try {
      this.report(this.snapshot(done));
    } catch (e) {
      // Like an error in an RxJS subscriber without an error handler: thrown later, off the stream.
      setTimeout(() => {
        throw e;
      });
    }
  }
}
