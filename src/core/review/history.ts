/**
 * Per-sample loss history for Review Learning: remembers each sample's last few losses and
 * scores how much they fluctuate, so that the difficult samples of a task can be found.
 */

import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';

/** How the spread term of {@link LossHistory.fluctuation} is measured. */
export type SpreadMeasure = 'detrended' | 'cv';

/** Options of a {@link LossHistory}. Every field has a documented default. */
export interface LossHistoryOptions {
  /** Number of recent visits kept per sample (m), 2..256. Default 6. */
  window?: number;
  /** Most sample ids tracked; the least recently updated is forgotten beyond it. Default 65536. */
  maxIds?: number;
  /** Weight of the spread term (relative spread of the recent losses). Default 1. */
  spreadWeight?: number;
  /** Weight of the rise term (last loss above the previous one, relative to the mean). Default 1. */
  riseWeight?: number;
  /**
   * How spread is measured. `'detrended'` (default): standard deviation of the residuals of a
   * least-squares line through the window, so a loss that falls steadily (a sample being
   * learnt) does not count as fluctuating. `'cv'`: plain standard deviation (coefficient of
   * variation once divided by the mean).
   */
  spread?: SpreadMeasure;
}

/** Serialised form of a {@link LossHistory} (plain JSON). */
export interface LossHistoryJSON {
  version: 1;
  window: number;
  maxIds: number;
  spreadWeight: number;
  riseWeight: number;
  spread: SpreadMeasure;
  /** `[id, recent losses oldest first, total visits]`, least recently updated first. */
  entries: [string, number[], number][];
}

interface Track {
  losses: number[];
  visits: number;
}

/** Smallest mean used as a denominator, so that near-zero losses do not blow scores up. */
const MEAN_FLOOR = 1e-8;

/**
 * Recent losses of every sample, keyed by sample id, with a fluctuation score per sample.
 *
 * Score, for the last `n >= 2` losses `l_1..l_n` of a sample with mean `mu`:
 * `spreadWeight * spread / mu + riseWeight * max(0, l_n - l_{n-1}) / mu`, where `spread` is the
 * standard deviation of the losses about their least-squares line (or about their mean with
 * `spread: 'cv'`). Samples with fewer than two visits are unscored (score 0).
 * Memory is bounded: at most `maxIds` samples are tracked, least recently updated evicted first.
 */
export class LossHistory {
  /** Recent visits kept per sample. */
  readonly window: number;
  /** Most sample ids tracked. */
  readonly maxIds: number;
  /** Weight of the spread term. */
  readonly spreadWeight: number;
  /** Weight of the rise term. */
  readonly riseWeight: number;
  /** How spread is measured. */
  readonly spread: SpreadMeasure;
  // Map order is recency order: the first key is the least recently updated.
  private readonly tracks = new Map<string, Track>();

  constructor(options: LossHistoryOptions = {}) {
    if (!isOptionsObject(options)) throw invalidArgument('new LossHistory(options)', 'an options object like { window: 6 } (or nothing)', options);
    this.window = checkInt('window', options.window ?? 6, 2, 256);
    this.maxIds = checkInt('maxIds', options.maxIds ?? 65536, 1, Number.MAX_SAFE_INTEGER);
    this.spreadWeight = checkWeight('spreadWeight', options.spreadWeight ?? 1);
    this.riseWeight = checkWeight('riseWeight', options.riseWeight ?? 1);
    this.spread = options.spread ?? 'detrended';
    if (this.spread !== 'detrended' && this.spread !== 'cv') {
      throw new SimpleIRError('INVALID_ARGUMENT', `LossHistory: spread must be 'detrended' or 'cv', got ${String(this.spread)}.`);
    }
  }

  /** Number of samples tracked. */
  get size(): number {
    return this.tracks.size;
  }

  /** Records one visit of sample `id` with its loss (finite, >= 0). */
  record(id: string, loss: number): void {
    if (!Number.isFinite(loss) || loss < 0) {
      throw new SimpleIRError('INVALID_ARGUMENT', `LossHistory.record: loss of '${id}' must be a finite number >= 0, got ${loss}.`, { id, loss });
    }
    const track = this.tracks.get(id) ?? { losses: [], visits: 0 };
    this.tracks.delete(id);
    track.losses.push(loss);
    if (track.losses.length > this.window) track.losses.shift();
    track.visits += 1;
    this.tracks.set(id, track);
    this.evict();
  }

  /** Total visits recorded for `id` since it was (last) tracked; 0 if unknown. */
  visits(id: string): number {
    return this.tracks.get(id)?.visits ?? 0;
  }

  /** The recent losses of `id`, oldest first (at most `window`); empty if unknown. */
  losses(id: string): readonly number[] {
    return [...(this.tracks.get(id)?.losses ?? [])];
  }

