/**
 * Node sink: writes {@link NodeFrame}s to a video file (`.mp4`, ...) by piping raw 4:2:0 frames with
 * their timestamps (a Matroska stream) into an ffmpeg child process that encodes them (H.264 by default).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { OperatorFunction } from 'rxjs';
import { SimpleIRError } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { ensureFfmpeg, ffmpegReason, runFfmpeg } from './ffmpeg-misc.js';
import { checkPath, folderError } from './files.js';
import { createMkvWriter } from './mkv.js';
import { colourTagsOf, yuvOptionsOf, type ColourTags } from './y4m.js';
import { y4mSink, type VideoSinkOptions, type VideoSinkSummary, type Y4mTargetFormat } from './y4m-sink.js';

/** Options of {@link toFfmpeg}. */
export interface ToFfmpegOptions extends VideoSinkOptions {
  /** ffmpeg output arguments placed before the file name (default `['-c:v', 'libx264', '-pix_fmt', 'yuv420p']`). */
  readonly outputArgs?: readonly string[];
  /**
   * Colour tags to write (`ffprobe`'s names: `color_space`, `color_primaries`, `color_transfer`,
   * `color_range`), e.g. those of the input from `probeVideoFile`. The RGB -> YCbCr conversion uses
   * their matrix and range unless `matrix`/`range` are given. Default: the tags of `matrix`/`range`
   * when given, else none.
   */
  readonly colour?: ColourTags;
  /** A file whose audio streams are copied into the output unchanged (`-map 1:a? -c:a copy`), on the same timeline as the frames' timestamps. */
  readonly audioFrom?: string;
  /** Time base denominator of the MP4/MOV video track (e.g. the input's, so that its timestamps are kept tick for tick); default 1000000 (microseconds). */
  readonly timescale?: number;
}

/** ffprobe's names that ffmpeg's `-color_trc` / `-colorspace` options spell differently. */
const TRANSFER_OPTION: Record<string, string> = { bt470m: 'gamma22', bt470bg: 'gamma28' };
const SPACE_OPTION: Record<string, string> = { gbr: 'rgb', ycgco: 'ycocg' };

const DEFAULT_OUTPUT_ARGS = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
const MOV_EXTENSIONS = ['.mp4', '.mov', '.m4v'];

/**
 * Encodes every frame into `path` with ffmpeg (overwriting it) and emits one {@link VideoSinkSummary}
 * (bytes: the file's size) when the input completes. Frames go to ffmpeg with their own timestamps and
 * durations (a variable frame rate is kept; timestamps must increase), or, when `fps` is set, at that
 * constant rate by their index. Colour tags, pixel aspect and field order are written from the options;
 * audio is copied from `audioFrom`. Frames must all have the first one's size, and even sides for
 * H.264 4:2:0. Writes wait for ffmpeg to take the data; with a pull source in front, frames are asked
 * for one at a time. Unsubscribing kills ffmpeg (the file is left incomplete).
 * Errors: `UNSUPPORTED_FORMAT` (ffmpeg is not installed), `INVALID_ARGUMENT` (odd size, size change,
 * timestamps that do not increase), `IO_ERROR` (the folder cannot be made, or ffmpeg failed; its message is included).
 */
export function toFfmpeg(path: string, options: ToFfmpegOptions = {}): OperatorFunction<NodeFrame, VideoSinkSummary> {
  checkPath('toFfmpeg(path)', path);
  const outputArgs = options.outputArgs ?? DEFAULT_OUTPUT_ARGS;
  const fromTags = yuvOptionsOf(options.colour ?? {});
  const sinkOptions: VideoSinkOptions = { ...options, matrix: options.matrix ?? fromTags.matrix, range: options.range ?? fromTags.range };
  return y4mSink(async (format) => {
    const h264 = outputArgs.includes('libx264') && outputArgs.includes('yuv420p');
    if (h264 && (format.width % 2 !== 0 || format.height % 2 !== 0)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `cannot encode ${path}: H.264 4:2:0 needs even width and height, the frames are ${format.width}x${format.height}`, { path });
    }
    await ensureFfmpeg();
    await makeFolderOf(path);
    const colour = options.colour ?? colourTagsOf({ matrix: options.matrix, range: options.range });
    const proc = runFfmpeg('ffmpeg', ffmpegArgs(path, outputArgs, colour, format, options));
    const step = (1e6 * format.fps.den) / format.fps.num;
    const writer = createMkvWriter(proc.child.stdin!, { width: format.width, height: format.height, colour: { ...colour, range: format.range === 'full' ? 'pc' : 'tv' }, interlace: format.interlace, aspect: format.aspect, frameDuration: step });
    let index = 0;
    const failed = async (e: unknown): Promise<never> => {
      if (e instanceof SimpleIRError && e.code === 'INVALID_ARGUMENT') throw e;
      const { code, stderr } = await proc.exited;
      if (code !== 0) throw new SimpleIRError('IO_ERROR', `ffmpeg cannot write ${path}: ${ffmpegReason(stderr)}`, { path, exitCode: code }, { cause: e });
      throw e;
    };
    return {
      writer: {
        write: (planes, time) => {
          const timing = format.fixedRate ? { timestamp: Math.round(index * step), duration: Math.round(step) } : time;
          index++;
          return writer.write(planes, timing).catch(failed);
        },
      },
      async finish() {
        await writer.close().catch(failed);
        const { code, stderr } = await proc.exited;
        if (code !== 0) throw new SimpleIRError('IO_ERROR', `ffmpeg cannot write ${path}: ${ffmpegReason(stderr)}`, { path, exitCode: code });
        return (await stat(path)).size;
      },
      abort() {
        proc.kill();
      },
    };
  }, sinkOptions);
}

/** ffmpeg's arguments: the Matroska pipe (and the audio source) in, timestamps passed through, tags out. */
function ffmpegArgs(path: string, outputArgs: readonly string[], colour: ColourTags, format: Y4mTargetFormat, options: ToFfmpegOptions): string[] {
  const audio = options.audioFrom ? ['-i', options.audioFrom] : [];
  const maps = ['-map', '0:v:0', ...(options.audioFrom ? ['-map', '1:a?', '-c:a', 'copy'] : [])];
  const tags = [
    ...(colour.space ? ['-colorspace', SPACE_OPTION[colour.space] ?? colour.space] : []),
    ...(colour.primaries ? ['-color_primaries', colour.primaries] : []),
    ...(colour.transfer ? ['-color_trc', TRANSFER_OPTION[colour.transfer] ?? colour.transfer] : []),
    '-color_range', format.range === 'full' ? 'pc' : 'tv',
  ];
  const mov = MOV_EXTENSIONS.includes(extname(path).toLowerCase());
  const timescale = mov ? ['-video_track_timescale', String(options.timescale ?? 1_000_000)] : [];
  return [
    '-v', 'error', '-nostdin', '-y', '-f', 'matroska', '-i', '-', ...audio, ...maps,
    '-copyts', '-fps_mode', 'passthrough', '-enc_time_base', '-1', ...timescale, ...tags, ...outputArgs, path,
  ];
}

async function makeFolderOf(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw folderError(path, e);
  }
}
