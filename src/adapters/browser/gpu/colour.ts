/**
 * Colour maths of the GPU import: `importExternalTexture` converts a frame to sRGB, primaries
 * included (as the WebGPU spec asks), while the CPU path and the rest of the SDK (y4m, ffmpeg) use the
 * plain BT.601/BT.709 matrix with no gamut mapping. This module gives the matrix that undoes the gamut
 * step, so both paths give the same pixels.
 */

/** A 3x3 matrix, row-major. */
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

/** CIE xy of the red, green and blue primaries by `VideoColorPrimaries` (some missing from TypeScript's DOM types); all have a D65 white. */
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

/** Linear RGB to XYZ for a set of primaries (a `VideoColorPrimaries` name) with a D65 white. */
export function rgbToXyz(primaries: string): Mat3 {
  const [xr, yr, xg, yg, xb, yb] = PRIMARIES[primaries]!;
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
 * inverse of the gamut step of `importExternalTexture`; null when there is none to undo (BT.709
 * primaries, or primaries not given).
 */
export function gamutUndo(primaries: string | null | undefined): Mat3 | null {
  if (!primaries || primaries === 'bt709' || !(primaries in PRIMARIES)) return null;
  return mul(invert(rgbToXyz(primaries)), rgbToXyz('bt709'));
}
