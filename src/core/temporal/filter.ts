/**
 * Temporal restoration of a video, frame by frame: keeps the last per-frame outputs in a ring, aligns
 * them to the current frame, and replaces what is short-lived (rain streaks, flakes the network left)
 * by their temporal median, except where the scene itself changed (moving objects, cuts).
 */
import * as tf from '@tensorflow/tfjs';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import { PhaseCorrelator, shiftFrame, type Spectrum } from './align.js';
import { changeMask, median } from './fuse.js';

/** Options of {@link TemporalFilter}. Every field has a documented default. */
export interface TemporalFilterOptions {
  /** Frames fused, the current one included (2 to 16; default 5): the ring keeps `frames - 1` past outputs. */
  readonly frames?: number;
  /** Align past frames to the current one (global shift by phase correlation; default true). `false` for a fixed camera. */
  readonly align?: boolean;
  /**
   * Difference from the temporal median (of [0, 1] values) from which a pixel counts as changed
   * (default 0.1). Changes wider than `transientSize` keep the current frame's pixels there.
   */
  readonly changeThreshold?: number;
  /**
   * Width in pixels of the narrowest change treated as a moving object rather than a transient
   * occluder (odd, >= 1; default `max(5, min(H, W) / 54)` made odd: 5 up to 296 rows, 21 at 1080).
   */
  readonly transientSize?: number;
  /**
   * Fraction of the pixels (of those the previous frame covers after alignment) that must have changed
   * by more than `changeThreshold` for the frame to count as a cut, which clears the history (default 0.5).
   */
  readonly cutFraction?: number;
}

/** {@link TemporalFilterOptions} with the frame-independent defaults filled in. */
export interface ResolvedTemporalFilterOptions {
  /** See {@link TemporalFilterOptions.frames}. */
  readonly frames: number;
  /** See {@link TemporalFilterOptions.align}. */
  readonly align: boolean;
  /** See {@link TemporalFilterOptions.changeThreshold}. */
  readonly changeThreshold: number;
  /** See {@link TemporalFilterOptions.transientSize}; `undefined`: from the frame size. */
  readonly transientSize: number | undefined;
  /** See {@link TemporalFilterOptions.cutFraction}. */
  readonly cutFraction: number;
}

/**
 * Checks temporal options and fills in their defaults.
 * @throws SimpleIRError `INVALID_ARGUMENT` naming the bad field and its allowed range.
 */
export function resolveTemporalFilterOptions(options: TemporalFilterOptions = {}, where = 'temporal options'): ResolvedTemporalFilterOptions {
  if (!isOptionsObject(options)) throw invalidArgument(where, 'an options object such as { frames: 5 }', options);
  const bad = (field: string, expected: string, got: unknown): SimpleIRError =>
    new SimpleIRError('INVALID_ARGUMENT', `${where}: ${field} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`, { [field]: got });
  const frames = options.frames ?? 5;
  if (!Number.isInteger(frames) || frames < 2 || frames > 16) throw bad('frames', 'an integer from 2 to 16', frames);
  const align = options.align ?? true;
  if (typeof align !== 'boolean') throw bad('align', 'true or false', align);
  const changeThreshold = options.changeThreshold ?? 0.1;
  if (!(typeof changeThreshold === 'number' && changeThreshold > 0 && changeThreshold < 1)) throw bad('changeThreshold', 'a number in (0, 1)', changeThreshold);
  const transientSize = options.transientSize;
  if (transientSize !== undefined && !(Number.isInteger(transientSize) && transientSize >= 1 && transientSize % 2 === 1 && transientSize <= 255)) {
    throw bad('transientSize', 'an odd integer from 1 to 255', transientSize);
  }
  const cutFraction = options.cutFraction ?? 0.5;
  if (!(typeof cutFraction === 'number' && cutFraction > 0 && cutFraction <= 1)) throw bad('cutFraction', 'a number in (0, 1]', cutFraction);
  return { frames, align, changeThreshold, transientSize, cutFraction };
}

/** The default transient size of frames `height` x `width` (odd). */
export function defaultTransientSize(height: number, width: number): number {
  const s = Math.max(5, Math.round(Math.min(height, width) / 54));
  return s % 2 === 1 ? s : s + 1;
}

