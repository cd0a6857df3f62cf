/**
 * Node adapter: streaming YUV4MPEG2 (`.y4m`) reader and writer for 4:2:0 8-bit video, and the
 * YCbCr <-> RGB conversions (BT.601/BT.709/BT.2020, limited/full range; numbers from core/colour.ts) that turn its frames into images.
 */

import { open } from 'node:fs/promises';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { describeValue, isOptionsObject, SimpleIRError } from '../../core/errors.js';
import { validateImage, type RGBImage } from '../../core/image.js';
import { CHROMA_ZERO, matrixOfTag, yuvCoefficients, type YuvMatrix, type YuvRange } from '../../core/colour.js';
import { folderError } from './files.js';

/** A positive ratio such as a frame rate (`30000/1001`) or a pixel aspect (`0:0` = unknown). */
export interface Rational {
  /** Numerator. */
  num: number;
  /** Denominator. */
  den: number;
}

/** The 4:2:0 8-bit colorspace tags this module reads; a missing `C` tag means `420jpeg`. */
export type Y4mColorspace = '420jpeg' | '420paldv' | '420mpeg2' | '420';

/** Field order of the stream (`I` tag): `p`, `t`, `b`, `m`, or `?`/absent. */
export type Y4mInterlace = 'progressive' | 'top-first' | 'bottom-first' | 'mixed' | 'unknown';

/** The stream header of a Y4M file. */
export interface Y4mHeader {
  /** Luma width in pixels. */
  width: number;
  /** Luma height in pixels. */
  height: number;
  /** Frames per second as a ratio; `25:1` when the file gives none or `0:0` (as ffmpeg does). */
  fps: Rational;
  /** Field order. */
  interlace: Y4mInterlace;
  /** Pixel aspect ratio; `{ num: 0, den: 0 }` when unknown. */
  aspect: Rational;
  /** Chroma siting tag; all are read the same way (chroma planes of ceil(w/2) x ceil(h/2)). */
  colorspace: Y4mColorspace;
  /** Range from the `XCOLORRANGE=` extension that ffmpeg writes, when present. */
  range?: YuvRange;
  /** The raw `X...` extension tokens, without the `X`. */
  extensions: string[];
}

/** Three 4:2:0 planes: Y is `width x height`, U and V are `ceil(width/2) x ceil(height/2)`, rows unpadded. */
export interface Yuv420Planes {
  /** Luma plane. */
  y: Uint8Array;
  /** Cb plane. */
  u: Uint8Array;
  /** Cr plane. */
  v: Uint8Array;
  /** Luma width in pixels. */
  width: number;
  /** Luma height in pixels. */
  height: number;
}

/** One decoded Y4M frame. Its planes are views of one buffer that belongs to this frame alone. */
export interface Y4mFrame extends Yuv420Planes {
  /** 0-based frame number. */
  index: number;
  /** Presentation time in microseconds, `round(index * 1e6 * fps.den / fps.num)`. */
  timestamp: number;
}

/** An open Y4M stream: its header, and its frames read one at a time as they are consumed. */
export interface Y4mReader {
  /** The parsed stream header. */
  readonly header: Y4mHeader;
  /**
   * The frames, read from the source only as they are asked for (memory holds about one frame).
   * Can be iterated once; leaving the loop early closes the source.
   * @throws SimpleIRError `CORRUPT_INPUT` for a truncated frame or a bad frame marker (with the frame index).
   */
  frames(): AsyncIterable<Y4mFrame>;
  /** Closes the source without reading further; safe to call more than once. */
  close(): Promise<void>;
}

/** Options of {@link createY4mWriter}. */
export interface Y4mWriterOptions {
  /** Luma width in pixels. */
  width: number;
  /** Luma height in pixels. */
  height: number;
  /** Frames per second as a ratio, e.g. `{ num: 30000, den: 1001 }`. */
  fps: Rational;
  /** Field order to declare (default `progressive`). */
  interlace?: Y4mInterlace;
  /** Pixel aspect ratio to declare (default `1:1`). */
  aspect?: Rational;
  /** Chroma siting tag to declare (default `420jpeg`). */
  colorspace?: Y4mColorspace;
  /** When given, declared with ffmpeg's `XCOLORRANGE=` extension. */
  range?: YuvRange;
}

