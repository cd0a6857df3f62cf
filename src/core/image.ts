/** The SDK's plain image: 8-bit interleaved RGB or RGBA pixels, row-major, with checks and channel conversions. */

import { SimpleIRError } from './errors.js';

/** An 8-bit image: `data[(y * width + x) * channels + c]`, rows top to bottom, no padding. */
export interface RGBImage {
  /** Interleaved samples, `width * height * channels` of them. */
  data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels, a positive integer. */
  width: number;
  /** Height in pixels, a positive integer. */
  height: number;
  /** 3 for RGB, 4 for RGBA (alpha not premultiplied). */
  channels: 3 | 4;
}

/**
 * Checks that `img` is a well-formed {@link RGBImage} and returns it.
 * @throws SimpleIRError `INVALID_IMAGE` saying which property is wrong.
 */
export function validateImage(img: RGBImage): RGBImage {
  if (img === null || typeof img !== 'object') throw invalid(`expected an image object, got ${img === null ? 'null' : typeof img}`);
  const { data, width, height, channels } = img;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw invalid(`${name} must be a positive integer, got ${String(v)}`);
  }
  if (channels !== 3 && channels !== 4) throw invalid(`channels must be 3 or 4, got ${String(channels)}`);
  if (!(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray)) {
    throw invalid(`data must be a Uint8Array or Uint8ClampedArray, got ${describe(data)}`);
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw invalid(`data has ${data.length} bytes but ${width}x${height}x${channels} needs ${expected}`);
  }
  return img;
}

/** Drops the alpha channel of an RGBA image; an RGB image is returned as is. */
export function rgbaToRgb(img: RGBImage): RGBImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = img.data[i * 4]!;
    out[i * 3 + 1] = img.data[i * 4 + 1]!;
    out[i * 3 + 2] = img.data[i * 4 + 2]!;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/** Adds an opaque alpha channel (255) to an RGB image; an RGBA image is returned as is. */
export function rgbToRgba(img: RGBImage): RGBImage {
  if (img.channels === 4) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = img.data[i * 3]!;
    out[i * 4 + 1] = img.data[i * 3 + 1]!;
    out[i * 4 + 2] = img.data[i * 3 + 2]!;
    out[i * 4 + 3] = 255;
  }
  return { data: out, width: img.width, height: img.height, channels: 4 };
}

function invalid(message: string): SimpleIRError {
  return new SimpleIRError('INVALID_IMAGE', `invalid image: ${message}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
