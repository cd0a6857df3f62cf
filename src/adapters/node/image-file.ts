/** Node adapter: reads PNG, JPEG and WebP files into {@link RGBImage}s and writes them back, with sharp; finds them in folders. */

import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import sharp from 'sharp';
import { describeValue, invalidArgument, SimpleIRError } from '../../core/errors.js';
import { validateImage, type RGBImage } from '../../core/image.js';
import { assertReadableFile, checkPath, folderError, messageOf } from './files.js';

/** File extensions (lower case, with the dot) that {@link readImage} and {@link writeImage} handle. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/**
 * Lists the PNG, JPEG and WebP files under `dir`, recursively, sorted by path; hidden files and
 * folders (names starting with `.`) are skipped. Paths are `dir` joined with the relative path.
 * @throws SimpleIRError `IO_ERROR` when `dir` is missing or not a folder.
 */
export async function listImages(dir: string): Promise<string[]> {
  checkPath('listImages(dir)', dir, 'a folder path');
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SimpleIRError('IO_ERROR', code === 'ENOENT' ? `folder not found: ${dir}` : `cannot read ${dir}: ${(e as Error).message}`, { path: dir }, { cause: e });
  }
  if (!isDir) throw new SimpleIRError('IO_ERROR', `not a folder: ${dir}`, { path: dir });
  const found: string[] = [];
  await walk(dir, found);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, out);
    else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) {
      // A link counts when it leads to a file; linked folders are not followed (no cycles).
      if (e.isFile() || (e.isSymbolicLink() && (await stat(path).then((s) => s.isFile(), () => false)))) out.push(path);
    }
  }
}

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

/** An animated image (WebP, PNG): its frames, all of one size, and their timing. */
export interface ImageAnimation {
  /** The frames, each the whole canvas (earlier frames composited in). */
  readonly frames: readonly RGBImage[];
  /** How long each frame shows, in milliseconds. */
  readonly delay: readonly number[];
  /** Times the animation plays (0: forever). */
  readonly loop: number;
}

/**
 * Reads every frame of an animated image (a still image gives one frame), as {@link readImage} reads one.
 * @throws SimpleIRError as {@link readImage}.
 */
export async function readAnimation(path: string, options: ReadImageOptions = {}): Promise<ImageAnimation> {
  checkPath('readAnimation(path)', path);
  const channels = options.channels ?? 3;
  if (channels !== 3 && channels !== 4) {
    throw new SimpleIRError('INVALID_ARGUMENT', `readAnimation: channels must be 3 or 4, got ${String(channels)}`);
  }
  await assertReadableFile(path);
  const format = await detectFormat(path);
  try {
    const meta = await sharp(path, { animated: true }).metadata();
    let pipeline = sharp(path, { animated: true }).toColourspace('srgb');
    pipeline = channels === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const pages = meta.pages ?? 1;
    const height = meta.pageHeight ?? info.height;
    if (info.channels !== channels || height * pages !== info.height) throw new Error(`decoded ${info.width}x${info.height}x${info.channels}, expected ${pages} frames of ${height} rows and ${channels} channels`);
    const size = info.width * height * channels;
    const frames = Array.from({ length: pages }, (_, i) => ({ data: Uint8Array.from(data.subarray(i * size, (i + 1) * size)), width: info.width, height, channels }));
    const delay = Array.from({ length: pages }, (_, i) => meta.delay?.[i] ?? 100);
    return { frames, delay, loop: meta.loop ?? 0 };
  } catch (e) {
    throw new SimpleIRError('CORRUPT_INPUT', `cannot decode ${format.toUpperCase()} file ${path}: ${messageOf(e)}`, { path }, { cause: e });
  }
}

/**
 * Writes an animation as an animated WebP (the one animated format of {@link IMAGE_EXTENSIONS} that
 * can be written), with its delays and loop count; creates missing parent folders.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` (not `.webp`), `INVALID_IMAGE` (a bad frame, or frames of
 *   different sizes), `INVALID_ARGUMENT` (quality, delays), `IO_ERROR`.
 */
export async function writeAnimation(path: string, animation: ImageAnimation, options: WriteImageOptions = {}): Promise<void> {
  checkPath('writeAnimation(path, animation)', path);
  if (extname(path).toLowerCase() !== '.webp') {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `cannot write an animation to ${path}: animations are written as .webp; give an output ending in .webp`, { path });
  }
  const { frames, delay, loop } = animation ?? {};
  if (!Array.isArray(frames) || frames.length === 0) throw invalidArgument('writeAnimation(path, animation)', '{ frames: RGBImage[] (at least one), delay, loop }', animation);
  const first = validateImage(frames[0]!);
  for (const f of frames) {
    validateImage(f);
    if (f.width !== first.width || f.height !== first.height || f.channels !== first.channels) {
      throw new SimpleIRError('INVALID_IMAGE', `writeAnimation: every frame must be ${first.width}x${first.height}x${first.channels}, got ${f.width}x${f.height}x${f.channels}`);
    }
  }
  if (!Array.isArray(delay) || delay.length !== frames.length || delay.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `writeAnimation: delay must hold one whole number of milliseconds >= 0 per frame (${frames.length}), got ${describeValue(delay)}`);
  }
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new SimpleIRError('INVALID_ARGUMENT', `writeAnimation: quality must be an integer from 1 to 100, got ${String(quality)}`);
  }
  const data = Buffer.concat(frames.map((f) => new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
  const raw = { width: first.width, height: first.height * frames.length, channels: first.channels, pageHeight: first.height };
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw folderError(path, e);
  }
  try {
    await sharp(data, { raw }).webp({ quality, delay: [...delay], loop: Number.isInteger(loop) && loop >= 0 ? loop : 0 }).toFile(path);
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `cannot write ${path}: ${messageOf(e)}`, { path }, { cause: e });
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