/** Writes Y4M frames; `write` waits while the destination is full. */
export interface Y4mWriter {
  /** Appends one frame; resolves once the destination can take more. Planes are copied. */
  write(frame: Yuv420Planes | Pick<Yuv420Planes, 'y' | 'u' | 'v'>): Promise<void>;
  /** Ends the destination stream and waits until everything is written. */
  close(): Promise<void>;
}

/** Colour tags of a stream, as ffmpeg names them (`ffprobe` `color_space`, `color_primaries`, `color_transfer`, `color_range`). */
export interface ColourTags {
  /** Matrix coefficients, e.g. `bt709`, `smpte170m`, `bt470bg`. */
  readonly space?: string;
  /** Colour primaries, e.g. `bt709`, `smpte170m`, `bt470bg`. */
  readonly primaries?: string;
  /** Transfer characteristics, e.g. `bt709`, `smpte170m`, `iec61966-2-1`. */
  readonly transfer?: string;
  /** `tv` (limited) or `pc` (full). */
  readonly range?: 'tv' | 'pc';
}

/** Options of {@link yuv420ToRgb} and {@link rgbToYuv420}. */
export interface YuvOptions {
  /** Default: {@link defaultYuvMatrix} of the height (BT.709 from 720 lines up, else BT.601). */
  matrix?: YuvMatrix;
  /** Default: `limited`, the range of nearly all video. */
  range?: YuvRange;
}

/** Anything {@link readY4m} reads from: a file path, a Node readable stream, chunks, or the whole file in memory. */
export type Y4mSource = string | Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const MAGIC = 'YUV4MPEG2';
const MAX_LINE = 4096;
const MAX_SIDE = 32768;
const MAX_FPS = 1e6;
const COLORSPACES: readonly string[] = ['420jpeg', '420paldv', '420mpeg2', '420'];
const INTERLACE: Record<string, Y4mInterlace> = { p: 'progressive', t: 'top-first', b: 'bottom-first', m: 'mixed', '?': 'unknown' };
const INTERLACE_TAG: Record<Y4mInterlace, string> = { progressive: 'p', 'top-first': 't', 'bottom-first': 'b', mixed: 'm', unknown: '?' };

/**
 * Opens a Y4M stream and parses its header. Frames are then pulled with `frames()`.
 * @throws SimpleIRError `IO_ERROR` (file missing or unreadable), `UNSUPPORTED_FORMAT` (not a
 *   YUV4MPEG2 stream, or a colorspace other than 4:2:0 8-bit), `CORRUPT_INPUT` (bad header).
 */
export async function readY4m(source: Y4mSource): Promise<Y4mReader> {
  const name = typeof source === 'string' ? source : 'stream';
  const bytes = new SequentialReader(await openSource(source), name);
  let header: Y4mHeader;
  try {
    header = parseHeader(await bytes.readHeaderLine(), name);
  } catch (e) {
    await bytes.close();
    throw e;
  }
  const cw = Math.ceil(header.width / 2);
  const ch = Math.ceil(header.height / 2);
  const lumaSize = header.width * header.height;
  const frameSize = lumaSize + 2 * cw * ch;
  let iterated = false;

  async function* frames(): AsyncGenerator<Y4mFrame> {
    if (iterated) throw new SimpleIRError('INVALID_ARGUMENT', `${name}: frames() can be iterated only once`);
    iterated = true;
    try {
      for (let index = 0; ; index++) {
        const marker = await bytes.readLine(index);
        if (marker === null) return;
        if (marker !== 'FRAME' && !marker.startsWith('FRAME ')) {
          throw corrupt(`${name}: frame ${index}: expected a FRAME marker, found '${printable(marker)}'`, { frame: index });
        }
        const data = new Uint8Array(frameSize);
        const got = await bytes.readInto(data);
        if (got < frameSize) {
          throw corrupt(`${name}: frame ${index} is truncated: ${got} of ${frameSize} bytes`, { frame: index, got, expected: frameSize });
        }
        yield {
          y: data.subarray(0, lumaSize),
          u: data.subarray(lumaSize, lumaSize + cw * ch),
          v: data.subarray(lumaSize + cw * ch),
          width: header.width,
          height: header.height,
          index,
          timestamp: Math.round((index * 1e6 * header.fps.den) / header.fps.num),
        };
      }
    } finally {
      await bytes.close();
    }
  }

  return { header, frames, close: () => bytes.close() };
}

