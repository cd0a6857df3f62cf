/**
 * Node source: any video file ffmpeg can decode (`.mp4`, ...) as a pull-based stream of RGB
 * {@link NodeFrame}s, by reading ffmpeg's YUV4MPEG2 output on a pipe.
 */
import { SimpleIRError } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { pullSource, type PullSource } from '../../streams/pull.js';
import { ensureFfmpeg, lastLine, runFfmpeg, type FfmpegProcess } from './ffmpeg-misc.js';
import { assertReadableFile, checkPath } from './image-file.js';
import { streamY4mFrames, type FromY4mOptions } from './y4m-source.js';

/**
 * Decodes the first video stream of `path` with ffmpeg
 * (`ffmpeg -i path -f yuv4mpegpipe -pix_fmt yuv420p -`) into RGB frames with timestamps and
 * durations in microseconds (constant rate). Pull-based: ffmpeg blocks on its pipe until frames are
 * asked for. Unsubscribing kills ffmpeg.
 * Errors: `IO_ERROR` (missing file), `UNSUPPORTED_FORMAT` (ffmpeg is not installed),
 * `CORRUPT_INPUT` (ffmpeg cannot decode the file; its message is included).
 */
export function fromFfmpeg(path: string, options: FromY4mOptions = {}): PullSource<NodeFrame> {
  checkPath('fromFfmpeg(path)', path);
  return pullSource<NodeFrame>((producer) => {
    let proc: FfmpegProcess | undefined;
    const run = async (): Promise<void> => {
      await assertReadableFile(path);
      await ensureFfmpeg();
      if (producer.closed) return;
      proc = runFfmpeg('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', '-']);
      proc.child.stdin?.end();
      let failure: unknown;
      try {
        await streamY4mFrames(producer, proc.child.stdout!, options);
      } catch (e) {
        failure = e;
      }
      if (producer.closed) return;
      // ffmpeg's own message says more than a truncated pipe does.
      const { code, stderr } = await proc.exited;
      if (code !== 0) throw new SimpleIRError('CORRUPT_INPUT', `ffmpeg cannot decode ${path}: ${lastLine(stderr)}`, { path, exitCode: code });
      if (failure !== undefined) throw failure;
    };
    run().then(
      () => producer.complete(),
      (e: unknown) => producer.error(e),
    );
    return () => proc?.kill();
  });
}
