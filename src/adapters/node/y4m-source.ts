/**
 * Node source: a `.y4m` file or stream as a pull-based stream of RGB {@link NodeFrame}s, decoding a
 * frame only when the consumer asks for one.
 */
import { open, stat } from 'node:fs/promises';
import { SimpleIRError } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { pullSource, type PullProducer, type PullSource } from '../../streams/pull.js';
import { checkPath } from './files.js';
import type { VideoInfo } from './video-info.js';
import { readY4m, yuv420ToRgb, type Rational, type Y4mHeader, type Y4mSource, type YuvOptions } from './y4m.js';

/** Options of {@link fromY4m}. */
export interface FromY4mOptions {
  /** YCbCr matrix; default by height (BT.709 from 720 lines up, else BT.601). */
  readonly matrix?: YuvOptions['matrix'];
  /** Sample range; default the header's `XCOLORRANGE`, else `limited`. */
  readonly range?: YuvOptions['range'];
}

/** Duration in microseconds of one frame at `fps`. */
export function frameDuration(fps: Rational): number {
  return Math.round((1e6 * fps.den) / fps.num);
}

/**
 * Reads a Y4M file (path) or stream as RGB frames (`channels: 3`) with timestamps and durations in
 * microseconds. Pull-based: frames are read and converted only as they are requested, so a file of
 * any length streams in the memory of a few frames. Each subscription reads the source from the start
 * (a stream can be read once).
 * Errors: `IO_ERROR`, `UNSUPPORTED_FORMAT`, `CORRUPT_INPUT` (see {@link readY4m}).
 */
export function fromY4m(source: Y4mSource, options: FromY4mOptions = {}): PullSource<NodeFrame> {
  return pullSource<NodeFrame>((producer) => {
    streamY4mFrames(producer, source, options).then(
      () => producer.complete(),
      (e: unknown) => producer.error(e),
    );
  });
}

/**
 * Emits the frames of a Y4M source to `producer` as demand allows; resolves at the end of the source
 * or when the producer closes, rejects on a read error. Closes the source in every case. Frames are
 * timed at the header's constant rate unless `timeOf` gives the i-th frame's timestamp and duration
 * (microseconds).
 */
export async function streamY4mFrames(
  producer: PullProducer<NodeFrame>,
  source: Y4mSource,
  options: FromY4mOptions = {},
  timeOf?: (index: number) => { timestamp: number; duration: number | undefined },
): Promise<void> {
  const reader = await readY4m(source);
  const { header } = reader;
  const yuv = { matrix: options.matrix, range: options.range ?? header.range ?? 'limited' };
  const duration = frameDuration(header.fps);
  const frames = reader.frames()[Symbol.asyncIterator]();
  try {
    for (;;) {
      await producer.waitForDemand();
      if (producer.closed) return;
      const r = await frames.next();
      if (r.done || producer.closed) return;
      const rgb = yuv420ToRgb(r.value, yuv);
      const time = timeOf?.(r.value.index) ?? { timestamp: r.value.timestamp, duration };
      producer.next({ data: rgb.data, width: header.width, height: header.height, channels: 3, timestamp: time.timestamp, ...(time.duration !== undefined ? { duration: time.duration } : {}) });
    }
  } finally {
    await frames.return?.();
    await reader.close();
  }
}

/**
 * The size, rate and frame count of a Y4M file, from its header and its size (frame markers assumed
 * bare, as ffmpeg writes them).
 * @throws SimpleIRError as {@link readY4m}.
 */
export async function probeY4m(path: string): Promise<VideoInfo> {
  checkPath('probeY4m(path)', path);
  const reader = await readY4m(path);
  const header: Y4mHeader = reader.header;
  await reader.close();
  let frames: number | undefined;
  try {
    const size = (await stat(path)).size;
    const frameBytes = header.width * header.height + 2 * Math.ceil(header.width / 2) * Math.ceil(header.height / 2);
    const headerBytes = await headerLength(path);
    frames = Math.floor((size - headerBytes) / (frameBytes + 'FRAME\n'.length));
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  return {
    width: header.width,
    height: header.height,
    fps: header.fps,
    frames,
    aspect: header.aspect,
    interlace: header.interlace,
    colour: header.range ? { range: header.range === 'full' ? 'pc' : 'tv' } : {},
    hasAudio: false,
  };
}

async function headerLength(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
    return nl + 1;
  } finally {
    await handle.close();
  }
}