/**
 * Creates a Y4M writer on a file path (parent folders are created) or a writable stream, and
 * writes the stream header.
 * @throws SimpleIRError `INVALID_ARGUMENT` for bad sizes or rates; `write`/`close` throw
 *   `INVALID_ARGUMENT` for planes of the wrong size and `IO_ERROR` when the destination fails.
 */
export function createY4mWriter(dest: string | NodeJS.WritableStream, options: Y4mWriterOptions): Y4mWriter {
  checkDestination('createY4mWriter(dest, options)', dest);
  if (!isOptionsObject(options)) throw badArg(`createY4mWriter(dest, options): expected { width, height, fps: { num, den } }, got ${describeValue(options)}`);
  const { width, height, fps } = options;
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v > MAX_SIDE) throw badArg(`y4m writer: ${k} must be an integer from 1 to ${MAX_SIDE}, got ${String(v)}`);
  }
  if (!isPositiveRational(fps)) throw badArg(`y4m writer: fps must be { num, den } with positive integers, got ${JSON.stringify(fps)}`);
  const aspect = options.aspect ?? { num: 1, den: 1 };
  if (!Number.isInteger(aspect.num) || !Number.isInteger(aspect.den) || aspect.num < 0 || aspect.den < 0) {
    throw badArg(`y4m writer: aspect must be { num, den } with integers >= 0, got ${JSON.stringify(aspect)}`);
  }
  const interlace = options.interlace ?? 'progressive';
  if (!(interlace in INTERLACE_TAG)) throw badArg(`y4m writer: interlace must be one of ${Object.keys(INTERLACE_TAG).join(', ')}, got ${String(interlace)}`);
  if (options.range !== undefined && options.range !== 'limited' && options.range !== 'full') {
    throw badArg(`y4m writer: range must be 'limited' or 'full', got ${String(options.range)}`);
  }
  const colorspace = options.colorspace ?? '420jpeg';
  if (!COLORSPACES.includes(colorspace)) throw badArg(`y4m writer: colorspace must be one of ${COLORSPACES.join(', ')}, got ${String(colorspace)}`);
  const tags = [
    `W${width}`,
    `H${height}`,
    `F${fps.num}:${fps.den}`,
    `I${INTERLACE_TAG[interlace]}`,
    `A${aspect.num}:${aspect.den}`,
    `C${colorspace}`,
    ...(options.range ? [`XCOLORRANGE=${options.range.toUpperCase()}`] : []),
  ];

  const name = typeof dest === 'string' ? dest : 'stream';
  const stream = typeof dest === 'string' ? openFileForWriting(dest) : dest;
  let failure: SimpleIRError | undefined;
  stream.on('error', (e: Error) => {
    failure ??= new SimpleIRError('IO_ERROR', `cannot write ${name}: ${e.message}`, { path: name }, { cause: e });
  });
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const sizes = { y: width * height, u: cw * ch, v: cw * ch };
  const marker = Buffer.from('FRAME\n', 'latin1');
  let closed = false;
  stream.write(`${MAGIC} ${tags.join(' ')}\n`);

  /** Waits for `event`; an error or an early close of the destination becomes `failure`. */
  async function waitFor(event: 'drain' | 'finish' | 'close'): Promise<void> {
    const ac = new AbortController();
    const on = (e: string): Promise<string> => once(stream, e, { signal: ac.signal }).then(() => e, () => 'error');
    const first = await Promise.race([on(event), on('error'), ...(event === 'close' ? [] : [on('close')])]);
    ac.abort();
    if (first !== event) failure ??= new SimpleIRError('IO_ERROR', `cannot write ${name}: the destination closed early`, { path: name });
    if (failure) throw failure;
  }

  return {
    async write(frame) {
      if (failure) throw failure;
      if (closed) throw badArg(`y4m writer ${name}: write after close`);
      if ('width' in frame && (frame.width !== width || frame.height !== height)) {
        throw badArg(`y4m writer ${name}: frame is ${frame.width}x${frame.height}, the stream is ${width}x${height}`);
      }
      for (const p of ['y', 'u', 'v'] as const) {
        if (!(frame[p] instanceof Uint8Array) || frame[p].length !== sizes[p]) {
          throw badArg(`y4m writer ${name}: plane ${p} must be a Uint8Array of ${sizes[p]} bytes for ${width}x${height}, got ${frame[p]?.length ?? typeof frame[p]}`);
        }
      }
      const chunk = Buffer.allocUnsafe(marker.length + sizes.y + 2 * sizes.u);
      marker.copy(chunk, 0);
      chunk.set(frame.y, marker.length);
      chunk.set(frame.u, marker.length + sizes.y);
      chunk.set(frame.v, marker.length + sizes.y + sizes.u);
      if (!stream.write(chunk)) await waitFor('drain');
      if (failure) throw failure;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (failure) throw failure;
      // A file is done when its descriptor is closed; a caller's stream when it has flushed.
      const finished = waitFor(typeof dest === 'string' ? 'close' : 'finish');
      stream.end();
      await finished;
    },
  };
}

