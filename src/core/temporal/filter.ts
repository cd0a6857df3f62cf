/**
 * Temporal restoration of a video, frame by frame: keeps the last per-frame outputs in a ring, aligns
 * them to the current frame, and replaces what is short-lived (rain streaks, flakes the network left)
 * by their temporal median, except where the scene itself changed (moving objects, cuts).
 */
import * as tf from '@tensorflow/tfjs';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import { RGB_LUMA as LUMA } from '../colour.js';
import { PhaseCorrelator, shiftFrame, type ShiftedFrame, type Spectrum } from './align.js';
import { boxMean, changeMask, dilate, erode, guidedFilter, opening, quantile } from './fuse.js';

/** Mean unexplained difference (of [0, 1] values) between the guided and the outputs-only result from which an area counts as moved. */
const GUIDE_CONSISTENCY = 0.05;

/** Options of {@link TemporalFilter}. Every field has a documented default. */
export interface TemporalFilterOptions {
  /** Frames fused, the current one included (2 to 16; default 5): the ring keeps `frames - 1` past outputs. */
  readonly frames?: number;
  /** Align past frames to the current one (global shift by phase correlation; default true). `false` for a fixed camera. */
  readonly align?: boolean;
  /**
   * How past frames are moved onto the current one: `'bilinear'` (default) follows sub-pixel shifts
   * (pans, shake), `'nearest'` moves them by whole pixels (exact copies, sharper, misaligned by up to
   * half a pixel).
   */
  readonly interpolation?: 'nearest' | 'bilinear';
  /**
   * Difference from the temporal median (of [0, 1] values) from which a pixel counts as changed
   * (default 0.1). Changes wider than `transientSize` keep the current frame's pixels there.
   */
  readonly changeThreshold?: number;
  /**
   * Width in pixels of the narrowest change treated as a moving object rather than a transient
   * occluder (odd, >= 1; default `max(5, min(H, W) / 25)` made odd: 11 at 272 rows, 15 at 360, 43 at 1080; wider removes more near streaks and flakes but lets moving objects ghost, see docs/temporal.md).
   */
  readonly transientSize?: number;
  /**
   * Which value of the aligned frames replaces a pixel where the scene did not change: their
   * quantile `quantile` (default 0.5, the median). Lower values favour darker values, since the
   * occluders (streaks, flakes) are mostly brighter than the scene.
   */
  readonly quantile?: number;
  /**
   * Which pixels are occluders to replace: `'brighter'` (default: rain streaks and snowflakes are
   * brighter than the scene behind them, lightened towards white by about the same fraction in every
   * channel, which a moving object's colour is not) or `'any'` deviation from the fused value.
   */
  readonly occluders?: 'brighter' | 'any';
  /**
   * Deviation from the fused value (of [0, 1] values) below which the current pixel is kept (default
   * 0.03, 0.015 with `guideVotes: 'explained'`; fully replaced from twice that): keeps the current
   * frame's detail where past frames are only slightly misaligned (sub-pixel pans). 0 replaces every
   * pixel by the fused value. With `guideVotes: 'explained'` it is also how much brighter than the
   * past input's 3x3 neighbourhood the current input must be for that past frame to vote.
   */
  readonly minDifference?: number;
  /**
   * Fraction of the pixels (of those the previous frame covers after alignment) that must have changed
   * by more than `changeThreshold` for the frame to count as a cut, which clears the history (default 0.5).
   */
  readonly cutFraction?: number;
  /**
   * Input guidance (default false), used when {@link TemporalFilter.process} is also given the
   * degraded input frames: the aligned inputs' per-pixel `inputQuantile` (where streaks and flakes
   * have passed, the scene shows through with its full detail) guides a guided filter of the aligned
   * outputs' `guideQuantile` (the network removed the veil: it gives the level and colour). It fixes
   * part of what outputs-only fusion cannot, the per-frame network's static error: +1.8 to +4.4 dB
   * over per-frame on rain and snow clips against +0.5 to +1.4 (measured with `tiny`, docs/temporal.md).
   * Areas where the result differs from the outputs-only one in a way removed streaks and flakes do
   * not explain keep the outputs-only result, but a moving object brighter than the scene can still
   * ghost (measured: −2.3 dB on a clean clip with a moving object), and clean pans and shake lose
   * 0.6-1.0 dB: for fixed or panning cameras over still scenes in rain or snow.
   */
  readonly guide?: boolean;
  /**
   * Quantile of the aligned inputs that forms the guide (default 0, the per-pixel minimum: rain and
   * snow only brighten). Ignored without inputs.
   */
  readonly inputQuantile?: number;
  /**
   * Radius in pixels of the guided filter's windows (default `max(4, min(H, W) / 8)`: 34 at 272
   * rows, 135 at 1080). Larger trusts the guide's structure more, smaller the network's local corrections.
   */
  readonly guideRadius?: number;
  /**
   * Quantile of the aligned outputs the guided filter fits (default 0.25: the occluders the network
   * left are brighter; 0.5 with `guideVotes: 'explained'`, where only frames that saw behind an
   * occluder vote: measured with the session-9 `tiny`, the median gains 0.1-0.5 dB more on rain than
   * the minimum, 0.1-0.3 less on snow). Ignored without inputs.
   */
  readonly guideQuantile?: number;
  /** Regularisation of the guided filter's fit, in squared [0, 1] units (default 1e-5). */
  readonly guideEpsilon?: number;
  /**
   * Which past frames vote, per pixel, into the guide and the target of input guidance (default
   * `'all'`). `'explained'`: a past frame votes only where the current input is that past input
   * lightened towards white (about the same fraction in every channel) by more than `minDifference`
   * beyond the past input's 3x3 neighbourhood (so sub-pixel misalignment is not an occluder), and not
   * near a change that any past frame shows as the scene's (at least `2 transientSize + 1` wide,
   * `transientSize` wide where fewer than three past frames cover the pixel, or not explained by an
   * occluder either way): there the per-frame output is kept. Elsewhere the current input and output
   * stand, so a clean moving camera keeps its own pixels. It also changes the defaults of
   * `minDifference` (0.015), `guideQuantile` (0.5) and `guideCheck` (false). Measured in
   * docs/temporal.md (sixth round): at 240x136 clean pans, shake and a moving object gain where
   * `'all'` loses, rain gains more and snow less than with `'all'`, the clean moving object's own
   * region still loses 2.6 dB; at 480x272 a moving object ghosts.
   */
  readonly guideVotes?: 'all' | 'explained';
  /** With `guideVotes: 'explained'`, the fraction of a `(2s+1)^2` window of unexplained changes from which it counts as moved (default 0.15). */
  readonly movedFraction?: number;
  /** Keep the outputs-only result where the guided one differs from it in a way occluders do not explain (default true; false with `guideVotes: 'explained'`, which has its own test). */
  readonly guideCheck?: boolean;
}

