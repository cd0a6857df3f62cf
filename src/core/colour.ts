/**
 * Colour maths shared by every YCbCr <-> RGB path (y4m video in Node, VideoFrame pixels in the browser)
 * and by the constants of the GPU import's shader: the matrices' luma weights, the 8-bit sample ranges,
 * the sRGB transfer curve and the primaries' gamut matrices. Plain numbers: no runtime, no I/O.
 */
import { SimpleIRError } from './errors.js';

/** A YCbCr matrix: BT.601 (SD), BT.709 (HD) or BT.2020 (UHD, non-constant luminance). */
export type YuvMatrix = 'bt601' | 'bt709' | 'bt2020';

/** Sample range: limited (Y 16..235, Cb/Cr 16..240, the video norm) or full (0..255, JPEG). */
export type YuvRange = 'limited' | 'full';

/** Every {@link YuvMatrix}. */
export const YUV_MATRICES: readonly YuvMatrix[] = ['bt601', 'bt709', 'bt2020'];

/** Every {@link YuvRange}. */
export const YUV_RANGES: readonly YuvRange[] = ['limited', 'full'];

/** Luma weights `[kr, kb]` of each matrix (`kg = 1 - kr - kb`). */
export const LUMA_WEIGHTS: Readonly<Record<YuvMatrix, readonly [number, number]>> = {
  bt601: [0.299, 0.114],
  bt709: [0.2126, 0.0722],
  bt2020: [0.2627, 0.0593],
};

/** BT.601 luma weights as `[R, G, B]`: the luminance every analysis of the SDK uses (quality, alignment, exposure). */
export const RGB_LUMA: readonly [number, number, number] = [LUMA_WEIGHTS.bt601[0], 1 - LUMA_WEIGHTS.bt601[0] - LUMA_WEIGHTS.bt601[1], LUMA_WEIGHTS.bt601[1]];

/** 8-bit levels of a range: Y runs from `yOffset` over `ySpan` levels; Cb and Cr are centred on 128 over `cSpan` levels. */
export interface SampleRange {
  /** The Y level of black. */
  readonly yOffset: number;
  /** Y levels from black to white. */
  readonly ySpan: number;
  /** Cb/Cr levels from -0.5 to +0.5. */
  readonly cSpan: number;
}

/** The 8-bit levels of each range. */
export const SAMPLE_RANGES: Readonly<Record<YuvRange, SampleRange>> = {
  limited: { yOffset: 16, ySpan: 219, cSpan: 224 },
  full: { yOffset: 0, ySpan: 255, cSpan: 255 },
};

/** The Cb/Cr level of zero chroma (grey) in 8-bit samples. */
export const CHROMA_ZERO = 128;

/**
 * The numbers of one YCbCr conversion in 8-bit levels. YCbCr to RGB:
 * `Y' = (Y - yOffset) * yScale`, `Cb' = (Cb - 128) * cScale`, `Cr' = (Cr - 128) * cScale`, then
 * `R = Y' + crToR * Cr'`, `G = Y' - cbToG * Cb' - crToG * Cr'`, `B = Y' + cbToB * Cb'` (0..255).
 * RGB to YCbCr: `Y = yOffset + yRange * (kr R + kg G + kb B) / 255`,
 * `Cb = 128 + cRange * (B - luma) / (2 (1 - kb) 255)`, `Cr = 128 + cRange * (R - luma) / (2 (1 - kr) 255)`.
 */
export interface YuvCoefficients {
  /** Luma weight of red. */
  readonly kr: number;
  /** Luma weight of green. */
  readonly kg: number;
  /** Luma weight of blue. */
  readonly kb: number;
  /** The Y level of black. */
  readonly yOffset: number;
  /** Y levels from black to white. */
  readonly yRange: number;
  /** Cb/Cr levels from -0.5 to +0.5. */
  readonly cRange: number;
  /** `255 / yRange`: Y levels to RGB levels. */
  readonly yScale: number;
  /** `255 / cRange`: Cb/Cr levels to RGB levels. */
  readonly cScale: number;
  /** Red per unit of Cr. */
  readonly crToR: number;
  /** Green removed per unit of Cb. */
  readonly cbToG: number;
  /** Green removed per unit of Cr. */
  readonly crToG: number;
  /** Blue per unit of Cb. */
  readonly cbToB: number;
}

/**
 * The coefficients of `matrix` in `range`.
 * @throws SimpleIRError `INVALID_ARGUMENT` for a matrix or range not known (naming the ones that are).
 */