/** Throws `INVALID_ARGUMENT` unless `dest` is a file path or a writable stream; `where` names the call. */
export function checkDestination(where: string, dest: unknown): void {
  const ok = typeof dest === 'string' ? dest.length > 0 : typeof (dest as NodeJS.WritableStream | null)?.write === 'function' && typeof (dest as NodeJS.WritableStream).on === 'function';
  if (!ok) throw badArg(`${where}: expected a file path or a writable stream, got ${describeValue(dest)}`);
}

/** The matrix used when none is given: BT.709 for 720 lines and more (HD), BT.601 below (SD). */
export function defaultYuvMatrix(height: number): YuvMatrix {
  return height >= 720 ? 'bt709' : 'bt601';
}

/**
 * The conversion a stream's colour tags ask for: BT.709 for `bt709`, BT.601 for the SD matrices
 * (`smpte170m`, `bt470bg`, `fcc`), BT.2020 for `bt2020nc`, full range for `pc`; what the tags leave open is left undefined
 * (the defaults of {@link yuv420ToRgb} apply).
 */
export function yuvOptionsOf(colour: ColourTags): YuvOptions {
  const matrix = matrixOfTag(colour.space);
  const range: YuvRange | undefined = colour.range === 'pc' ? 'full' : colour.range === 'tv' ? 'limited' : undefined;
  return { ...(matrix ? { matrix } : {}), ...(range ? { range } : {}) };
}

/** The colour tags that declare a conversion: `bt709`/`smpte170m`/`bt2020nc` for the matrix, `tv`/`pc` for the range. */
export function colourTagsOf(options: YuvOptions): ColourTags {
  const space = options.matrix === 'bt709' ? 'bt709' : options.matrix === 'bt601' ? 'smpte170m' : options.matrix === 'bt2020' ? 'bt2020nc' : undefined;
  const range = options.range === 'full' ? 'pc' : options.range === 'limited' ? 'tv' : undefined;
  return { ...(space ? { space } : {}), ...(range ? { range } : {}) };
}

/**
 * Converts 4:2:0 planes to an 8-bit RGB image. Each chroma sample is spread over its 2x2 block
 * (nearest neighbour), so that {@link rgbToYuv420}, which averages 2x2 blocks, undoes it exactly
 * on chroma. Defaults: matrix by height ({@link defaultYuvMatrix}), limited range.
 * @throws SimpleIRError `INVALID_ARGUMENT` when the planes do not match the size.
 */
