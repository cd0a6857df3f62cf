/** Rain: layers of falling, motion-blurred streaks (far thin and dense, near long and soft) over a light veil. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import {
  clamp,
  defineDegradation,
  lerp,
  resolveOptions,
  splitOverrides,
  tensorSeed,
  tidyNumber,
  type Degradation,
  type DegradationOptions,
} from './degradation.js';
import { sampleAffine, sparsePoints, veil } from './fields.js';
import { filterSame, gaussian1d, gaussianBlur, normalizePeak } from './kernels.js';

/** One depth layer of rain streaks. Sizes are in pixels. */
export interface RainLayer {
  /** Degrees added to the shared fall angle (gusts, perspective). */
  angleOffset: number;
  /** Streak length along the fall, measured vertically. */
  length: number;
  /** Gaussian sigma across the streak (0.3 thin and sharp .. 2 wide and soft). */
  width: number;
  /** Fraction of pixels where a streak starts. */
  density: number;
  /** Peak opacity of a streak. */
  opacity: number;
  /** Fall speed, pixels per second measured vertically. */
  speed: number;
  /** Faintest streak brightness relative to the brightest (streaks vary between this and 1). */
  minBrightness: number;
  /** Fraction of the length over which each end fades. */
  taper: number;
  /** Seed of the streak positions. */
  fieldSeed: number;
}

/** Sampled rain parameters. */
export interface RainParams {
  /** Fall direction in degrees from vertical; positive leans right going down. */
  angle: number;
  /** Depth layers, far first. */
  layers: RainLayer[];
  /** Colour of the streaks, RGB. */
  tint: [number, number, number];
  /**
   * How streaks combine with the scene: screen (lighten), add (saturating), or over (opaque drops of `tint`,
   * which look dark against a bright sky, as refracting drops do).
   */
  blend: 'screen' | 'add' | 'over';
  /** Mist: fraction of the scene replaced by `veilColor`. */
  veil: number;
  /** Colour of the mist, RGB. */
  veilColor: [number, number, number];
  /** Gaussian sigma (pixels) of a slight softening of the scene behind the rain, 0 for none. */
  sceneBlur: number;
}

/** Samples rain parameters for a severity in [0, 1]: strength raises coverage, opacity and mist. */
export function sampleRainParams(rng: Random, strength: number, pixelScale: number): RainParams {
  const count = rng.int(2, 3);
  const exposure = rng.uniform(1 / 50, 1 / 20); // streak length = fall speed x exposure
  const coverage = lerp(0.04, 0.22, strength) * rng.uniform(0.6, 1.4);
  const layers: RainLayer[] = [];
  for (let i = 0; i < count; i++) {
    const z = count === 1 ? 1 : i / (count - 1); // 0 far .. 1 near
    const length = pixelScale * lerp(14, 70, z) * rng.uniform(0.7, 1.4) * lerp(0.85, 1.15, strength);
    const width = pixelScale * lerp(0.3, 1.6, z) * rng.uniform(0.8, 1.25);
    const layerCoverage = coverage * lerp(1, 0.5, z) * rng.uniform(0.6, 1.4);
    layers.push({
      angleOffset: tidyNumber(rng.uniform(-4, 4)),
      length: tidyNumber(length),
      width: tidyNumber(width),
      density: tidyNumber(layerCoverage / (length * (1 + 2 * width))),
      opacity: tidyNumber(clamp(lerp(0.35, 0.85, strength) * rng.uniform(0.7, 1.2) * lerp(1, 0.75, z), 0.1, 1)),
      speed: tidyNumber(length / exposure),
      minBrightness: tidyNumber(rng.uniform(0.3, 0.7)),
      taper: tidyNumber(rng.uniform(0.15, 0.45)),
      fieldSeed: tensorSeed(rng),
    });
  }
  const grey = rng.uniform(0.75, 1);
  const blue = rng.uniform(0, 0.06);
  const mist = rng.uniform(0.6, 0.95);
  return {
    angle: tidyNumber(rng.uniform(-30, 30)),
    layers,
    tint: [grey - blue, grey, grey + blue].map((v) => tidyNumber(clamp(v + rng.uniform(-0.03, 0.03), 0, 1))) as [number, number, number],
    blend: rng.pick(['screen', 'screen', 'screen', 'add', 'add', 'over'] as const),
    veil: tidyNumber(clamp(lerp(0.02, 0.2, strength) * rng.uniform(0.3, 1.3), 0, 0.35)),
    veilColor: [mist - blue, mist, mist + blue].map((v) => tidyNumber(clamp(v, 0, 1))) as [number, number, number],
    sceneBlur: tidyNumber(rng.next() < 0.3 ? rng.uniform(0.4, 1.0) * pixelScale : 0),
  };
}