/** {@link TemporalFilterOptions} with the frame-independent defaults filled in. */
export interface ResolvedTemporalFilterOptions {
  /** See {@link TemporalFilterOptions.frames}. */
  readonly frames: number;
  /** See {@link TemporalFilterOptions.align}. */
  readonly align: boolean;
  /** See {@link TemporalFilterOptions.interpolation}. */
  readonly interpolation: 'nearest' | 'bilinear';
  /** See {@link TemporalFilterOptions.changeThreshold}. */
  readonly changeThreshold: number;
  /** See {@link TemporalFilterOptions.transientSize}; `undefined`: from the frame size. */
  readonly transientSize: number | undefined;
  /** See {@link TemporalFilterOptions.cutFraction}. */
  readonly cutFraction: number;
  /** See {@link TemporalFilterOptions.quantile}. */
  readonly quantile: number;
  /** See {@link TemporalFilterOptions.occluders}. */
  readonly occluders: 'brighter' | 'any';
  /** See {@link TemporalFilterOptions.minDifference}. */
  readonly minDifference: number;
  /** See {@link TemporalFilterOptions.guide}. */
  readonly guide: boolean;
  /** See {@link TemporalFilterOptions.inputQuantile}. */
  readonly inputQuantile: number;
  /** See {@link TemporalFilterOptions.guideQuantile}. */
  readonly guideQuantile: number;
  /** See {@link TemporalFilterOptions.guideRadius}; `undefined`: from the frame size. */
  readonly guideRadius: number | undefined;
  /** See {@link TemporalFilterOptions.guideEpsilon}. */
  readonly guideEpsilon: number;
  /** See {@link TemporalFilterOptions.guideVotes}. */
  readonly guideVotes: 'all' | 'explained';
  /** See {@link TemporalFilterOptions.movedFraction}. */
  readonly movedFraction: number;
  /** See {@link TemporalFilterOptions.guideCheck}. */
  readonly guideCheck: boolean;
}