  /** True when `id` has at least two recent losses, i.e. has a meaningful score. */
  isScored(id: string): boolean {
    return (this.tracks.get(id)?.losses.length ?? 0) >= 2;
  }

  /** Fluctuation score of `id` (see the class comment); 0 for unknown or once-seen samples. */
  fluctuation(id: string): number {
    const losses = this.tracks.get(id)?.losses;
    if (!losses || losses.length < 2) return 0;
    const n = losses.length;
    const mean = losses.reduce((a, b) => a + b, 0) / n;
    const denom = Math.max(mean, MEAN_FLOOR);
    const spread = this.spread === 'cv' ? stdAboutMean(losses, mean) : stdAboutLine(losses, mean);
    const rise = Math.max(0, (losses[n - 1] as number) - (losses[n - 2] as number));
    return (this.spreadWeight * spread + this.riseWeight * rise) / denom;
  }

  /**
   * The `k` scored ids (two or more visits) of highest fluctuation, highest first; ties are
   * broken by id. `filter` restricts the candidates.
   */
  topK(k: number, filter?: (id: string) => boolean): string[] {
    checkInt('k', k, 0, Number.MAX_SAFE_INTEGER);
    const scored: [string, number][] = [];
    for (const [id, track] of this.tracks) {
      if (track.losses.length < 2 || (filter && !filter(id))) continue;
      scored.push([id, this.fluctuation(id)]);
    }
    scored.sort(byScoreThenId);
    return scored.slice(0, k).map(([id]) => id);
  }

  /** Ids tracked, least recently updated first. */
  ids(): string[] {
    return [...this.tracks.keys()];
  }

  /** Forgets `id`; returns whether it was tracked. */
  delete(id: string): boolean {
    return this.tracks.delete(id);
  }

  /** Forgets every sample (for example at the start of a new stage). */
  clear(): void {
    this.tracks.clear();
  }

  /** A plain-JSON snapshot, restorable with {@link LossHistory.fromJSON}. */
  toJSON(): LossHistoryJSON {
    return {
      version: 1,
      window: this.window,
      maxIds: this.maxIds,
      spreadWeight: this.spreadWeight,
      riseWeight: this.riseWeight,
      spread: this.spread,
      entries: [...this.tracks].map(([id, t]) => [id, [...t.losses], t.visits]),
    };
  }

  /** Rebuilds a history from {@link LossHistory.toJSON} output; throws INVALID_ARGUMENT if malformed. */
  static fromJSON(json: LossHistoryJSON): LossHistory {
    if (!json || json.version !== 1 || !Array.isArray(json.entries)) {
      throw new SimpleIRError('INVALID_ARGUMENT', 'LossHistory.fromJSON: expected an object with version 1 and an entries array.');
    }
    const history = new LossHistory(json);
    for (const entry of json.entries) {
      const [id, losses, visits] = Array.isArray(entry) ? entry : [];
      if (typeof id !== 'string' || !Array.isArray(losses) || !Number.isInteger(visits) || (visits as number) < losses.length) {
        throw new SimpleIRError('INVALID_ARGUMENT', 'LossHistory.fromJSON: each entry must be [id, losses[], visits >= losses.length].', { entry });
      }
      for (const loss of losses.slice(-history.window)) history.record(id, loss);
      const track = history.tracks.get(id);
      if (track) track.visits = visits as number;
    }
    return history;
  }

  private evict(): void {
    while (this.tracks.size > this.maxIds) {
      const oldest = this.tracks.keys().next().value as string;
      this.tracks.delete(oldest);
    }
  }
}

/** Sort order of `[id, score]` pairs: score descending, then id ascending. */
export function byScoreThenId(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

function stdAboutMean(xs: readonly number[], mean: number): number {
  let s = 0;
  for (const x of xs) s += (x - mean) ** 2;
  return Math.sqrt(s / xs.length);
}

/** Standard deviation of the residuals of the least-squares line through `(i, xs[i])`. */
function stdAboutLine(xs: readonly number[], mean: number): number {
  const n = xs.length;
  const tMean = (n - 1) / 2;
  let cov = 0;
  let varT = 0;
  for (let i = 0; i < n; i++) {
    cov += (i - tMean) * ((xs[i] as number) - mean);
    varT += (i - tMean) ** 2;
  }
  const slope = cov / varT;
  let s = 0;
  for (let i = 0; i < n; i++) s += ((xs[i] as number) - mean - slope * (i - tMean)) ** 2;
  return Math.sqrt(s / n);
}

function checkInt(name: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new SimpleIRError('INVALID_ARGUMENT', `LossHistory: ${name} must be an integer in [${lo}, ${hi}], got ${value}.`, { [name]: value });
  }
  return value;
}

function checkWeight(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `LossHistory: ${name} must be a finite number >= 0, got ${value}.`, { [name]: value });
  }
  return value;
}
