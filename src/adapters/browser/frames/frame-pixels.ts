/**
 * CPU read of a `VideoFrame`'s pixels as float RGB: `copyTo` the planes, then the plain BT.601 /
 * BT.709 / BT.2020 matrix per the frame's `colorSpace` (limited or full range), chroma upsampled
 * bilinearly. The same numbers as the GPU import and as ffmpeg, whatever the browser's own
 * drawing path does with colour management.
 */
import { CHROMA_ZERO, LUMA_WEIGHTS, matrixOfTag, SAMPLE_RANGES } from '../../../core/colour.js';

/** 8-bit formats read here; others go through `createImageBitmap`. */
const FORMATS = new Set<VideoPixelFormat>(['I420', 'I420A', 'I422', 'I444', 'NV12', 'RGBA', 'RGBX', 'BGRA', 'BGRX']);

/**
 * Bilinear taps of a chroma plane subsampled by `2^shift`, samples sited at the centre of their
 * luma pixels (as Chromium's GPU import and libyuv do): for luma index `i`, chroma position
 * `(i + 0.5) / 2^shift - 0.5`, clamped to the plane.
 */
function chromaTaps(n: number, shift: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const m = (n + (1 << shift) - 1) >> shift;
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.min(m - 1, Math.max(0, (i + 0.5) / (1 << shift) - 0.5));
    i0[i] = Math.floor(c);
    i1[i] = Math.min(m - 1, i0[i]! + 1);
    f[i] = c - i0[i]!;
  }
  return { i0, i1, f };
}

/** True when {@link readFramePixels} can read `frame` (an 8-bit format, no display scaling). */
export function canReadFramePixels(frame: VideoFrame): boolean {
  const r = frame.visibleRect;
  return frame.format !== null && FORMATS.has(frame.format) && r !== null && r.width === frame.displayWidth && r.height === frame.displayHeight;
}

/**
 * The visible pixels of `frame` as `[height, width, 3]` float32 in [0, 1], row-major.
 * Call only when {@link canReadFramePixels} is true.
 */
export async function readFramePixels(frame: VideoFrame): Promise<Float32Array> {
  const format = frame.format!;
  const { width, height } = frame.visibleRect!;
  const bytes = new Uint8Array(frame.allocationSize());
  const layout = await frame.copyTo(bytes);
  const out = new Float32Array(width * height * 3);
  if (format === 'RGBA' || format === 'RGBX' || format === 'BGRA' || format === 'BGRX') {
    const { offset, stride } = layout[0]!;
    const [r, b] = format.startsWith('RGB') ? [0, 2] : [2, 0];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = offset + y * stride + 4 * x;
        const o = 3 * (y * width + x);
        out[o] = bytes[i + r]! / 255;
        out[o + 1] = bytes[i + 1]! / 255;
        out[o + 2] = bytes[i + b]! / 255;
      }
    }
    return out;
  }
  const cs = frame.colorSpace;
  // A matrix not given (or `rgb`, or not known) reads as BT.709, Chromium's default.
  const [kr, kb] = LUMA_WEIGHTS[matrixOfTag(cs.matrix) ?? 'bt709'];
  const kg = 1 - kr - kb;
  const { yOffset: yOff, ySpan, cSpan } = SAMPLE_RANGES[cs.fullRange === true ? 'full' : 'limited'];
  const yScale = 1 / ySpan;
  const cScale = 1 / cSpan;
  // Chroma subsampling: 4:2:0 for I420/NV12, 4:2:2 horizontal only, 4:4:4 none.
  const sx = format === 'I444' ? 0 : 1;
  const sy = format === 'I420' || format === 'I420A' || format === 'NV12' ? 1 : 0;
  const yPlane = layout[0]!;
  const uPlane = layout[1]!;
  const vPlane = format === 'NV12' ? layout[1]! : layout[2]!;
  const step = format === 'NV12' ? 2 : 1;
  const vShift = format === 'NV12' ? 1 : 0;
  const cols = chromaTaps(width, sx);
  const rows = chromaTaps(height, sy);
  const chroma = (plane: PlaneLayout, shift: number, x: number, y: number): number => {
    const r0 = plane.offset + rows.i0[y]! * plane.stride + shift;
    const r1 = plane.offset + rows.i1[y]! * plane.stride + shift;
    const c0 = cols.i0[x]! * step;
    const c1 = cols.i1[x]! * step;
    const fx = cols.f[x]!;
    const top = bytes[r0 + c0]! + (bytes[r0 + c1]! - bytes[r0 + c0]!) * fx;
    const bottom = bytes[r1 + c0]! + (bytes[r1 + c1]! - bytes[r1 + c0]!) * fx;
    return top + (bottom - top) * rows.f[y]!;
  };
  const clamp = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = (bytes[yPlane.offset + y * yPlane.stride + x]! - yOff) * yScale;
      const pb = (chroma(uPlane, 0, x, y) - CHROMA_ZERO) * cScale;
      const pr = (chroma(vPlane, vShift, x, y) - CHROMA_ZERO) * cScale;
      const r = l + 2 * (1 - kr) * pr;
      const b = l + 2 * (1 - kb) * pb;
      const g = (l - kr * r - kb * b) / kg;
      const o = 3 * (y * width + x);
      out[o] = clamp(r);
      out[o + 1] = clamp(g);
      out[o + 2] = clamp(b);
    }
  }
  return out;
}
