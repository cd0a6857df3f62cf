/** The shape every synthetic degradation shares: options, input checks, batching, per-shape tensor caches. */
import * as tf from '@tensorflow/tfjs';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import { Random } from '../random.js';

/** The degradations the SDK can synthesise. */
export type DegradationKind = 'rain' | 'snow' | 'lowlight' | 'blur' | 'haze' | 'noise';

/** Options common to every generator. */
export interface DegradationOptions {
  /** Seed of every random choice (parameters and patterns). Default 0. */
  seed?: number;
  /** Severity in [0, 1]: 0 is the mild edge of the training range, 1 the strong edge. Default 0.5. */
  strength?: number;
  /**
   * Pixel size of the scene features relative to a 1080p frame (streak lengths, flake sizes, blur kernels).
   * Sizes are in pixels, so a 128-px crop and the full frame get the same streaks; pass 2 for 4K footage
   * viewed at the same framing. Default 1.
   */
  pixelScale?: number;
}

/** Options of {@link Degradation.apply}. */
export interface ApplyOptions {
  /** Seconds since the start of the clip: rain and snow fall, sensor noise changes. Default 0. */
  time?: number;
}

/** A seeded degradation with its sampled parameters, ready to apply to clean images. */
export interface Degradation {
  /** Which degradation this is. */
  readonly kind: DegradationKind;
  /** The sampled parameters (JSON-serialisable), for reports and reproduction. */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * Degrades `clean` ([H,W,3] or [B,H,W,3] float32 in [0,1]) and returns a new tensor of the same shape in [0,1].
   * Does not dispose its input. Random patterns (streaks, flakes, noise) are drawn per shape and per backend
   * on first use and kept until {@link Degradation.dispose}; each batch element gets its own pattern.
   * Same seed, strength, shape and time give the same output, bit for bit on one backend.
   */
  apply(clean: tf.Tensor3D | tf.Tensor4D, options?: ApplyOptions): tf.Tensor3D | tf.Tensor4D;
  /** Releases the cached tensors; `apply` afterwards throws a `DISPOSED` error. */
  dispose(): void;
}

/** Validated common options, with defaults filled in. */
export interface ResolvedOptions {
  /** Integer seed. */
  seed: number;
  /** Severity in [0, 1]. */
  strength: number;
  /** Feature size scale, > 0. */
  pixelScale: number;
}

/** Checks the common options and fills in their defaults. Throws `INVALID_ARGUMENT`. */
export function resolveOptions(options: DegradationOptions = {}): ResolvedOptions {
  if (!isOptionsObject(options)) throw invalidArgument('degradation options', 'an object such as { seed: 1, strength: 0.5 }', options);
  const seed = options.seed ?? 0;
  const strength = options.strength ?? 0.5;
  const pixelScale = options.pixelScale ?? 1;
  if (!Number.isFinite(seed)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `seed must be a finite number, got ${seed}.`, { seed });
  }
  if (!Number.isFinite(strength) || strength < 0 || strength > 1) {
    throw new SimpleIRError('INVALID_ARGUMENT', `strength must be in [0, 1], got ${strength}.`, { strength });
  }
  if (!Number.isFinite(pixelScale) || pixelScale <= 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `pixelScale must be a positive number, got ${pixelScale}.`, {
      pixelScale,
    });
  }
  return { seed: Math.floor(seed), strength, pixelScale };
}

/** Splits generator options into the common options and the caller's parameter overrides. */
export function splitOverrides<P>(options: (DegradationOptions & Partial<P>) | undefined): Partial<P> {
  const { seed: _seed, strength: _strength, pixelScale: _pixelScale, ...rest } = options ?? {};
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) overrides[key] = value;
  return overrides as Partial<P>;
}

/** Linear interpolation from `a` (t = 0) to `b` (t = 1). */
export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** Geometric interpolation from `a` (t = 0) to `b` (t = 1); both must be > 0. */
export function logLerp(a: number, b: number, t: number): number {
  return Math.exp(lerp(Math.log(a), Math.log(b), t));
}