export function yuvCoefficients(matrix: YuvMatrix, range: YuvRange): YuvCoefficients {
  if (!YUV_MATRICES.includes(matrix)) throw new SimpleIRError('INVALID_ARGUMENT', `matrix must be ${YUV_MATRICES.map((m) => `'${m}'`).join(', ')}, got ${String(matrix)}`);
  if (!YUV_RANGES.includes(range)) throw new SimpleIRError('INVALID_ARGUMENT', `range must be 'limited' or 'full', got ${String(range)}`);
  const [kr, kb] = LUMA_WEIGHTS[matrix];
  const kg = 1 - kr - kb;
  const { yOffset, ySpan, cSpan } = SAMPLE_RANGES[range];
  return {
    kr,
    kg,
    kb,
    yOffset,
    yRange: ySpan,
    cRange: cSpan,
    yScale: 255 / ySpan,
    cScale: 255 / cSpan,
    crToR: 2 * (1 - kr),
    cbToB: 2 * (1 - kb),
    cbToG: (2 * (1 - kb) * kb) / kg,
    crToG: (2 * (1 - kr) * kr) / kg,
  };
}

/**
 * The matrix a colour tag names, in ffmpeg's words (`color_space`: `bt709`, `smpte170m`, `bt470bg`,
 * `fcc`, `bt2020nc`) or WebCodecs' (`VideoMatrixCoefficients`: `bt709`, `smpte170m`, `bt470bg`,
 * `bt2020-ncl`); undefined for `rgb`, a missing tag or one not known.
 */
export function matrixOfTag(tag: string | null | undefined): YuvMatrix | undefined {
  switch (tag) {
    case 'bt709':
      return 'bt709';
    case 'smpte170m':
    case 'bt470bg':
    case 'fcc':
      return 'bt601';
    case 'bt2020nc':
    case 'bt2020-ncl':
      return 'bt2020';
    default:
      return undefined;
  }
}

/**
 * The sRGB transfer curve (IEC 61966-2-1): `encoded = (1 + offset) * linear^(1 / exponent) - offset`,
 * linear `* slope` below `encodeBelow` (in linear light) / `decodeBelow` (encoded).
 */
export const SRGB_CURVE = { offset: 0.055, exponent: 2.4, slope: 12.92, encodeBelow: 0.0031308, decodeBelow: 0.04045 } as const;

/** A 3x3 matrix, row-major. */
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

/** CIE xy of the red, green and blue primaries by `VideoColorPrimaries` name (some missing from TypeScript's DOM types); all have a D65 white. */
const PRIMARIES: Readonly<Record<string, readonly [number, number, number, number, number, number]>> = {
  bt709: [0.64, 0.33, 0.3, 0.6, 0.15, 0.06],
  bt470bg: [0.64, 0.33, 0.29, 0.6, 0.15, 0.06],
  smpte170m: [0.63, 0.34, 0.31, 0.595, 0.155, 0.07],
  bt2020: [0.708, 0.292, 0.17, 0.797, 0.131, 0.046],
  smpte432: [0.68, 0.32, 0.265, 0.69, 0.15, 0.06],
};
const D65 = [0.3127, 0.329] as const;

function mul(a: Mat3, b: Mat3): Mat3 {
  const r: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r.push(a[3 * i]! * b[j]! + a[3 * i + 1]! * b[3 + j]! + a[3 * i + 2]! * b[6 + j]!);
  return r as unknown as Mat3;
}

function invert(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

/**
 * Linear RGB to XYZ for a set of primaries (a `VideoColorPrimaries` name) with a D65 white.
 * @throws SimpleIRError `INVALID_ARGUMENT` for primaries not known.
 */
export function rgbToXyz(primaries: string): Mat3 {
  const p = PRIMARIES[primaries];
  if (!p) throw new SimpleIRError('INVALID_ARGUMENT', `rgbToXyz: primaries must be one of ${Object.keys(PRIMARIES).join(', ')}, got ${String(primaries)}`);
  const [xr, yr, xg, yg, xb, yb] = p;
  const col = (x: number, y: number): [number, number, number] => [x / y, 1, (1 - x - y) / y];
  const [r, g, b] = [col(xr, yr), col(xg, yg), col(xb, yb)];
  const m: Mat3 = [r[0], g[0], b[0], r[1], g[1], b[1], r[2], g[2], b[2]];
  const w = col(D65[0], D65[1]);
  const inv = invert(m);
  const s = [0, 1, 2].map((k) => inv[3 * k]! * w[0] + inv[3 * k + 1]! * w[1] + inv[3 * k + 2]! * w[2]);
  return [m[0] * s[0]!, m[1] * s[1]!, m[2] * s[2]!, m[3] * s[0]!, m[4] * s[1]!, m[5] * s[2]!, m[6] * s[0]!, m[7] * s[1]!, m[8] * s[2]!];
}

/**
 * The linear-light matrix from sRGB (BT.709) primaries back to the frame's own primaries, i.e. the
 * inverse of the gamut step of WebGPU's `importExternalTexture`; null when there is none to undo (BT.709
 * primaries, or primaries not given or not known).
 */
export function gamutUndo(primaries: string | null | undefined): Mat3 | null {
  if (!primaries || primaries === 'bt709' || !(primaries in PRIMARIES)) return null;
  return mul(invert(rgbToXyz(primaries)), rgbToXyz('bt709'));
}
