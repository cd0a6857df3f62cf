/** Snow: layers of flakes (far small and sharp, near big, soft and few) that fall, drift and sway over a light veil. */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../random.js';
import {
  clamp,
  defineDegradation,
  lerp,
  logLerp,
  resolveOptions,
  splitOverrides,
  tensorSeed,
  tidyNumber,
  type Degradation,
  type DegradationOptions,
} from './degradation.js';
import { sampleAffine, sparsePoints, tileImage, veil } from './fields.js';
import { filterSame, flakeKernel } from './kernels.js';

/** One depth layer of snowflakes. Sizes are in pixels, speeds in pixels per second. */
export interface SnowLayer {
  /** Radius of a flake's core. */
  radius: number;
  /** Gaussian sigma of the flake's softening (out of focus for near flakes). */
  softness: number;
  /** Flakes per pixel. */
  density: number;
  /** Peak opacity of a flake. */
  opacity: number;
  /** Fall speed (down). */
  speed: number;
  /** Sideways speed (wind), positive to the right. */
  drift: number;
  /** Sideways sway amplitude. */
  swayAmplitude: number;
  /** Sway frequency in hertz. */
  swayFrequency: number;
  /** Sway phase in radians. */
  swayPhase: number;
  /** Length of the motion smear during the exposure. */
  motionBlur: number;
  /** Faintest flake relative to the brightest. */
  minBrightness: number;
  /** Seed of the flake positions. */
  fieldSeed: number;
}

/** Sampled snow parameters. */
export interface SnowParams {
  /** Depth layers, far first. */
  layers: SnowLayer[];
  /** Colour of the flakes, RGB. */
  color: [number, number, number];
  /** Blown-snow mist: fraction of the scene replaced by `veilColor`. */
  veil: number;
  /** Colour of the mist, RGB. */
  veilColor: [number, number, number];
}

/** Samples snow parameters for a severity in [0, 1]: strength raises flake count, opacity and mist. */
export function sampleSnowParams(rng: Random, strength: number, pixelScale: number): SnowParams {
  const count = rng.int(3, 4);
  const wind = rng.uniform(-0.6, 0.6);
  const exposure = rng.uniform(1 / 250, 1 / 30);
  const coverage = lerp(0.015, 0.1, strength) * rng.uniform(0.6, 1.4);
  const nearSize = rng.next() < 0.3 ? rng.uniform(1.3, 2) : rng.uniform(0.75, 1.3); // sometimes big close flakes
  const layers: SnowLayer[] = [];
  for (let i = 0; i < count; i++) {
    const z = count === 1 ? 1 : i / (count - 1); // 0 far .. 1 near
    const radius = pixelScale * logLerp(0.6, 6 * nearSize, z) * rng.uniform(0.75, 1.35);
    const softness = Math.max(0.3 * pixelScale, radius * lerp(0.3, 0.8, z) * rng.uniform(0.7, 1.3));
    const speed = pixelScale * logLerp(40, 300, z) * rng.uniform(0.7, 1.3);
    const drift = speed * (wind + rng.uniform(-0.15, 0.15));
    const area = Math.PI * (radius + softness) ** 2;
    layers.push({
      radius: tidyNumber(radius),
      softness: tidyNumber(softness),
      density: tidyNumber((coverage * lerp(1, 0.35, z) * rng.uniform(0.6, 1.4)) / area),
      opacity: tidyNumber(clamp(lerp(0.6, 0.95, strength) * rng.uniform(0.8, 1.1) * lerp(1, 0.75, z), 0.2, 1)),
      speed: tidyNumber(speed),
      drift: tidyNumber(drift),
      swayAmplitude: tidyNumber(pixelScale * rng.uniform(2, 12) * lerp(0.5, 1.5, z)),
      swayFrequency: tidyNumber(rng.uniform(0.2, 0.8)),
      swayPhase: tidyNumber(rng.uniform(0, 2 * Math.PI)),
      motionBlur: tidyNumber(Math.min(Math.hypot(speed, drift) * exposure, 12 * pixelScale)),
      minBrightness: tidyNumber(rng.uniform(0.5, 0.9)),
      fieldSeed: tensorSeed(rng),
    });
  }
  const grey = rng.uniform(0.88, 1);
  const blue = rng.uniform(0, 0.04);
  const mist = rng.uniform(0.75, 0.95);
  return {
    layers,
    color: [grey - blue, grey, grey + blue / 2].map((v) => tidyNumber(clamp(v, 0, 1))) as [number, number, number],
    veil: tidyNumber(clamp(lerp(0.03, 0.25, strength) * rng.uniform(0.3, 1.2), 0, 0.35)),
    veilColor: [mist - blue, mist, mist + blue].map((v) => tidyNumber(clamp(v, 0, 1))) as [number, number, number],
  };
}