export function yuv420ToRgb(frame: Yuv420Planes, options: YuvOptions = {}): RGBImage {
  const { y, u, v, width, height } = checkPlanes(frame);
  const k = yuvCoefficients(options.matrix ?? defaultYuvMatrix(height), options.range ?? 'limited');
  const { yOffset, yScale } = k;
  const cw = Math.ceil(width / 2);
  // A clamped array rounds and clamps on store, which is the conversion's last step.
  const out = new Uint8ClampedArray(width * height * 3);
  for (let row = 0; row < height; row++) {
    const crow = (row >> 1) * cw;
    for (let cx = 0; cx < cw; cx++) {
      const cb = (u[crow + cx]! - CHROMA_ZERO) * k.cScale;
      const cr = (v[crow + cx]! - CHROMA_ZERO) * k.cScale;
      const dr = k.crToR * cr;
      const dg = -k.cbToG * cb - k.crToG * cr;
      const db = k.cbToB * cb;
      const end = Math.min(2 * cx + 2, width);
      for (let col = 2 * cx; col < end; col++) {
        const yy = (y[row * width + col]! - yOffset) * yScale;
        const o = (row * width + col) * 3;
        out[o] = yy + dr;
        out[o + 1] = yy + dg;
        out[o + 2] = yy + db;
      }
    }
  }
  return { data: new Uint8Array(out.buffer), width, height, channels: 3 };
}

/**
 * Converts an RGB or RGBA image (alpha ignored) to 4:2:0 planes; each chroma sample is the
 * average over its 2x2 block (1 or 2 pixels on the last column or row of odd sizes).
 * Defaults: matrix by height ({@link defaultYuvMatrix}), limited range.
 * @throws SimpleIRError `INVALID_IMAGE` for a malformed image.
 */
export function rgbToYuv420(img: RGBImage, options: YuvOptions = {}): Yuv420Planes {
  const { data, width, height, channels } = validateImage(img);
  const k = yuvCoefficients(options.matrix ?? defaultYuvMatrix(height), options.range ?? 'limited');
  // Y = offset + yr*R + yg*G + yb*B; chroma from the block sums of R, G, B.
  const yr = (k.yRange * k.kr) / 255;
  const yg = (k.yRange * k.kg) / 255;
  const yb = (k.yRange * k.kb) / 255;
  const cbScale = k.cRange / (2 * (1 - k.kb) * 255);
  const crScale = k.cRange / (2 * (1 - k.kr) * 255);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const y = new Uint8ClampedArray(width * height);
  const u = new Uint8ClampedArray(cw * ch);
  const v = new Uint8ClampedArray(cw * ch);
  for (let i = 0, o = 0; o < width * height; i += channels, o++) {
    y[o] = k.yOffset + yr * data[i]! + yg * data[i + 1]! + yb * data[i + 2]!;
  }
  for (let by = 0; by < ch; by++) {
    const rows = Math.min(2, height - 2 * by);
    for (let bx = 0; bx < cw; bx++) {
      const cols = Math.min(2, width - 2 * bx);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < rows; dy++) {
        for (let dx = 0; dx < cols; dx++) {
          const i = ((2 * by + dy) * width + 2 * bx + dx) * channels;
          r += data[i]!;
          g += data[i + 1]!;
          b += data[i + 2]!;
        }
      }
      const n = rows * cols;
      const luma = (k.kr * r + k.kg * g + k.kb * b) / n;
      u[by * cw + bx] = CHROMA_ZERO + cbScale * (b / n - luma);
      v[by * cw + bx] = CHROMA_ZERO + crScale * (r / n - luma);
    }
  }
  return { y: new Uint8Array(y.buffer), u: new Uint8Array(u.buffer), v: new Uint8Array(v.buffer), width, height };
}

// ---------------------------------------------------------------------------------------------
// Header parsing