/**
 * Checks temporal options and fills in their defaults.
 * @throws SimpleIRError `INVALID_ARGUMENT` naming the bad field and its allowed range.
 */
export function resolveTemporalFilterOptions(options: TemporalFilterOptions = {}, where = 'temporal options'): ResolvedTemporalFilterOptions {
  if (!isOptionsObject(options)) throw invalidArgument(where, 'an options object such as { frames: 5 }', options);
  const bad = (field: string, expected: string, got: unknown): SimpleIRError =>
    new SimpleIRError('INVALID_ARGUMENT', `${where}: ${field} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`, { [field]: got });
  const guideVotes = options.guideVotes ?? 'all';
  if (guideVotes !== 'all' && guideVotes !== 'explained') throw bad('guideVotes', "'all' or 'explained'", guideVotes);
  const explained = guideVotes === 'explained';
  const frames = options.frames ?? 5;
  if (!Number.isInteger(frames) || frames < 2 || frames > 16) throw bad('frames', 'an integer from 2 to 16', frames);
  const align = options.align ?? true;
  if (typeof align !== 'boolean') throw bad('align', 'true or false', align);
  const interpolation = options.interpolation ?? 'bilinear';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw bad('interpolation', "'nearest' or 'bilinear'", interpolation);
  const changeThreshold = options.changeThreshold ?? 0.1;
  if (!(typeof changeThreshold === 'number' && changeThreshold > 0 && changeThreshold < 1)) throw bad('changeThreshold', 'a number in (0, 1)', changeThreshold);
  const transientSize = options.transientSize;
  if (transientSize !== undefined && !(Number.isInteger(transientSize) && transientSize >= 1 && transientSize % 2 === 1 && transientSize <= 255)) {
    throw bad('transientSize', 'an odd integer from 1 to 255', transientSize);
  }
  const cutFraction = options.cutFraction ?? 0.5;
  if (!(typeof cutFraction === 'number' && cutFraction > 0 && cutFraction <= 1)) throw bad('cutFraction', 'a number in (0, 1]', cutFraction);
  const quantile = options.quantile ?? 0.5;
  if (!(typeof quantile === 'number' && quantile >= 0 && quantile <= 1)) throw bad('quantile', 'a number in [0, 1]', quantile);
  const occluders = options.occluders ?? 'brighter';
  if (occluders !== 'brighter' && occluders !== 'any') throw bad('occluders', "'brighter' or 'any'", occluders);
  const minDifference = options.minDifference ?? (explained ? 0.015 : 0.03);
  if (!(typeof minDifference === 'number' && minDifference >= 0 && minDifference < 1)) throw bad('minDifference', 'a number in [0, 1)', minDifference);
  const guide = options.guide ?? false;
  if (typeof guide !== 'boolean') throw bad('guide', 'true or false', guide);
  const inputQuantile = options.inputQuantile ?? 0;
  if (!(typeof inputQuantile === 'number' && inputQuantile >= 0 && inputQuantile <= 1)) throw bad('inputQuantile', 'a number in [0, 1]', inputQuantile);
  const guideRadius = options.guideRadius;
  if (guideRadius !== undefined && !(Number.isInteger(guideRadius) && guideRadius >= 1 && guideRadius <= 1024)) throw bad('guideRadius', 'an integer from 1 to 1024', guideRadius);
  const guideEpsilon = options.guideEpsilon ?? 1e-5;
  if (!(typeof guideEpsilon === 'number' && guideEpsilon > 0 && guideEpsilon < 1)) throw bad('guideEpsilon', 'a number in (0, 1)', guideEpsilon);
  const guideQuantile = options.guideQuantile ?? (explained ? 0.5 : 0.25);
  if (!(typeof guideQuantile === 'number' && guideQuantile >= 0 && guideQuantile <= 1)) throw bad('guideQuantile', 'a number in [0, 1]', guideQuantile);
  const movedFraction = options.movedFraction ?? 0.15;
  if (!(typeof movedFraction === 'number' && movedFraction > 0 && movedFraction <= 1)) throw bad('movedFraction', 'a number in (0, 1]', movedFraction);
  const guideCheck = options.guideCheck ?? !explained;
  if (typeof guideCheck !== 'boolean') throw bad('guideCheck', 'true or false', guideCheck);
  return { frames, align, interpolation, changeThreshold, transientSize, cutFraction, quantile, occluders, minDifference, guide, inputQuantile, guideQuantile, guideRadius, guideEpsilon, guideVotes, movedFraction, guideCheck };
}