/** Geometry of one layer: flakes are drawn at 1/scale resolution on a periodic grid of `rows` x `cols`. */
interface LayerGeometry {
  scale: number;
  rows: number;
  cols: number;
}

function layerGeometry(layer: SnowLayer, height: number, width: number): LayerGeometry {
  const footprint = layer.radius + 2 * layer.softness + layer.motionBlur / 2;
  const scale = clamp(Math.floor(footprint / 3), 1, 8);
  return { scale, rows: Math.ceil(height / scale) + 3, cols: Math.ceil(width / scale) + 3 };
}

/** One layer's flakes on its periodic low-resolution grid, tiled 2x2 so that any offset reads inside it. */
function flakeField(layer: SnowLayer, g: LayerGeometry, batch: number): tf.Tensor4D {
  return tf.tidy(() => {
    const s = g.scale;
    const seeds = sparsePoints([batch, g.rows, g.cols, 1], layer.density * s * s, layer.minBrightness, layer.fieldSeed);
    const kernel = flakeKernel(layer.radius / s, layer.softness / s, layer.motionBlur / s, Math.atan2(layer.speed, layer.drift));
    return tileImage(filterSame(seeds, kernel, 'wrap'), 2, 2);
  });
}

/** One layer's flake opacity at `time`: the field moved by fall, drift and sway, upsampled to the frame. */
function renderLayer(field: tf.Tensor4D, layer: SnowLayer, g: LayerGeometry, height: number, width: number, time: number): tf.Tensor4D {
  return tf.tidy(() => {
    const s = g.scale;
    const sway = layer.swayAmplitude * (Math.sin(2 * Math.PI * layer.swayFrequency * time + layer.swayPhase) - Math.sin(layer.swayPhase));
    const wrap = (v: number, n: number): number => ((v % n) + n) % n;
    // Full-resolution flakes move by whole pixels: bilinear sub-pixel shifts would blur them in some frames only.
    const snap = (v: number): number => (s === 1 ? Math.round(v) : v);
    const ox = wrap(snap(-(layer.drift * time + sway) / s), g.cols);
    const oy = wrap(snap(-(layer.speed * time) / s), g.rows);
    const map = { ax: 1 / s, ay: 0, a0: 0.5 / s + 0.5 + ox, bx: 0, by: 1 / s, b0: 0.5 / s + 0.5 + oy };
    return tf.clipByValue(tf.mul(sampleAffine(field, map, height, width), layer.opacity), 0, 1) as tf.Tensor4D;
  });
}

/** A seeded snow generator: 3-4 layers of flakes that fall with wind and sway as `time` advances. */
export function snow(options?: DegradationOptions & Partial<SnowParams>): Degradation {
  const { seed, strength, pixelScale } = resolveOptions(options);
  const params: SnowParams = { ...sampleSnowParams(new Random(seed).fork(2), strength, pixelScale), ...splitOverrides<SnowParams>(options) };
  return defineDegradation('snow', { seed, strength, pixelScale, ...params }, (x, time, cache) => {
    const [b, h, w] = x.shape;
    const geometry = params.layers.map((layer) => layerGeometry(layer, h, w));
    const fields = cache.use(`${b}x${h}x${w}`, () => params.layers.map((layer, i) => flakeField(layer, geometry[i]!, b)));
    // Flakes share one colour, so compositing the layers in turn equals compositing their combined cover once.
    let clear: tf.Tensor = tf.ones([b, h, w, 1]);
    params.layers.forEach((layer, i) => {
      clear = tf.mul(clear, tf.sub(1, renderLayer(fields[i]!, layer, geometry[i]!, h, w, time)));
    });
    const scene = params.veil > 0 ? veil(x, params.veil, params.veilColor) : x;
    return tf.add(tf.mul(scene, clear), tf.mul(tf.tensor1d(params.color), tf.sub(1, clear))) as tf.Tensor4D;
  });
}
