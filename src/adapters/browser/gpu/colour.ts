/**
 * Colour code of the GPU import's shader, generated from the numbers of `core/colour.ts`:
 * `importExternalTexture` converts a frame to sRGB, primaries included (as the WebGPU spec asks),
 * while the CPU path and the rest of the SDK (y4m, ffmpeg) use the plain BT.601/BT.709/BT.2020 matrix
 * with no gamut mapping; the shader undoes the gamut step with these sRGB curves and
 * `gamutUndo`'s matrix (core/colour.ts), so both paths give the same pixels.
 */
import { SRGB_CURVE } from '../../../core/colour.js';

/** `n` as a WGSL float literal (always with a decimal point or an exponent). */
export function wgslFloat(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`a WGSL float literal must be finite, got ${n}`);
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

const { offset, exponent, slope, encodeBelow, decodeBelow } = SRGB_CURVE;

/**
 * WGSL functions `decode` (sRGB-encoded to linear) and `encode` (linear to sRGB-encoded) of `vec3<f32>`,
 * sign-preserving (the import leaves out-of-gamut values unclamped, negative ones included).
 */
export const SRGB_WGSL = /* wgsl */ `
fn decode(v: vec3<f32>) -> vec3<f32> {
  let a = abs(v);
  return sign(v) * select(pow((a + ${wgslFloat(offset)}) / ${wgslFloat(1 + offset)}, vec3<f32>(${wgslFloat(exponent)})), a / ${wgslFloat(slope)}, a <= vec3<f32>(${wgslFloat(decodeBelow)}));
}

fn encode(v: vec3<f32>) -> vec3<f32> {
  let a = abs(v);
  return sign(v) * select(${wgslFloat(1 + offset)} * pow(a, vec3<f32>(1.0 / ${wgslFloat(exponent)})) - ${wgslFloat(offset)}, a * ${wgslFloat(slope)}, a <= vec3<f32>(${wgslFloat(encodeBelow)}));
}
`;
