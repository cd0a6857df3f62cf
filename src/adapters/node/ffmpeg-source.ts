/**
 * Node source: any video file ffmpeg can decode (`.mp4`, ...) as a pull-based stream of RGB
 * {@link NodeFrame}s with each frame's own timestamp, by reading ffmpeg's YUV4MPEG2 output on a pipe.
 */
import { SimpleIRError } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { pullSource, type PullSource } from '../../streams/pull.js';
import { decodeFailure, ensureFfmpeg, probeFrameTimes, probeVideoFile, runFfmpeg, type FfmpegProcess, type FrameTime } from './ffmpeg-misc.js';
import { assertReadableFile, checkPath } from './files.js';
import { streamY4mFrames, type FromY4mOptions } from './y4m-source.js';
import { yuvOptionsOf } from './y4m.js';

/**
 * Decodes the first video stream of `path` with ffmpeg (`ffmpeg -i path -fps_mode passthrough -f
 * yuv4mpegpipe -pix_fmt yuv420p -`: every decoded frame once, none added or dropped, rotation applied)
 * into RGB frames. Timestamps and durations (microseconds) are the file's own, read per frame with
 * ffprobe first, so a variable frame rate is kept. The YCbCr matrix defaults to the file's colour
 * tag (else BT.601 below 720 lines, BT.709 above), the range to the one ffmpeg declares for its output. Pull-based: ffmpeg blocks on
 * its pipe until frames are asked for. Unsubscribing kills ffmpeg.
 * Errors: `IO_ERROR` (missing file), `UNSUPPORTED_FORMAT` (ffmpeg is not installed, no video stream),
 * `CORRUPT_INPUT` (ffmpeg cannot decode the file, or its video track has no frame).
 */
export function fromFfmpeg(path: string, options: FromY4mOptions = {}): PullSource<NodeFrame> {
  checkPath('fromFfmpeg(path)', path);
  return pullSource<NodeFrame>((producer) => {
    let proc: FfmpegProcess | undefined;
    const run = async (): Promise<void> => {
      await assertReadableFile(path);
      await ensureFfmpeg();
      const info = await probeVideoFile(path);
      const times = await probeFrameTimes(path);
      if (producer.closed) return;
      if (times.length === 0) {
        throw new SimpleIRError('CORRUPT_INPUT', `${path} has a video track (${info.width}x${info.height}) but no frame decodes from it: the track is empty, or the file is cut or damaged before its first frame. Give a complete video.`, { path });
      }
      // The matrix is the file's; the range is the pipe's (ffmpeg turns full-range yuvj420p into
      // limited yuv420p and says so in the y4m header's XCOLORRANGE).
      const matrix = options.matrix ?? yuvOptionsOf(info.colour).matrix;
      const yuv = { ...(matrix ? { matrix } : {}), ...(options.range ? { range: options.range } : {}) };
      proc = runFfmpeg('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-']);
      proc.child.stdin?.end();
      let failure: unknown;
      let frames = 0;
      const timeOf = probedTime(times);
      try {
        await streamY4mFrames(producer, proc.child.stdout!, yuv, (index) => {
          frames = index + 1;
          return timeOf(index);
        });
      } catch (e) {
        failure = e;
      }
      if (producer.closed) return;
      // ffmpeg's own message says more than a truncated pipe does.
      const { code, stderr } = await proc.exited;
      if (code !== 0) throw decodeFailure(path, stderr, code, frames);
      if (failure !== undefined) throw failure;
    };
    run().then(
      () => producer.complete(),
      (e: unknown) => producer.error(e),
    );
    return () => proc?.kill();
  });
}

/** Duration assumed for a frame whose time the probe does not give (25 fps). */
const FALLBACK_DURATION = 40_000;

/**
 * The time of the i-th decoded frame: the probed one; a frame without a probed time (none in the
 * file, or past the probed frames when the probe and the decoder disagree) follows the one before
 * it by that one's duration, so times always increase.
 */
function probedTime(times: readonly FrameTime[]): (index: number) => FrameTime {
  const filled: FrameTime[] = [];
  const after = (prev: FrameTime | undefined, n = 1): FrameTime =>
    prev ? { timestamp: prev.timestamp + n * (prev.duration ?? FALLBACK_DURATION), duration: prev.duration } : { timestamp: 0, duration: undefined };
  for (const t of times) filled.push(Number.isFinite(t.timestamp) && t.timestamp > (filled.at(-1)?.timestamp ?? -Infinity) ? t : after(filled.at(-1)));
  return (index) => filled[index] ?? after(filled.at(-1), index - filled.length + 1);
}