function parseHeader(line: string, name: string): Y4mHeader {
  if (!line.startsWith(`${MAGIC} `) && line !== MAGIC) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `${name} is not a YUV4MPEG2 stream: it starts with '${printable(line.slice(0, 16))}'`, { path: name });
  }
  const header: Partial<Y4mHeader> & { extensions: string[] } = {
    fps: { num: 25, den: 1 },
    interlace: 'unknown',
    aspect: { num: 0, den: 0 },
    colorspace: '420jpeg',
    extensions: [],
  };
  for (const token of line.slice(MAGIC.length).split(' ').filter(Boolean)) {
    const tag = token[0];
    const value = token.slice(1);
    const bad = (what: string): SimpleIRError => corrupt(`${name}: bad ${what} '${printable(token)}' in the Y4M header`, { token });
    if (tag === 'W' || tag === 'H') {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1 && n <= MAX_SIDE)) throw bad(tag === 'W' ? 'width' : 'height');
      header[tag === 'W' ? 'width' : 'height'] = n;
    } else if (tag === 'F') {
      const r = parseRational(value);
      // Above a million frames per second a frame would last less than the microsecond timestamps resolve.
      if (!r || (r.den > 0 && r.num / r.den > MAX_FPS)) throw bad('frame rate');
      if (r.num > 0 && r.den > 0) header.fps = r;
    } else if (tag === 'A') {
      const r = parseRational(value);
      if (!r) throw bad('pixel aspect');
      header.aspect = r;
    } else if (tag === 'I') {
      const mode = INTERLACE[value];
      if (!mode) throw bad('interlace mode');
      header.interlace = mode;
    } else if (tag === 'C') {
      if (!COLORSPACES.includes(value)) {
        throw new SimpleIRError(
          'UNSUPPORTED_FORMAT',
          `${name}: colorspace C${printable(value)} is not supported; only 4:2:0 8-bit is: ${COLORSPACES.map((c) => `C${c}`).join(', ')} (convert with: ffmpeg -i in -pix_fmt yuv420p out.y4m)`,
          { colorspace: value },
        );
      }
      header.colorspace = value as Y4mColorspace;
    } else if (tag === 'X') {
      header.extensions.push(value);
      const range = /^COLORRANGE=(LIMITED|FULL)$/i.exec(value)?.[1]?.toLowerCase();
      if (range) header.range = range as YuvRange;
    }
    // Other tags are ignored, as the format asks of readers.
  }
  if (header.width === undefined || header.height === undefined) {
    throw corrupt(`${name}: the Y4M header has no ${header.width === undefined ? 'W (width)' : 'H (height)'}`, {});
  }
  return header as Y4mHeader;
}

function parseRational(s: string): Rational | undefined {
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(s);
  return m ? { num: Number(m[1]), den: Number(m[2]) } : undefined;
}

function isPositiveRational(r: Rational | undefined): r is Rational {
  return !!r && Number.isInteger(r.num) && Number.isInteger(r.den) && r.num > 0 && r.den > 0;
}

// ---------------------------------------------------------------------------------------------
// Byte-level reading

