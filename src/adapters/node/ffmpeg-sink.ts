/**
 * Node sink: writes {@link NodeFrame}s to a video file (`.mp4`, ...) by piping YUV4MPEG2 into an
 * ffmpeg child process that encodes it (H.264 by default).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OperatorFunction } from 'rxjs';
import { SimpleIRError } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { ensureFfmpeg, lastLine, runFfmpeg } from './ffmpeg-misc.js';
import { checkPath } from './image-file.js';
import { createY4mWriter } from './y4m.js';
import { y4mSink, type VideoSinkOptions, type VideoSinkSummary } from './y4m-sink.js';

/** Options of {@link toFfmpeg}. */
export interface ToFfmpegOptions extends VideoSinkOptions {
  /** ffmpeg output arguments placed before the file name (default `['-c:v', 'libx264', '-pix_fmt', 'yuv420p']`). */
  readonly outputArgs?: readonly string[];
}

const DEFAULT_OUTPUT_ARGS = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];

/**
 * Encodes every frame into `path` with ffmpeg (`ffmpeg -f yuv4mpegpipe -i - -c:v libx264 -pix_fmt
 * yuv420p path`, overwriting it) and emits one {@link VideoSinkSummary} (bytes: the file's size) when
 * the input completes. Frames must all have the first one's size, and even sides for H.264 4:2:0.
 * Writes wait for ffmpeg to take the data; with a pull source in front, frames are asked for one at
 * a time. Unsubscribing kills ffmpeg (the file is left incomplete).
 * Errors: `UNSUPPORTED_FORMAT` (ffmpeg is not installed), `INVALID_ARGUMENT` (odd size, size change),
 * `IO_ERROR` (ffmpeg failed; its message is included).
 */
export function toFfmpeg(path: string, options: ToFfmpegOptions = {}): OperatorFunction<NodeFrame, VideoSinkSummary> {
  checkPath('toFfmpeg(path)', path);
  const outputArgs = options.outputArgs ?? DEFAULT_OUTPUT_ARGS;
  return y4mSink(async (format) => {
    const h264 = outputArgs.includes('libx264') && outputArgs.includes('yuv420p');
    if (h264 && (format.width % 2 !== 0 || format.height % 2 !== 0)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `cannot encode ${path}: H.264 4:2:0 needs even width and height, the frames are ${format.width}x${format.height}`, { path });
    }
    await ensureFfmpeg();
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (e) {
      throw new SimpleIRError('IO_ERROR', `cannot create the folder of ${path}: ${(e as Error).message}`, { path }, { cause: e });
    }
    const proc = runFfmpeg('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'yuv4mpegpipe', '-i', '-', ...outputArgs, path]);
    const writer = createY4mWriter(proc.child.stdin!, format);
    const failed = async (e: unknown): Promise<never> => {
      const { code, stderr } = await proc.exited;
      if (code !== 0) throw new SimpleIRError('IO_ERROR', `ffmpeg cannot write ${path}: ${lastLine(stderr)}`, { path, exitCode: code }, { cause: e });
      throw e;
    };
    return {
      writer: {
        write: (planes) => writer.write(planes).catch(failed),
        close: () => writer.close().catch(failed),
      },
      async finish() {
        await writer.close().catch(failed);
        const { code, stderr } = await proc.exited;
        if (code !== 0) throw new SimpleIRError('IO_ERROR', `ffmpeg cannot write ${path}: ${lastLine(stderr)}`, { path, exitCode: code });
        return (await stat(path)).size;
      },
      abort() {
        proc.kill();
      },
    };
  }, options);
}