/** A past per-frame output with what aligning it needs. */
interface HistoryEntry {
  readonly frame: tf.Tensor4D;
  readonly spectrum: Spectrum | undefined;
  /** Scalar: the shot this frame belongs to (counts cuts on the device; no readback). */
  readonly shot: tf.Scalar;
}

/** BT.601 luma weights. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * Temporal restoration over the per-frame outputs of a video, fed in display order through
 * {@link process}. Uses only past frames (no latency). All work is tfjs ops on the current backend:
 * on webgpu nothing is read back (shifts and cut decisions stay tensors). Holds `frames - 1` past
 * frames; {@link reset} clears them (seek, cut known to the caller), {@link dispose} frees everything.
 *
 *   const filter = new TemporalFilter({ frames: 5 });
 *   const out = filter.process(model.predict(x));   // caller disposes both
 */
export class TemporalFilter {
  /** The options in use. */
  readonly options: ResolvedTemporalFilterOptions;
  private history: HistoryEntry[] = [];
  private correlator: PhaseCorrelator | undefined;
  /** Full-resolution refinement of shifts found on a downscaled grid (absent when the grid is the frame). */
  private fine: PhaseCorrelator | undefined;
  private shape: [number, number] | undefined;
  private luma: tf.Tensor1D | undefined;
  private disposed = false;

  /** @throws SimpleIRError `INVALID_ARGUMENT` for bad options. */
  constructor(options: TemporalFilterOptions = {}) {
    this.options = resolveTemporalFilterOptions(options);
  }

  /** Past frames held (at most `frames - 1`). */
  get length(): number {
    return this.history.length;
  }

  /**
   * The temporal output for `current` (`[1, H, W, 3]` float32 in [0, 1], a per-frame restored frame):
   * a new tensor the caller owns; `current` is not disposed (the filter keeps its own reference).
   * A frame of another size than the previous one clears the history first.
   * @throws SimpleIRError `INVALID_IMAGE` for a tensor of another shape or type, `DISPOSED` after dispose.
   */
  process(current: tf.Tensor4D): tf.Tensor4D {
    if (this.disposed) throw new SimpleIRError('DISPOSED', 'this TemporalFilter was disposed; create a new one');
    const s = (current as tf.Tensor | undefined)?.shape;
    if (!(current instanceof tf.Tensor) || current.isDisposed || current.rank !== 4 || s![0] !== 1 || s![3] !== 3 || current.dtype !== 'float32') {
      throw new SimpleIRError('INVALID_IMAGE', `TemporalFilter.process expects a live [1, H, W, 3] float32 tensor, got ${current instanceof tf.Tensor ? `[${s!.join(', ')}] ${current.dtype}${current.isDisposed ? ' (disposed)' : ''}` : String(current)}`);
    }
    const [, h, w] = current.shape;
    if (!this.shape || this.shape[0] !== h || this.shape[1] !== w) this.restart(h, w);
    const correlator = this.correlator;
    const spectrum = correlator?.spectrum(current);
    if (this.history.length === 0) {
      this.remember(current, spectrum, tf.scalar(0));
      return current.clone();
    }
    const [out, shot] = tf.tidy(() => this.fuse(current, spectrum));
    this.remember(current, spectrum, shot);
    return out;
  }

  /** Forgets every past frame (after a seek or a known cut); the next frame is output as it is. */
  reset(): void {
    for (const e of this.history) disposeEntry(e);
    this.history = [];
  }