/** Pulls chunks from an async iterator on demand and hands out lines and exact byte counts, in order (unlike the MP4 demuxer's random-access `ByteReader`). */
class SequentialReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;
  private closed = false;

  constructor(
    private readonly source: AsyncIterator<Uint8Array | string>,
    private readonly name: string,
  ) {}

  /** The first line; an empty source is reported as such. */
  async readHeaderLine(): Promise<string> {
    const line = await this.readLineRaw();
    if (line === null) throw corrupt(`${this.name} is empty: expected a YUV4MPEG2 header`, {});
    if (line.partial) {
      throw line.text.startsWith(MAGIC) || MAGIC.startsWith(line.text)
        ? corrupt(`${this.name}: the Y4M header line is unterminated or longer than ${MAX_LINE} bytes`, {})
        : new SimpleIRError('UNSUPPORTED_FORMAT', `${this.name} is not a YUV4MPEG2 stream: it starts with '${printable(line.text.slice(0, 16))}'`, {});
    }
    return line.text;
  }

  /** A frame marker line, or null at the clean end of the stream. */
  async readLine(frame: number): Promise<string | null> {
    const line = await this.readLineRaw();
    if (line === null) return null;
    if (line.partial) throw corrupt(`${this.name}: frame ${frame} is truncated in its FRAME marker`, { frame });
    return line.text;
  }

  /** Fills `out` as far as the source allows; returns the number of bytes written. */
  async readInto(out: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < out.length) {
      if (this.pos === this.chunk.length && !(await this.pull())) break;
      const n = Math.min(out.length - filled, this.chunk.length - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + n), filled);
      this.pos += n;
      filled += n;
    }
    return filled;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    await this.source.return?.();
  }

  private async readLineRaw(): Promise<{ text: string; partial: boolean } | null> {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      if (this.pos === this.chunk.length && !(await this.pull())) {
        return length === 0 ? null : { text: latin1(parts), partial: true };
      }
      const nl = this.chunk.indexOf(0x0a, this.pos);
      const end = nl < 0 ? this.chunk.length : nl;
      const take = Math.min(end - this.pos, MAX_LINE - length);
      parts.push(this.chunk.subarray(this.pos, this.pos + take));
      length += take;
      this.pos += take;
      if (nl >= 0 && this.pos === nl) {
        this.pos++;
        return { text: latin1(parts), partial: false };
      }
      if (length >= MAX_LINE) return { text: latin1(parts), partial: true };
    }
  }

  private async pull(): Promise<boolean> {
    while (!this.ended) {
      let r: IteratorResult<Uint8Array | string>;
      try {
        r = await this.source.next();
      } catch (e) {
        this.ended = true;
        throw new SimpleIRError('IO_ERROR', `cannot read ${this.name}: ${e instanceof Error ? e.message : String(e)}`, { path: this.name }, { cause: e });
      }
      if (r.done) {
        this.ended = true;
        return false;
      }
      if (typeof r.value === 'string') {
        throw badArg(`${this.name}: the source yields strings; give a byte stream (no setEncoding)`);
      }
      if (r.value.length > 0) {
        this.chunk = r.value;
        this.pos = 0;
        return true;
      }
    }
    return false;
  }
}

async function openSource(source: Y4mSource): Promise<AsyncIterator<Uint8Array | string>> {
  if (source instanceof Uint8Array) return toAsync([source]);
  if (typeof source !== 'string') {
    const s = source as Partial<AsyncIterable<Uint8Array | string> & Iterable<Uint8Array>>;
    const asyncIterator = s?.[Symbol.asyncIterator];
    if (typeof asyncIterator === 'function') return asyncIterator.call(s);
    if (typeof s?.[Symbol.iterator] === 'function') return toAsync(s as Iterable<Uint8Array>);
    throw badArg('readY4m: source must be a file path, a Uint8Array, a readable stream or an (async) iterable of Uint8Array');
  }
  try {
    const handle = await open(source, 'r');
    return handle.createReadStream({ highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `file not found: ${source}` : `cannot open ${source}: ${(e as Error).message}`;
    throw new SimpleIRError('IO_ERROR', message, { path: source }, { cause: e });
  }
}

async function* toAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

function openFileForWriting(path: string): NodeJS.WritableStream {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw folderError(path, e);
  }
  return createWriteStream(path);
}

function checkPlanes(frame: Yuv420Planes): Yuv420Planes {
  if (typeof frame !== 'object' || frame === null) throw badArg(`yuv420ToRgb: expected planes { y, u, v, width, height }, got ${describeValue(frame)}`);
  const { width, height } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw badArg(`yuv420ToRgb: width and height must be positive integers, got ${String(width)}x${String(height)}`);
  }
  const c = Math.ceil(width / 2) * Math.ceil(height / 2);
  const sizes = { y: width * height, u: c, v: c };
  for (const p of ['y', 'u', 'v'] as const) {
    if (!(frame[p] instanceof Uint8Array) || frame[p].length !== sizes[p]) {
      throw badArg(`yuv420ToRgb: plane ${p} must be a Uint8Array of ${sizes[p]} bytes for ${width}x${height}, got ${frame[p]?.length ?? typeof frame[p]}`);
    }
  }
  return frame;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function latin1(parts: Uint8Array[]): string {
  return Buffer.concat(parts).toString('latin1');
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

function corrupt(message: string, details: Record<string, unknown>): SimpleIRError {
  return new SimpleIRError('CORRUPT_INPUT', message, details);
}

function badArg(message: string): SimpleIRError {
  return new SimpleIRError('INVALID_ARGUMENT', message);
}
