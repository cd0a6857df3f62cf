/** Node adapter: reads PNG, JPEG and WebP files into {@link RGBImage}s and writes them back, with sharp. */

import { mkdir, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import sharp from 'sharp';
import { invalidArgument, SimpleIRError } from '../../core/errors.js';
import { validateImage, type RGBImage } from '../../core/image.js';

/** File extensions (lower case, with the dot) that {@link readImage} and {@link writeImage} handle. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/** Decoded formats (sharp's names) that {@link readImage} accepts. */
const READ_FORMATS = new Set(['png', 'jpeg', 'webp']);

const SUPPORTED = 'supported: PNG (.png), JPEG (.jpg, .jpeg), WebP (.webp)';

/** Options of {@link readImage}. */
export interface ReadImageOptions {
  /** 3: RGB, alpha dropped (default); 4: RGBA, opaque alpha added when the file has none. */
  channels?: 3 | 4;
}

/** Options of {@link writeImage}. */
export interface WriteImageOptions {
  /** JPEG and WebP quality, an integer from 1 to 100 (default 90); PNG is lossless and ignores it. */
  quality?: number;
}

/**
 * Reads an image file as 8-bit sRGB: EXIF orientation applied, 16-bit samples scaled to 8 bits,
 * grayscale expanded to RGB. The format is recognised by the content, not the extension.
 * @throws SimpleIRError `IO_ERROR` (missing or unreadable file), `UNSUPPORTED_FORMAT` (not PNG,
 *   JPEG or WebP), `CORRUPT_INPUT` (a supported file that does not decode).
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<RGBImage> {
  checkPath('readImage(path)', path);
  const channels = options.channels ?? 3;
  if (channels !== 3 && channels !== 4) {
    throw new SimpleIRError('INVALID_ARGUMENT', `readImage: channels must be 3 or 4, got ${String(channels)}`);
  }
  await assertReadableFile(path);
  const format = await detectFormat(path);
  try {
    let pipeline = sharp(path).autoOrient().toColourspace('srgb');
    pipeline = channels === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels };
  } catch (e) {
    throw new SimpleIRError('CORRUPT_INPUT', `cannot decode ${format.toUpperCase()} file ${path}: ${messageOf(e)}`, { path }, { cause: e });
  }
}

/**
 * Writes `img` to `path`, choosing PNG, JPEG or WebP by the extension; creates missing parent
 * folders. JPEG has no alpha: an RGBA image loses its alpha channel there.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` (other extensions), `INVALID_IMAGE`,
 *   `INVALID_ARGUMENT` (quality), `IO_ERROR` (the file cannot be written).
 */
export async function writeImage(path: string, img: RGBImage, options: WriteImageOptions = {}): Promise<void> {
  checkPath('writeImage(path, img)', path);
  const ext = extname(path).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `cannot write ${path}: unknown extension '${ext || '(none)'}'; ${SUPPORTED}`, { path });
  }
  validateImage(img);
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new SimpleIRError('INVALID_ARGUMENT', `writeImage: quality must be an integer from 1 to 100, got ${String(quality)}`);
  }
  const raw = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  const encoded =
    ext === '.png' ? raw.png() : ext === '.webp' ? raw.webp({ quality }) : raw.removeAlpha().jpeg({ quality });
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw folderError(path, e);
  }
  try {
    await encoded.toFile(path);
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `cannot write ${path}: ${messageOf(e)}`, { path }, { cause: e });
  }
}

/**
 * The error for a parent folder of `path` that cannot be created (`mkdir` failed with `e`): says when
 * a part of the folder path is a regular file, instead of the system's `EEXIST`/`ENOTDIR`.
 */
export function folderError(path: string, e: unknown): SimpleIRError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'EEXIST' || code === 'ENOTDIR'
    ? `a part of the folder ${dirname(path)} is a file, not a folder`
    : messageOf(e);
  return new SimpleIRError('IO_ERROR', `cannot create the folder of ${path}: ${why}. Choose an output path whose folders are folders (or can be made).`, { path, errno: code }, { cause: e });
}

/** What {@link imageInfo} reads from an image file's header. */
export interface ImageFileInfo {
  /** Format, as sharp names it (`png`, `jpeg`, `webp`). */
  readonly format: string;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels (of one frame). */
  readonly height: number;
  /** True when the file has an alpha channel. */
  readonly hasAlpha: boolean;
  /** Frames (pages) in the file: more than 1 for an animated WebP or PNG. */
  readonly frames: number;
}

/**
 * The format, size, alpha and frame count of an image file, from its header.
 * @throws SimpleIRError as {@link readImage}.
 */
export async function imageInfo(path: string): Promise<ImageFileInfo> {
  checkPath('imageInfo(path)', path);
  await assertReadableFile(path);
  const format = await detectFormat(path);
  const meta = await sharp(path).metadata();
  return { format, width: meta.width ?? 0, height: meta.pageHeight ?? meta.height ?? 0, hasAlpha: meta.hasAlpha === true, frames: meta.pages ?? 1 };
}

/**
 * Throws `INVALID_ARGUMENT` unless `path` is a non-empty string; `where` names the call (`readImage(path)`).
 * The file adapters call it first, so that a wrong argument is not reported as a missing file.
 */
export function checkPath(where: string, path: unknown, expected = 'a file path'): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(where, expected, path);
}

/**
 * Checks that `path` is a readable file.
 * @throws SimpleIRError `IO_ERROR` naming the file ("file not found", "not a file", "cannot read").
 */
export async function assertReadableFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new SimpleIRError('IO_ERROR', `not a file: ${path}`, { path });
  } catch (e) {
    if (e instanceof SimpleIRError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${messageOf(e)}`;
    throw new SimpleIRError('IO_ERROR', message, { path }, { cause: e });
  }
}

/** The decoded format of the file, checked against those supported. */
async function detectFormat(path: string): Promise<string> {
  let format: string | undefined;
  try {
    format = (await sharp(path).metadata()).format;
  } catch (e) {
    const known = IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
    if (!known && /unsupported image format/i.test(messageOf(e))) {
      throw new SimpleIRError('UNSUPPORTED_FORMAT', `cannot read ${path}: not an image format this SDK reads; ${SUPPORTED}`, { path }, { cause: e });
    }
    throw new SimpleIRError('CORRUPT_INPUT', `cannot decode ${path}: ${messageOf(e)}`, { path }, { cause: e });
  }
  if (format === undefined || !READ_FORMATS.has(format)) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${format ?? 'unknown'} images are not supported; ${SUPPORTED}`, { path, format });
  }
  return format;
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