/** `x` clamped to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Rounds to 4 significant decimals so that sampled parameters read well in reports. */
export function tidyNumber(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** A seed for `tf.random*` drawn from `rng` (a positive 31-bit integer). */
export function tensorSeed(rng: Random): number {
  return rng.int(1, 0x7fffffff);
}

/** A generator for the random choices that change from frame to frame, derived from the seed and `time` (to the ms). */
export function frameRandom(seed: number, salt: number, time: number): Random {
  const ms = Math.round(time * 1000);
  return new Random((seed ^ Math.imul(ms, 0x27d4eb2d) ^ Math.imul(salt + 7, 0x165667b1)) >>> 0);
}

type Renderer = (x: tf.Tensor4D, time: number, cache: TensorCache) => tf.Tensor4D;

/** Tensors a degradation keeps between calls (patterns, kernels), keyed by batch shape and backend. */
export class TensorCache {
  private readonly entries = new Map<string, tf.Tensor[]>();
  private readonly maxEntries: number;

  constructor(maxEntries = 4) {
    this.maxEntries = maxEntries;
  }

  /** The tensors stored under `key`, built (and kept out of any tidy) on first use. */
  use<T extends tf.Tensor[]>(key: string, build: () => T): T {
    const fullKey = `${tf.getBackend()}|${key}`;
    const hit = this.entries.get(fullKey);
    if (hit !== undefined && hit.every((t) => !t.isDisposed)) return hit as T;
    if (hit !== undefined) this.drop(fullKey);
    if (this.entries.size >= this.maxEntries) this.clear();
    const built = build();
    for (const t of built) tf.keep(t);
    this.entries.set(fullKey, built);
    return built;
  }

  /** Disposes every stored tensor. */
  clear(): void {
    for (const key of [...this.entries.keys()]) this.drop(key);
  }

  private drop(key: string): void {
    for (const t of this.entries.get(key) ?? []) t.dispose();
    this.entries.delete(key);
  }
}

/** Checks an input image: float32, [H,W,3] or [B,H,W,3], at least `minSize` pixels each way. */
export function checkImage(x: tf.Tensor, minSize = 8): void {
  if (!(x instanceof tf.Tensor) || x.isDisposed) {
    throw new SimpleIRError('INVALID_IMAGE', 'Expected a live tf.Tensor of shape [H,W,3] or [B,H,W,3].');
  }
  const shape = x.shape;
  const ok = (shape.length === 3 || shape.length === 4) && shape[shape.length - 1] === 3;
  if (!ok) {
    throw new SimpleIRError('INVALID_IMAGE', `Expected shape [H,W,3] or [B,H,W,3], got [${shape.join(',')}].`, {
      shape,
    });
  }
  if (x.dtype !== 'float32') {
    throw new SimpleIRError('INVALID_IMAGE', `Expected float32 values in [0,1], got ${x.dtype}; use tensor.toFloat().div(255).`, {
      dtype: x.dtype,
    });
  }
  const h = shape[shape.length - 3] ?? 0;
  const w = shape[shape.length - 2] ?? 0;
  if (h < minSize || w < minSize) {
    throw new SimpleIRError('INVALID_IMAGE', `Images must be at least ${minSize}x${minSize} pixels, got ${h}x${w}.`, {
      shape,
    });
  }
}

/** Deep-freezes a parameter record so that reports cannot alter it. */
function freeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) freeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds a {@link Degradation} from its sampled parameters and a renderer that maps a [B,H,W,3] batch to its
 * degraded version. Handles input checks, rank 3 inputs, clipping to [0,1], tidying and the cache.
 */
export function defineDegradation(
  kind: DegradationKind,
  params: Record<string, unknown>,
  render: Renderer,
): Degradation {
  const cache = new TensorCache();
  let disposed = false;
  const frozen = freeze(JSON.parse(JSON.stringify(params)) as Record<string, unknown>);
  return {
    kind,
    params: frozen,
    apply(clean, options = {}) {
      if (!isOptionsObject(options)) throw invalidArgument(`${kind}.apply(clean, options)`, 'an object such as { time: 0.5 }', options);
      if (disposed) throw new SimpleIRError('DISPOSED', `This ${kind} degradation was disposed; create a new one.`);
      checkImage(clean);
      const time = options.time ?? 0;
      if (!Number.isFinite(time)) {
        throw new SimpleIRError('INVALID_ARGUMENT', `time must be a finite number of seconds, got ${time}.`, { time });
      }
      return tf.tidy(() => {
        const batch = (clean.rank === 3 ? clean.expandDims(0) : clean) as tf.Tensor4D;
        const out = tf.clipByValue(render(batch, time, cache), 0, 1) as tf.Tensor4D;
        return clean.rank === 3 ? (out.squeeze([0]) as tf.Tensor3D) : out;
      });
    },
    dispose() {
      cache.clear();
      disposed = true;
    },
  };
}
