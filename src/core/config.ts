/** SimpleIR configurations: the presets, validation, and the closed-form parameter and FLOP counts. */
import { SimpleIRError } from './errors.js';

/**
 * Shape of a SimpleIR network (see docs/architecture.md).
 * Every field is a positive integer; `iterations` and `blocks` may be 0.
 */
export interface SimpleIRConfig {
  /** Feature width C of the low-resolution body. */
  readonly width: number;
  /** Space-to-depth factor s: the body runs on an (H/s) x (W/s) grid. */
  readonly scale: number;
  /** Number N of distinct Hybrid Attention Blocks. */
  readonly blocks: number;
  /** Number K of iterations of the weight-shared Feature Iteration Block. */
  readonly iterations: number;
  /** Channel count c_d of the full-resolution Local Detail Attention Module. */
  readonly detailWidth: number;
}

/** Names of the shipped presets. */
export type PresetName = 'tiny' | 'base';

/** The shipped presets. `tiny` for CPU/wasm and tests, `base` for GPUs and 4K. */
export const PRESETS: Readonly<Record<PresetName, SimpleIRConfig>> = Object.freeze({
  tiny: Object.freeze({ width: 16, scale: 4, blocks: 2, iterations: 2, detailWidth: 4 }),
  base: Object.freeze({ width: 32, scale: 4, blocks: 4, iterations: 3, detailWidth: 8 }),
});

/** True when `name` is a preset name. */
export function isPresetName(name: unknown): name is PresetName {
  return name === 'tiny' || name === 'base';
}

const LIMITS: Record<keyof SimpleIRConfig, [number, number]> = {
  width: [2, 256],
  scale: [1, 8],
  blocks: [0, 64],
  iterations: [0, 64],
  detailWidth: [1, 64],
};

/**
 * Checks a configuration and returns a frozen copy of it.
 * @throws SimpleIRError `INVALID_CONFIG` naming the field, its value and the allowed range.
 */
export function validateConfig(config: unknown): SimpleIRConfig {
  if (typeof config !== 'object' || config === null) {
    throw new SimpleIRError('INVALID_CONFIG', `A SimpleIR config must be an object like ${JSON.stringify(PRESETS.tiny)}; got ${String(config)}.`);
  }
  const c = config as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of Object.keys(LIMITS) as (keyof SimpleIRConfig)[]) {
    const v = c[key];
    const [lo, hi] = LIMITS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new SimpleIRError('INVALID_CONFIG', `config.${key} must be an integer in [${lo}, ${hi}]; got ${JSON.stringify(v)}.`, { field: key, value: v });
    }
    out[key] = v;
  }
  for (const key of Object.keys(c)) {
    if (!(key in LIMITS)) {
      throw new SimpleIRError('INVALID_CONFIG', `Unknown config field "${key}"; valid fields are ${Object.keys(LIMITS).join(', ')}.`, { field: key });
    }
  }
  if (out.width! % 2 !== 0) {
    throw new SimpleIRError('INVALID_CONFIG', `config.width must be even (the gates split 2C channels into two halves of C); got ${out.width}.`, { field: 'width', value: out.width });
  }
  return Object.freeze(out as unknown as SimpleIRConfig);
}

/** A named weight tensor of the network, with its shape and how a fresh network initialises it. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** `fan`: random with fan-in scaling; `zero`/`one`: constants (zero residual scales give an identity start). */
  readonly init: 'fan' | 'zero' | 'one';
  /** Fan-in used by the `fan` initialiser. */
  readonly fanIn: number;
}

function conv(name: string, k: number, cin: number, cout: number, init: 'fan' | 'zero' = 'fan'): ParamSpec[] {
  return [
    { name: `${name}.w`, shape: [k, k, cin, cout], init, fanIn: k * k * cin },
    { name: `${name}.b`, shape: [cout], init: 'zero', fanIn: 1 },
  ];
}

function dwconv(name: string, k: number, c: number): ParamSpec[] {
  return [
    { name: `${name}.w`, shape: [k, k, c, 1], init: 'fan', fanIn: k * k },
    { name: `${name}.b`, shape: [c], init: 'zero', fanIn: 1 },
  ];
}

