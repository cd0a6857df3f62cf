/**
 * The `temporal` option of the `restore` operator: a {@link TemporalFilter} fed the per-frame outputs
 * in display order, cleared when the timestamps jump (a seek, a long stall, a new source).
 */
import type * as tf from '@tensorflow/tfjs';
import { SimpleIRError } from '../core/errors.js';
import { TemporalFilter, type TemporalFilterOptions } from '../core/temporal/filter.js';
import { assertTemporalFits } from '../core/temporal/memory.js';

/** Options of temporal restoration in a stream: the filter's, plus when timestamps mean a discontinuity. */
export interface TemporalStreamOptions extends TemporalFilterOptions {
  /**
   * A forward jump of the timestamps larger than this (milliseconds) clears the history (default 500,
   * several frames at any usual rate; dropped frames in live mode stay well below it). A timestamp
   * earlier than the previous frame's (a seek back, a loop) always clears it.
   */
  readonly maxGapMs?: number;
}

/** `restore(model, { temporal })`: `true` for the defaults, or the options. `false`/absent: per-frame only. */
export type TemporalOption = boolean | TemporalStreamOptions;

/**
 * The stream's temporal stage: checks the options at once (so `restore()` throws, not the first
 * frame), then {@link process} runs the filter on each output in display order.
 */
export class TemporalStage {
  private readonly filter: TemporalFilter;
  private readonly maxGapUs: number;
  private lastTimestamp: number | undefined;
  /** The frame size last checked against the backend's memory (`assertTemporalFits`). */
  private checkedSize = '';

  /** @throws SimpleIRError `INVALID_ARGUMENT` for bad options. */
  constructor(options: TemporalStreamOptions) {
    const { maxGapMs = 500, ...filterOptions } = options;
    if (!(typeof maxGapMs === 'number' && maxGapMs > 0)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `restore: temporal.maxGapMs must be a positive number of milliseconds, got ${JSON.stringify(maxGapMs) ?? String(maxGapMs)}`);
    }
    this.filter = new TemporalFilter(filterOptions, 'restore: temporal');
    this.maxGapUs = maxGapMs * 1000;
  }

  /** Past frames held now. */
  get length(): number {
    return this.filter.length;
  }

  /**
   * The temporal output for the per-frame output `y` of the frame at `timestamp` (µs; `undefined` when
   * unknown) and, when given, the degraded input `x` it was restored from (input guidance): a new
   * tensor, `y` and `x` untouched. Clears the history first on a timestamp discontinuity.
   * @throws SimpleIRError `INVALID_ARGUMENT` when the frame size cannot fit the backend's memory (wasm: 4 GiB).
   */
  process(y: tf.Tensor4D, timestamp: number | undefined, x?: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = y.shape;
    this.assertFits(h, w, x !== undefined);
    if (timestamp !== undefined && Number.isFinite(timestamp)) {
      const last = this.lastTimestamp;
      if (last !== undefined && (timestamp < last || timestamp - last > this.maxGapUs)) this.filter.reset();
      this.lastTimestamp = timestamp;
    }
    return this.filter.process(y, x);
  }

  /**
   * Throws where `height` x `width` frames cannot fit the backend's memory with this stage's options
   * (`withInput`: the degraded inputs are given, so input guidance runs when asked for). Checks a size
   * once; {@link process} calls it too, and the stream calls it before the network runs, so a refused
   * size costs no prediction.
   * @throws SimpleIRError `INVALID_ARGUMENT` saying what it needs and what fits (`assertTemporalFits`).
   */
  assertFits(height: number, width: number, withInput: boolean): void {
    const size = `${height}x${width}`;
    if (this.checkedSize === size) return;
    assertTemporalFits(height, width, { frames: this.filter.options.frames, guide: this.filter.options.guide && withInput });
    this.checkedSize = size;
  }

  /** Frees every tensor the stage holds. Idempotent. */
  dispose(): void {
    this.filter.dispose();
  }
}

/**
 * The stage for a `temporal` option, or `undefined` for per-frame restoration.
 * @throws SimpleIRError `INVALID_ARGUMENT` when the option is neither a boolean nor an options object, or holds a bad field.
 */
export function temporalStage(option: TemporalOption | undefined): TemporalStage | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return new TemporalStage({});
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `restore: temporal must be true, false or an options object such as { frames: 5 }, got ${JSON.stringify(option) ?? String(option)}`);
  }
  return new TemporalStage(option);
}