/** The default transient size of frames `height` x `width` (odd). */
export function defaultTransientSize(height: number, width: number): number {
  const s = Math.max(5, Math.round(Math.min(height, width) / 25));
  return s % 2 === 1 ? s : s + 1;
}

/** The default guided-filter radius of frames `height` x `width`. */
export function defaultGuideRadius(height: number, width: number): number {
  return Math.max(4, Math.round(Math.min(height, width) / 8));
}

/** A past per-frame output with what aligning it needs. */
interface HistoryEntry {
  readonly frame: tf.Tensor4D;
  /** The degraded input it was restored from (when given and guidance is on). */
  readonly input: tf.Tensor4D | undefined;
  /** Its luma pooled to the analysis grid and the spectrum of that (when aligning). */
  readonly analysis: Analysis | undefined;
  /** Scalar: the shot this frame belongs to (counts cuts on the device; no readback). */
  readonly shot: tf.Scalar;
}

/** What alignment keeps of a frame. */
interface Analysis {
  /** The frame with thin bright details removed (a grey-level opening): what is correlated. */
  readonly probe: tf.Tensor4D;
  readonly pooled: tf.Tensor4D;
  readonly spectrum: Spectrum;
}

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

  /**
   * `where` names the caller in the error messages (default `temporal options`).
   * @throws SimpleIRError `INVALID_ARGUMENT` for bad options.
   */
  constructor(options: TemporalFilterOptions = {}, where?: string) {
    this.options = resolveTemporalFilterOptions(options, where);
  }

  /** Past frames held (at most `frames - 1`). */
  get length(): number {
    return this.history.length;
  }

  /**
   * The temporal output for `current` (`[1, H, W, 3]` float32 in [0, 1], a per-frame restored frame):
   * a new tensor the caller owns; `current` is not disposed (the filter keeps its own reference).
   * `input`, when given, is the degraded frame `current` was restored from (same shape): it enables
   * input guidance ({@link TemporalFilterOptions.guide}); the filter keeps a copy, the caller still
   * owns it. A frame of another size than the previous one clears the history first.
   * @throws SimpleIRError `INVALID_IMAGE` for a tensor of another shape or type, `DISPOSED` after dispose.
   */
  process(current: tf.Tensor4D, input?: tf.Tensor4D): tf.Tensor4D {
    if (this.disposed) throw new SimpleIRError('DISPOSED', 'this TemporalFilter was disposed; create a new one');
    const s = (current as tf.Tensor | undefined)?.shape;
    if (!(current instanceof tf.Tensor) || current.isDisposed || current.rank !== 4 || s![0] !== 1 || s![3] !== 3 || current.dtype !== 'float32') {
      throw new SimpleIRError('INVALID_IMAGE', `TemporalFilter.process expects a live [1, H, W, 3] float32 tensor, got ${current instanceof tf.Tensor ? `[${s!.join(', ')}] ${current.dtype}${current.isDisposed ? ' (disposed)' : ''}` : String(current)}`);
    }
    if (input !== undefined && !(input instanceof tf.Tensor && !input.isDisposed && input.dtype === 'float32' && input.shape.join() === s!.join())) {
      throw new SimpleIRError('INVALID_IMAGE', `TemporalFilter.process: input must be a live float32 tensor of the output's shape [${s!.join(', ')}], got ${input instanceof tf.Tensor ? `[${input.shape.join(', ')}] ${input.dtype}${input.isDisposed ? ' (disposed)' : ''}` : String(input)}`);
    }
    const guidance = this.options.guide ? input : undefined;
    const [, h, w] = current.shape;
    if (!this.shape || this.shape[0] !== h || this.shape[1] !== w) this.restart(h, w);
    const correlator = this.correlator;
    const analysis = correlator ? analyse(correlator, current, this.options.transientSize ?? defaultTransientSize(h, w)) : undefined;
    if (this.history.length === 0) {
      this.remember(current, guidance, analysis, tf.scalar(0));
      return current.clone();
    }
    const [out, shot] = tf.tidy(() => this.fuse(current, guidance, analysis));
    this.remember(current, guidance, analysis, shot);
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

  private remember(frame: tf.Tensor4D, input: tf.Tensor4D | undefined, analysis: Analysis | undefined, shot: tf.Scalar): void {
    if (analysis) {
      tf.keep(analysis.probe);
      tf.keep(analysis.pooled);
      tf.keep(analysis.spectrum.re);
      tf.keep(analysis.spectrum.im);
    }
    this.history.unshift({ frame: tf.keep(frame.clone()), input: input ? tf.keep(input.clone()) : undefined, analysis, shot: tf.keep(shot) });
    while (this.history.length > this.options.frames - 1) disposeEntry(this.history.pop()!);
  }

  /**
   * Inside a tidy: the camera's move from a past frame to `current` (phase correlation, refined at
   * full resolution on a downscaled grid), estimated directly for each past frame (chained estimates
   * drift: their sub-pixel errors add up). A large moving object can pull the correlation peak to its
   * own motion: the camera is kept still unless the shift found explains the change better.
   */
  private cameraShift(current: tf.Tensor4D, analysis: Analysis | undefined, previous: HistoryEntry): tf.Tensor1D {
    const correlator = this.correlator;
    if (!correlator || !analysis || !previous.analysis) return tf.zeros([2]);
    const coarse = correlator.shift(analysis.spectrum, previous.analysis.spectrum);
    const found = this.fine ? correlator.refine(analysis.probe, previous.analysis.probe, coarse, this.fine) : coarse;
    const still = tf.zeros([2]) as tf.Tensor1D;
    const worse = tf.greater(correlator.mismatch(analysis.pooled, previous.analysis.pooled, found), correlator.mismatch(analysis.pooled, previous.analysis.pooled, still));
    return tf.where(worse, still, found).reshape([2]) as tf.Tensor1D;
  }

  /** Inside a tidy: the fused output and the shot of `current`. */
  private fuse(current: tf.Tensor4D, input: tf.Tensor4D | undefined, analysis: Analysis | undefined): [tf.Tensor4D, tf.Scalar] {
    const { changeThreshold, cutFraction } = this.options;
    const [, h, w] = current.shape;
    // Without alignment the past frames are used as they are (a zero shift would copy each one).
    const shifts = this.history.map((e) => (this.correlator ? this.cameraShift(current, analysis, e) : undefined));
    const move = (frame: tf.Tensor4D, shift: tf.Tensor1D | undefined): ShiftedFrame =>
      shift ? shiftFrame(frame, shift, this.options.interpolation) : { frame, valid: tf.ones([1, h, w, 1]) };
    const aligned = this.history.map((e, i) => move(e.frame, shifts[i]));
    // A cut: most of what the previous frame covers changed (or it covers almost nothing).
    const previous = aligned[0]!;
    const lumaDiff = tf.abs(tf.sum(tf.mul(tf.sub(current, previous.frame), this.luma!), 3, true));
    const covered = tf.sum(previous.valid);
    const changed = tf.sum(tf.mul(previous.valid, tf.greater(lumaDiff, changeThreshold).toFloat()));
    const cut = tf.logicalOr(tf.greater(changed, tf.mul(covered, cutFraction)), tf.less(covered, 0.25 * h * w));
    const shot = tf.add(this.history[0]!.shot, cut.toFloat()) as tf.Scalar;
    // Past frames of another shot, and pixels a past frame does not cover, vote for the current frame.
    // Until the ring is full the current frame votes twice when that makes the count odd: two frames
    // alone are never averaged (a moving object would be half blended), three are a true median.
    const uses = aligned.map(({ valid }, i) => tf.mul(valid, tf.equal(this.history[i]!.shot, shot).toFloat()) as tf.Tensor4D);
    const guided = input !== undefined && this.history.every((e) => e.input);
    // Without the consistency check, the guided result stands wherever a past frame covers a pixel, and
    // elsewhere every vote is the current frame's, so the outputs-only result there is `current`.
    if (guided && !this.options.guideCheck) return [this.guided(current, input, current, aligned, shifts, uses), shot];
    const votes = aligned.map(({ frame }, i) => tf.add(current, tf.mul(uses[i]!, tf.sub(frame, current))) as tf.Tensor4D);
    if (votes.length % 2 === 1 && votes.length < this.options.frames - 1) votes.push(current);
    const fused = quantile([current, ...votes], this.options.quantile);
    const size = this.options.transientSize ?? defaultTransientSize(h, w);
    const moving = changeMask(current, fused, { threshold: changeThreshold, transientSize: size, occluders: this.options.occluders });
    // Replace (by the fused value) only what stands out: brighter by more than `minDifference`
    // (occluders: 'brighter'), or either way ('any'). Small deviations (sub-pixel misalignment of a
    // pan, the network's own noise) keep the current frame's sharper pixels.
    // The gate compares the current frame with the past frames' 3x3 neighbourhoods, taken before they
    // are moved: a bilinear shift blurs thin bright details (glints, fine edges), and the current
    // frame's sharper ones would then pass for occluders on clean moving cameras ({@link neighbourhood}).
    const range = tf.tidy(() => {
      const reach = (t: tf.Tensor4D, i: number, low: boolean): tf.Tensor4D =>
        tf.tidy(() => tf.add(current, tf.mul(uses[i]!, tf.sub(neighbourhood(t, shifts[i], low ? 'min' : 'max'), current))) as tf.Tensor4D);
      const fusedReach = (low: boolean): tf.Tensor4D => quantile(this.history.map((e, i) => reach(e.frame, i, low)), this.options.quantile);
      return { high: fusedReach(false), low: this.options.occluders === 'any' ? fusedReach(true) : undefined };
    });
    const occluder = this.occluder(current, fused, range);
    const replace = tf.mul(tf.sub(1, moving), occluder);
    const out = tf.sub(current, tf.mul(replace, tf.sub(current, fused))) as tf.Tensor4D;
    return [guided ? this.guided(current, input, out, aligned, shifts, uses) : out, shot];
  }

  /**
   * Inside a tidy, `[1, H, W, 1]` in [0, 1]: how much `current` is an occluder over `fused`: brighter
   * (`occluders: 'brighter'`, and `fused` lightened towards white) or different (`'any'`) by more than
   * `minDifference` (fully from twice that) than the range `range` of the past frames' 3x3
   * neighbourhoods (their `quantile`), or, without `range`, than `fused` itself. Small deviations
   * (sub-pixel misalignment of a pan, the network's own noise) are not.
   */
  private occluder(current: tf.Tensor4D, fused: tf.Tensor4D, range?: { high: tf.Tensor4D; low: tf.Tensor4D | undefined }): tf.Tensor4D {
    const { minDifference, occluders } = this.options;
    const delta = tf.sub(current, fused) as tf.Tensor4D;
    const above = tf.sub(current, range ? range.high : fused);
    const deviation = occluders === 'brighter' ? tf.max(above, 3, true) : tf.max(tf.maximum(above, tf.sub(range?.low ?? fused, current)), 3, true);
    const outlier = minDifference > 0 ? tf.clipByValue(tf.div(tf.sub(deviation, minDifference), minDifference), 0, 1) : tf.onesLike(deviation);
    return (occluders === 'brighter' ? tf.mul(outlier, towardsWhite(fused, delta)) : outlier) as tf.Tensor4D;
  }

  /**
   * Inside a tidy, `[1, H, W, 1]` in [0, 1]: where the aligned past input `past` may replace the
   * current input `current` (`guideVotes: 'explained'`): the current pixel is brighter than every
   * pixel of the past one's 3x3 neighbourhood (`range`: its maximum and minimum, taken before the
   * past input was moved) by more than `minDifference` (fully from twice that; a sub-pixel
   * misalignment stays within the neighbourhood) and is the past one lightened towards
   * white; and the pixel is not near an area (a `(2s+1)^2` window with more than `movedFraction` of
   * it) where the two inputs differ by more than `changeThreshold` in a way no occluder explains
   * (neither is the other lightened towards white, nor within the other's neighbourhood): a moving
   * object, whose colour and texture are not the scene's lightened.
   */
  private explained(current: tf.Tensor4D, past: tf.Tensor4D, s: number, use: tf.Tensor4D, range: { high: tf.Tensor4D; low: tf.Tensor4D }): { lighter: tf.Tensor4D; moved: tf.Tensor4D; thin: tf.Tensor4D } {
    const { minDifference, changeThreshold, movedFraction } = this.options;
    const m = Math.max(minDifference, 1e-3);
    const { high, low } = range;
    const above = tf.max(tf.sub(current, high), 3, true) as tf.Tensor4D;
    const lighter = tf.mul(tf.clipByValue(tf.div(tf.sub(above, m), m), 0, 1), towardsWhite(past, tf.sub(current, past) as tf.Tensor4D));
    // Unexplained change: outside the past neighbourhood's range by more than the threshold, and
    // neither input is the other lightened towards white.
    const outside = tf.max(tf.maximum(tf.sub(current, high), tf.sub(low, current)), 3, true);
    const changed = tf.mul(tf.greater(outside, changeThreshold).toFloat(), use) as tf.Tensor4D;
    const either = tf.maximum(lightened(past, tf.sub(current, past) as tf.Tensor4D), lightened(current, tf.sub(past, current) as tf.Tensor4D));
    const unexplained = tf.mul(changed, tf.sub(1, either)) as tf.Tensor4D;
    // A change wider than s (streaks and flakes are thinner) is the scene's: revealed background, an object.
    const wide = dilate(erode(changed, 2 * s + 1), 2 * s + 1);
    const moved = tf.maximum(wide, tf.greater(boxMean(unexplained, 2 * s + 1), movedFraction).toFloat()) as tf.Tensor4D;
    // Changes at least s wide: used where fewer than three past frames are compared (an object's
    // trail is as wide as its motion over the frames compared).
    const thin = dilate(erode(changed, s), s);
    return { lighter: tf.mul(lighter, use) as tf.Tensor4D, moved, thin };
  }

  /**
   * Inside a tidy: input guidance. The aligned inputs' per-pixel `inputQuantile` (the minimum by
   * default: where a streak or flake has passed, the scene shows through with its full detail, which
   * the network's outputs lack) guides a guided filter of the aligned outputs' `guideQuantile`, which
   * supplies the local level and colour (the veil the network removed). Where no past frame of this
   * shot covers a pixel, or where the result differs from `out` (the outputs-only result) in a way
   * removed occluders do not explain, `out` is kept.
   */
  private guided(
    current: tf.Tensor4D,
    input: tf.Tensor4D,
    out: tf.Tensor4D,
    aligned: readonly ShiftedFrame[],
    shifts: ReadonlyArray<tf.Tensor1D | undefined>,
    uses: readonly tf.Tensor4D[],
  ): tf.Tensor4D {
    const [, h, w] = input.shape;
    const { interpolation, inputQuantile, guideQuantile, guideEpsilon } = this.options;
    const size = this.options.transientSize ?? defaultTransientSize(h, w);
    const pastInputs = this.history.map((e, i) => (shifts[i] ? shiftFrame(e.input!, shifts[i]!, interpolation).frame : e.input!));
    let weights = uses;
    let keep: tf.Tensor4D | undefined;
    if (this.options.guideVotes === 'explained') {
      // Each past input's 3x3 range is taken before it is moved, as in fuse ({@link neighbourhood}).
      const ranges = this.history.map((e, i) => ({ high: neighbourhood(e.input!, shifts[i], 'max'), low: neighbourhood(e.input!, shifts[i], 'min') }));
      const tests = pastInputs.map((p, i) => this.explained(input, p, size, uses[i]!, ranges[i]!));
      // A change any past frame shows as the scene's (wide, or unexplained) stops every vote near it.
      const max = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D => tf.maximum(a, b) as tf.Tensor4D;
      const few = tf.less(tf.addN(uses.map((u) => u as tf.Tensor)), 2.5);
      const union = tf.where(few, max(tests.map((t) => t.moved).reduce(max), tests.map((t) => t.thin).reduce(max)), tests.map((t) => t.moved).reduce(max)) as tf.Tensor4D;
      const moved = erode(dilate(union, 4 * size + 1), 2 * size + 1);
      weights = tests.map((t) => tf.mul(t.lighter, tf.sub(1, moved)) as tf.Tensor4D);
      // Where the scene moved the guide would be the current input, occluders and all: keep `out` there
      // (the per-frame output when guideCheck is off).
      keep = boxMean(moved, 3);
    }
    const vote = (own: tf.Tensor4D, other: tf.Tensor4D, i: number): tf.Tensor4D => tf.add(own, tf.mul(weights[i]!, tf.sub(other, own))) as tf.Tensor4D;
    const inputs = pastInputs.map((p, i) => vote(input, p, i));
    const outputs = aligned.map(({ frame }, i) => vote(current, frame, i));
    const guide = quantile([input, ...inputs], inputQuantile);
    const target = quantile([current, ...outputs], guideQuantile);
    const filtered: tf.Tensor4D = tf.clipByValue(guidedFilter(guide, target, this.options.guideRadius ?? defaultGuideRadius(h, w), guideEpsilon), 0, 1);
    const covered = tf.clipByValue(tf.addN(uses.map((u) => u as tf.Tensor)), 0, 1);
    // Consistency: where the guided result differs from \`out\` over a (2s+1)^2 area by more than 0.05 on
    // average in a way the removal of an occluder does not explain (\`out\` is not the result lightened
    // towards white), the scene moved (a moving object's ghost in the minimum of the inputs): that
    // area, grown by s, keeps \`out\`.
    if (!this.options.guideCheck) return tf.add(out, tf.mul(keep ? tf.mul(covered, tf.sub(1, keep)) : covered, tf.sub(filtered, out))) as tf.Tensor4D;
    const unexplained = tf.mul(tf.max(tf.abs(tf.sub(filtered, out)), 3, true), tf.sub(1, this.occluder(out, filtered))) as tf.Tensor4D;
    const moved = dilate(tf.greater(boxMean(unexplained, 2 * size + 1), GUIDE_CONSISTENCY).toFloat() as tf.Tensor4D, 2 * size + 1);
    const weight = tf.mul(covered, tf.sub(1, moved));
    return tf.add(out, tf.mul(weight, tf.sub(filtered, out))) as tf.Tensor4D;
  }
}

