/**
 * Node sink: writes a stream of {@link NodeFrame}s to a `.y4m` file or stream (RGB to YCbCr 4:2:0),
 * one frame at a time, pulling from a pull-based source so that nothing piles up in memory.
 */
import { stat } from 'node:fs/promises';
import type { OperatorFunction } from 'rxjs';
import type { NodeFrame } from '../../streams/frames.js';
import { frameSink } from './frame-sink.js';
import { checkDestination, createY4mWriter, defaultYuvMatrix, rgbToYuv420, type Rational, type Y4mInterlace, type Yuv420Planes, type YuvOptions } from './y4m.js';

/** Options of {@link toY4m} (and of the other sinks built on {@link y4mSink}). */
export interface VideoSinkOptions {
  /** Frame rate to declare; default from the first frame's duration (snapped to the usual rates), else 25. */
  readonly fps?: Rational;
  /** YCbCr matrix; default by height (BT.709 from 720 lines up, else BT.601). */
  readonly matrix?: YuvOptions['matrix'];
  /** Sample range (default `limited`); declared in the header. */
  readonly range?: YuvOptions['range'];
  /** Pixel aspect ratio to declare (default `1:1`; `0:0` = unknown). */
  readonly aspect?: Rational;
  /** Field order to declare (default `progressive`). */
  readonly interlace?: Y4mInterlace;
}

/** What a video sink emits, once, when its input completes. */
export interface VideoSinkSummary {
  /** Frames written. */
  readonly frames: number;
  /** Size of the written file in bytes (for a stream destination: the frame bytes written, header excluded). */
  readonly bytes: number;
  /** Frame width (0 when no frame came). */
  readonly width: number;
  /** Frame height (0 when no frame came). */
  readonly height: number;
  /** Declared frame rate. */
  readonly fps: Rational;
}

/** Writes one frame's 4:2:0 planes with its time (microseconds; a constant-rate target ignores it). */
export interface PlanesWriter {
  /** Appends one frame; resolves once the destination can take more. */
  write(planes: Yuv420Planes, time: { timestamp: number; duration?: number }): Promise<void>;
}

/** Where a {@link y4mSink} writes, opened at the first frame. */
export interface Y4mTarget {
  /** The writer of the frames. */
  readonly writer: PlanesWriter;
  /** Closes the writer, waits until everything is stored, and returns the bytes written. */
  finish(): Promise<number>;
  /** Stops at once after an error or an unsubscribe (best effort, never throws). */
  abort(): void;
}

/** The stream format a {@link y4mSink} opens its target with. */
export interface Y4mTargetFormat {
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** Declared frame rate (the sink's `fps`, else from the first frame's duration). */
  fps: Rational;
  /** True when the caller set `fps`: frames are then timed by their index at that rate. */
  fixedRate: boolean;
  /** Sample range of the planes. */
  range: 'limited' | 'full';
  /** YCbCr matrix of the planes. */
  matrix: NonNullable<YuvOptions['matrix']>;
  /** Pixel aspect ratio. */
  aspect: Rational;
  /** Field order. */
  interlace: Y4mInterlace;
}

/** Opens a {@link Y4mTarget} for frames of the given format. */
export type Y4mTargetFactory = (format: Y4mTargetFormat) => Y4mTarget | Promise<Y4mTarget>;

const COMMON_RATES: readonly Rational[] = [
  { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 },
  { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 }, { num: 120, den: 1 },
];

/** The frame rate whose frame duration is `duration` microseconds: a usual rate when one matches, else 1e6/duration. */
export function rateFromDuration(duration: number | undefined): Rational | undefined {
  if (duration === undefined || !(duration > 0) || !Number.isFinite(duration)) return undefined;
  const common = COMMON_RATES.find((r) => Math.abs((1e6 * r.den) / r.num - duration) <= 1);
  if (common) return common;
  const d = Math.round(duration);
  const g = gcd(1_000_000, d);
  return { num: 1_000_000 / g, den: d / g };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Writes every frame to a Y4M file (path; parent folders are created) or writable stream, and emits
 * one {@link VideoSinkSummary} when the input completes: `frames$.pipe(toY4m('out.y4m'))`. Frames
 * must all have the first one's size; alpha is ignored; timestamps are not stored (Y4M has a constant
 * rate); the pixel aspect and field order are declared from the options. The sink closes each frame once written. When its input is a pull source (such as
 * `restore` in lossless mode), it asks for one frame at a time, as the destination drains; another
 * input is buffered in order.
 * Errors: `INVALID_IMAGE`/`INVALID_ARGUMENT` for a bad frame or a size change, `IO_ERROR` when writing fails.
 */
export function toY4m(dest: string | NodeJS.WritableStream, options: VideoSinkOptions = {}): OperatorFunction<NodeFrame, VideoSinkSummary> {
  checkDestination('toY4m(dest)', dest);
  return y4mSink((format) => {
    const writer = createY4mWriter(dest, format);
    const frameBytes = 'FRAME\n'.length + format.width * format.height + 2 * Math.ceil(format.width / 2) * Math.ceil(format.height / 2);
    let frames = 0;
    return {
      writer: {
        write: async (planes) => {
          await writer.write(planes);
          frames++;
        },
      },
      async finish() {
        await writer.close();
        return typeof dest === 'string' ? (await stat(dest)).size : frames * frameBytes;
      },
      abort() {
        writer.close().catch(() => {});
      },
    };
  }, options);
}

/**
 * A sink that converts each frame to YCbCr 4:2:0 and writes it to the target that `open` makes at
 * the first frame (whose size and duration fix the stream's format); see {@link frameSink}.
 */
export function y4mSink(open: Y4mTargetFactory, options: VideoSinkOptions = {}): OperatorFunction<NodeFrame, VideoSinkSummary> {
  const range = options.range ?? 'limited';
  return frameSink<VideoSinkSummary>(() => {
    let target: Y4mTarget | undefined;
    let aborted = false;
    let format = { width: 0, height: 0, fps: options.fps ?? { num: 25, den: 1 } };
    let frames = 0;
    return {
      async write(frame) {
        const matrix = options.matrix ?? defaultYuvMatrix(frame.height);
        const planes = rgbToYuv420({ data: frame.data, width: frame.width, height: frame.height, channels: frame.channels ?? 3 }, { matrix, range });
        if (!target) {
          format = { width: frame.width, height: frame.height, fps: options.fps ?? rateFromDuration(frame.duration) ?? format.fps };
          target = await open({
            ...format,
            fixedRate: options.fps !== undefined,
            range,
            matrix,
            aspect: options.aspect ?? { num: 1, den: 1 },
            interlace: options.interlace ?? 'progressive',
          });
          if (aborted) return target.abort();
        }
        const time = { timestamp: frame.timestamp, ...(frame.duration !== undefined ? { duration: frame.duration } : {}) };
        await target.writer.write(planes, time);
        frames++;
      },
      async finish() {
        const bytes = target ? await target.finish() : 0;
        return { frames, bytes, ...format };
      },
      abort() {
        aborted = true;
        target?.abort();
      },
    };
  });
}