function norm(name: string, c: number): ParamSpec[] {
  return [
    { name: `${name}.g`, shape: [c], init: 'one', fanIn: 1 },
    { name: `${name}.b`, shape: [c], init: 'zero', fanIn: 1 },
  ];
}

/** Parameters of one Hybrid Attention Block under `prefix`. */
function habSpecs(prefix: string, c: number): ParamSpec[] {
  return [
    ...norm(`${prefix}.ln1`, c),
    ...conv(`${prefix}.pw1`, 1, c, 2 * c),
    ...dwconv(`${prefix}.dw`, 3, 2 * c),
    ...conv(`${prefix}.ca`, 1, c, c),
    ...conv(`${prefix}.sa`, 7, 2, 1),
    ...conv(`${prefix}.pw2`, 1, c, c),
    { name: `${prefix}.beta`, shape: [c], init: 'zero', fanIn: 1 },
    ...norm(`${prefix}.ln2`, c),
    ...conv(`${prefix}.ffn1`, 1, c, 2 * c),
    ...conv(`${prefix}.ffn2`, 1, c, c),
    { name: `${prefix}.gamma`, shape: [c], init: 'zero', fanIn: 1 },
  ];
}

/**
 * Every weight tensor of a network with this config, in the canonical order used by the weight format.
 * The output convolutions start at zero, so a fresh network is the identity.
 */
export function paramSpecs(config: SimpleIRConfig): ParamSpec[] {
  const { width: c, scale: s, blocks, iterations, detailWidth: cd } = validateConfig(config);
  const specs: ParamSpec[] = [...conv('head', 3, 3 * s * s, c)];
  for (let i = 0; i < blocks; i++) specs.push(...habSpecs(`hab${i}`, c));
  if (iterations > 0) {
    specs.push(...habSpecs('fib', c));
    specs.push({ name: 'fib.alpha', shape: [iterations, c], init: 'one', fanIn: 1 });
  }
  specs.push(...conv('tail', 3, c, 3 * s * s, 'zero'));
  specs.push(...conv('ldam.up', 1, c, cd * s * s));
  specs.push(...conv('ldam.in', 1, 3, cd));
  specs.push(...dwconv('ldam.dw', 3, cd));
  specs.push(...conv('ldam.att', 1, cd, cd));
  specs.push(...conv('ldam.out', 1, cd, 3, 'zero'));
  return specs;
}

/** Number of trainable parameters of a network with this config. */
export function paramCount(config: SimpleIRConfig): number {
  return paramSpecs(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** FLOPs of a k x k convolution per output position: 2 per multiply-accumulate plus the bias add. */
function convFlops(k: number, cin: number, cout: number): number {
  return 2 * k * k * cin * cout + cout;
}

/**
 * Floating-point operations per output pixel of one forward pass.
 *
 * Counted: every convolution and matrix product (2 FLOPs per multiply-accumulate, plus bias adds),
 * the depthwise convolutions included. Not counted: normalisation, gates, attention products,
 * activations and residual adds (a few percent), and the per-frame channel-attention 1x1 convolutions
 * (their cost does not grow with the frame size).
 */
export function flopsPerPixel(config: SimpleIRConfig): number {
  const { width: c, scale: s, blocks, iterations, detailWidth: cd } = validateConfig(config);
  const hab =
    convFlops(1, c, 2 * c) + // pw1
    (2 * 9 * 2 * c + 2 * c) + // depthwise 3x3
    convFlops(7, 2, 1) + // spatial attention
    convFlops(1, c, c) + // pw2
    convFlops(1, c, 2 * c) + // ffn1
    convFlops(1, c, c); // ffn2
  const lowRes =
    convFlops(3, 3 * s * s, c) + // head
    (blocks + iterations) * hab +
    convFlops(3, c, 3 * s * s) + // tail
    convFlops(1, c, cd * s * s); // ldam.up
  const fullRes = convFlops(1, 3, cd) + (2 * 9 * cd + cd) + convFlops(1, cd, cd) + convFlops(1, cd, 3);
  return lowRes / (s * s) + fullRes;
}

/**
 * Radius in full-resolution pixels of the region of the low-resolution features and of the input that
 * one output pixel of the full-resolution stage depends on. Tiles of that stage must overlap by at least
 * twice this.
 */
export function fullResReceptiveRadius(config: SimpleIRConfig): number {
  return 2 * config.scale;
}