/** Circular running sum over the last axis of a [N, P] tensor: out[i] = x[i-len+1] + ... + x[i] (indices mod P). */
function circularBoxSum(x: tf.Tensor2D, len: number): tf.Tensor2D {
  if (len <= 1) return x;
  return tf.tidy(() => {
    const [, p] = x.shape;
    const extended = tf.concat([x.slice([0, p - len], [-1, len]), x], 1);
    const sums = tf.cumsum(extended, 1);
    return tf.sub(sums.slice([0, len], [-1, p]), sums.slice([0, 0], [-1, p])) as tf.Tensor2D;
  });
}

/** Geometry of one layer's streak field (stored transposed: [B, columns across the fall, rows along it, 1]). */
interface FieldGeometry {
  period: number;
  columns: number;
  offset: number;
  tan: number;
}

function fieldGeometry(layer: RainLayer, angle: number, height: number, width: number): FieldGeometry {
  const tan = Math.tan((angle * Math.PI) / 180);
  return {
    period: height + Math.ceil(layer.length) + 8,
    columns: width + Math.ceil(Math.abs(tan) * (height - 1)) + 2,
    offset: Math.max(0, tan) * (height - 1),
    tan,
  };
}

/**
 * Streaks of one layer in sheared coordinates, where every streak is vertical: sparse seeds run through a
 * trapezoid (two circular box sums along the fall). Periodic along the fall, tiled by one frame so that any
 * time offset reads inside it.
 */
function streakField(layer: RainLayer, g: FieldGeometry, batch: number, height: number): tf.Tensor4D {
  return tf.tidy(() => {
    const seeds = sparsePoints([batch, g.columns, g.period, 1], layer.density, layer.minBrightness, layer.fieldSeed);
    const len = Math.max(1, Math.round(layer.length));
    const fade = Math.max(1, Math.round(layer.taper * len));
    const flat = seeds.reshape([batch * g.columns, g.period]) as tf.Tensor2D;
    const streaks = tf.div(circularBoxSum(circularBoxSum(flat, Math.max(1, len - fade + 1)), fade), fade) as tf.Tensor2D;
    const tiled = tf.concat([streaks, streaks.slice([0, 0], [-1, height + 2])], 1);
    return tiled.reshape([batch, g.columns, g.period + height + 2, 1]) as tf.Tensor4D;
  });
}

/** One layer's streak image at `time`: the field sampled with the shear and the fall offset, then widened. */
function renderLayer(field: tf.Tensor4D, layer: RainLayer, g: FieldGeometry, height: number, width: number, time: number): tf.Tensor4D {
  return tf.tidy(() => {
    const fallen = (((layer.speed * time) % g.period) + g.period) % g.period;
    const oy = (g.period - fallen) % g.period;
    // Output (x, y) reads the field at column x - tan*y + offset, row y + oy.
    const sampled = sampleAffine(field, { ax: 0, ay: 1, a0: oy, bx: 1, by: -g.tan, b0: g.offset }, height, width);
    const across = gaussian1d(layer.width);
    const wide =
      across.length === 1
        ? sampled
        : filterSame(sampled, normalizePeak({ height: 1, width: across.length, data: across }), 'reflect');
    return tf.clipByValue(tf.mul(wide, layer.opacity), 0, 1) as tf.Tensor4D;
  });
}

/** A seeded rain generator: 2-3 layers of streaks at -30..30 degrees that fall as `time` advances. */
export function rain(options?: DegradationOptions & Partial<RainParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: RainParams = { ...sampleRainParams(new Random(seed).fork(1), strength, pixelScale), ...splitOverrides<RainParams>(options) };
  return defineDegradation('rain', { seed, strength, pixelScale, ...params }, (x, time, cache) => {
    const [b, h, w] = x.shape;
    const geometry = params.layers.map((layer) => fieldGeometry(layer, params.angle + layer.angleOffset, h, w));
    const fields = cache.use(`${b}x${h}x${w}`, () => params.layers.map((layer, i) => streakField(layer, geometry[i]!, b, h)));
    let clear: tf.Tensor = tf.ones([b, h, w, 1]);
    params.layers.forEach((layer, i) => {
      clear = tf.mul(clear, tf.sub(1, renderLayer(fields[i]!, layer, geometry[i]!, h, w, time)));
    });
    const cover = tf.sub(1, clear);
    const streaks = tf.mul(cover, tf.tensor1d(params.tint));
    let scene = params.sceneBlur > 0 ? gaussianBlur(x, params.sceneBlur) : x;
    if (params.veil > 0) scene = veil(scene, params.veil, params.veilColor);
    if (params.blend === 'screen') return tf.sub(1, tf.mul(tf.sub(1, scene), tf.sub(1, streaks))) as tf.Tensor4D;
    if (params.blend === 'add') return tf.add(scene, streaks) as tf.Tensor4D;
    return tf.add(tf.mul(scene, clear), streaks) as tf.Tensor4D;
  });
}
