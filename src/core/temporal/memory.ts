/**
 * How much tensor memory temporal restoration takes at a frame size, and a clear refusal where the
 * backend cannot hold it (wasm: one 4 GiB heap; running past it aborts the process).
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIRError } from '../errors.js';
import type { TemporalFilterOptions } from './filter.js';

/** What sets the temporal filter's memory: the frames fused and input guidance (the inputs are kept and fused too). */
export type TemporalMemoryOptions = Pick<TemporalFilterOptions, 'frames' | 'guide'>;

/** Tensor memory of the temporal filter at one frame size, in bytes. */
export interface TemporalMemory {
  /** One `[1, H, W, 3]` float32 frame. */
  readonly frameBytes: number;
  /** Held between frames: the ring of past outputs (and inputs), their openings and spectra. */
  readonly heldBytes: number;
  /** Held plus what one frame's fusion allocates at its peak (the per-frame output and input included). */
  readonly peakBytes: number;
}

/**
 * Measured with `tf.profile` (peak bytes) and `tf.memory()` (held) over full rings at 270x480, in
 * frames of `[1, H, W, 3]` float32 (`test/temporal-sizes.test.ts` checks them against the filter):
 * held `2.11 (frames - 1) + 0.4` (3.11 with guidance), peak above that `21 + 4.67 (frames - 1)`
 * (guided `41 + 12 (frames - 1)`), plus the frame's input and output. Rounded up.
 */
const HELD_PER_PAST = { outputs: 2.2, guided: 3.2 };
const PEAK_BASE = { outputs: 24, guided: 44 };
const PEAK_PER_PAST = { outputs: 4.8, guided: 12.2 };

/** The temporal filter's tensor memory for `height` x `width` frames (an estimate from measurements, rounded up). */
export function temporalMemory(height: number, width: number, options: TemporalMemoryOptions = {}): TemporalMemory {
  const past = (options.frames ?? 5) - 1;
  const kind = options.guide ? 'guided' : 'outputs';
  const frameBytes = height * width * 3 * 4;
  const heldBytes = Math.ceil(frameBytes * (HELD_PER_PAST[kind] * past + 0.5));
  return { frameBytes, heldBytes, peakBytes: Math.ceil(heldBytes + frameBytes * (PEAK_BASE[kind] + PEAK_PER_PAST[kind] * past)) };
}

/** Tensor memory the wasm backend can use: its 4 GiB heap less room for the model and the frames' conversion. */
export const WASM_TEMPORAL_BUDGET = 3.5 * 2 ** 30;

const GIB = 2 ** 30;

/**
 * Throws where temporal restoration of `height` x `width` frames cannot fit the current backend:
 * on wasm, when its peak passes {@link WASM_TEMPORAL_BUDGET} (4K with the defaults needs about
 * 4.9 GiB). Other backends' memory is not known here: nothing is checked.
 * @throws SimpleIRError `INVALID_ARGUMENT` saying what it needs and what fits.
 */
export function assertTemporalFits(height: number, width: number, options: TemporalMemoryOptions = {}, backend: string = tf.getBackend()): void {
  if (backend !== 'wasm') return;
  const need = temporalMemory(height, width, options);
  if (need.peakBytes <= WASM_TEMPORAL_BUDGET) return;
  const frames = options.frames ?? 5;
  let fewer = 0;
  for (let f = frames - 1; f >= 2 && !fewer; f--) if (temporalMemory(height, width, { ...options, frames: f }).peakBytes <= WASM_TEMPORAL_BUDGET) fewer = f;
  const scale = Math.sqrt(WASM_TEMPORAL_BUDGET / need.peakBytes);
  const fit = `${2 * Math.floor((width * scale) / 2)}x${2 * Math.floor((height * scale) / 2)}`;
  throw new SimpleIRError(
    'INVALID_ARGUMENT',
    `temporal restoration of ${width}x${height} frames${options.guide ? ' with input guidance' : ''} needs about ${(need.peakBytes / GIB).toFixed(1)} GiB of tensor memory at its peak ` +
      `(${frames} frames fused), more than the wasm backend's 4 GiB heap holds: ` +
      `${fewer ? `fuse fewer frames (temporal: { frames: ${fewer} }, CLI --temporal-frames ${fewer}), ` : ''}scale the video down to about ${fit} or less, ` +
      'run on a GPU backend (webgpu, webgl), or restore frame by frame (drop temporal).',
    { width, height, frames, guide: options.guide ?? false, peakBytes: need.peakBytes },
  );
}