  /** Frees the history and the alignment constants; `process` afterwards throws `DISPOSED`. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.reset();
    this.correlator?.dispose();
    this.correlator = undefined;
    this.fine?.dispose();
    this.fine = undefined;
    this.luma?.dispose();
    this.luma = undefined;
    this.disposed = true;
  }

  private restart(h: number, w: number): void {
    this.reset();
    this.correlator?.dispose();
    this.fine?.dispose();
    this.correlator = this.options.align ? new PhaseCorrelator(h, w) : undefined;
    const side = Math.min(128, h, w);
    this.fine = this.correlator && this.correlator.grid.factor > 1 ? new PhaseCorrelator(side, side) : undefined;
    this.luma ??= tf.keep(tf.tensor1d([...LUMA]));
    this.shape = [h, w];
  }

  private remember(frame: tf.Tensor4D, spectrum: Spectrum | undefined, shot: tf.Scalar): void {
    if (spectrum) {
      tf.keep(spectrum.re);
      tf.keep(spectrum.im);
    }
    this.history.unshift({ frame: tf.keep(frame.clone()), spectrum, shot: tf.keep(shot) });
    while (this.history.length > this.options.frames - 1) disposeEntry(this.history.pop()!);
  }

  /** Mean absolute luma difference between `current` and `past` moved by `shift`, over the pixels it covers. */
  private mismatch(current: tf.Tensor4D, past: tf.Tensor4D, shift: tf.Tensor1D): tf.Scalar {
    const lumaOf = (t: tf.Tensor4D): tf.Tensor4D => tf.sum(tf.mul(t, this.luma!), 3, true) as tf.Tensor4D;
    const moved = shiftFrame(lumaOf(past), shift);
    const diff = tf.mul(tf.abs(tf.sub(lumaOf(current), moved.frame)), moved.valid);
    return tf.div(tf.sum(diff), tf.add(tf.sum(moved.valid), 1)) as tf.Scalar;
  }

  /** Inside a tidy: the fused output and the shot of `current`. */
  private fuse(current: tf.Tensor4D, spectrum: Spectrum | undefined): [tf.Tensor4D, tf.Scalar] {
    const { changeThreshold, cutFraction } = this.options;
    const [, h, w] = current.shape;
    const aligned = this.history.map((e) => {
      const correlator = this.correlator;
      if (!spectrum || !e.spectrum || !correlator) return { frame: e.frame, valid: tf.ones([1, h, w, 1]) as tf.Tensor4D };
      const coarse = correlator.shift(spectrum, e.spectrum);
      const found = this.fine ? correlator.refine(current, e.frame, coarse, this.fine) : coarse;
      // A large moving object can pull the correlation peak to its own motion: keep the camera still
      // unless the shift found matches the frame better than no shift at all.
      const worse = tf.greater(this.mismatch(current, e.frame, found), this.mismatch(current, e.frame, tf.zeros([2])));
      return shiftFrame(e.frame, tf.where(worse, tf.zeros([2]), found) as tf.Tensor1D);
    });
    // A cut: most of what the previous frame covers changed (or it covers almost nothing).
    const previous = aligned[0]!;
    const lumaDiff = tf.abs(tf.sum(tf.mul(tf.sub(current, previous.frame), this.luma!), 3, true));
    const covered = tf.sum(previous.valid);
    const changed = tf.sum(tf.mul(previous.valid, tf.greater(lumaDiff, changeThreshold).toFloat()));
    const cut = tf.logicalOr(tf.greater(changed, tf.mul(covered, cutFraction)), tf.less(covered, 0.25 * h * w));
    const shot = tf.add(this.history[0]!.shot, cut.toFloat()) as tf.Scalar;
    // Past frames of another shot, and pixels a past frame does not cover, vote for the current frame.
    // Until the ring is full the missing frames vote for the current one too: the median is then
    // over `frames` values from the first fused frame on (two frames alone would be averaged).
    const votes = aligned.map(({ frame, valid }, i) => {
      const use = tf.mul(valid, tf.equal(this.history[i]!.shot, shot).toFloat());
      return tf.add(current, tf.mul(use, tf.sub(frame, current))) as tf.Tensor4D;
    });
    while (votes.length < this.options.frames - 1) votes.push(current);
    const fused = median([current, ...votes]);
    const size = this.options.transientSize ?? defaultTransientSize(h, w);
    const moving = changeMask(current, fused, { threshold: changeThreshold, transientSize: size });
    const out = tf.add(current, tf.mul(tf.sub(1, moving), tf.sub(fused, current))) as tf.Tensor4D;
    return [out, shot];
  }
}

function disposeEntry(e: HistoryEntry): void {
  e.frame.dispose();
  e.spectrum?.re.dispose();
  e.spectrum?.im.dispose();
  e.shot.dispose();
}