/**
 * Inside a tidy: the maximum (or minimum) of each 3x3 neighbourhood of a past frame, taken before the
 * frame is moved by `shift` and then moved by whole pixels (two gathers): a bilinear shift would blur
 * thin bright details first, and the 3x3 window covers the half pixel that rounding loses.
 */
function neighbourhood(frame: tf.Tensor4D, shift: tf.Tensor1D | undefined, which: 'max' | 'min'): tf.Tensor4D {
  const reach = which === 'max' ? dilate(frame, 3) : erode(frame, 3);
  return shift ? shiftFrame(reach, shift, 'nearest').frame : reach;
}

/**
 * Inside a tidy, `[1, H, W, 1]` in [0, 1]: how much the current frame (`fused + delta`) looks like
 * `fused` lightened towards white, as rain and snow do: `1 - current = (1 - a)(1 - fused)` with about the same `a` in every
 * channel. 1 where the smallest channel's `a` is at least 0.65 of the largest, 0 below 0.4 (a moving
 * object changes the channels unevenly: its colour is not the scene's lightened).
 */
function towardsWhite(fused: tf.Tensor4D, delta: tf.Tensor4D): tf.Tensor4D {
  const a = tf.div(delta, tf.add(tf.sub(1, fused), 0.05));
  const ratio = tf.div(tf.min(a, 3, true), tf.add(tf.max(a, 3, true), 1e-3));
  return tf.clipByValue(tf.div(tf.sub(ratio, 0.4), 0.25), 0, 1) as tf.Tensor4D;
}

/** {@link towardsWhite} for a `delta` at least -0.01 in every channel (a lightening, not a darkening). */
function lightened(base: tf.Tensor4D, delta: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(towardsWhite(base, delta), tf.greater(tf.min(delta, 3, true), -0.01).toFloat()) as tf.Tensor4D;
}

/**
 * The pooled luma and spectrum of a frame, after a grey-level opening of width `k` (erosion then
 * dilation) that removes bright details thinner than `k` (streaks, flakes) and keeps the scene's
 * larger structure where it is: without it, flakes and streaks moving between frames pulled the
 * correlation peak (measured on static snow: shifts of 0.2-1 px where the camera did not move).
 */
function analyse(correlator: PhaseCorrelator, frame: tf.Tensor4D, k: number): Analysis {
  const probe = k > 1 ? tf.tidy(() => opening(frame, k)) : frame.clone();
  const pooled = correlator.pool(probe);
  return { probe, pooled, spectrum: correlator.spectrumOfPooled(pooled) };
}

function disposeAnalysis(a: Analysis): void {
  tf.dispose([a.probe, a.pooled, a.spectrum.re, a.spectrum.im]);
}

function disposeEntry(e: HistoryEntry): void {
  e.frame.dispose();
  e.input?.dispose();
  if (e.analysis) disposeAnalysis(e.analysis);
  e.shot.dispose();
}
