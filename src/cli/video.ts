/**
 * `simpleir restore` on video: `.y4m` read and written directly, `.mp4` through ffmpeg, every frame
 * through the lossless `restore` operator; timing, pixel aspect, field order, colour and audio kept.
 */
import { extname } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { SimpleIRError } from '../core/errors.js';
import { ensureFfmpeg, probeVideoFile } from '../adapters/node/ffmpeg-misc.js';
import { fromFfmpeg } from '../adapters/node/ffmpeg-source.js';
import { toFfmpeg } from '../adapters/node/ffmpeg-sink.js';
import { fromY4m, probeY4m } from '../adapters/node/y4m-source.js';
import type { VideoInfo } from '../adapters/node/video-info.js';
import { toY4m } from '../adapters/node/y4m-sink.js';
import { yuvOptionsOf } from '../adapters/node/y4m.js';
import type { LowLightMode } from '../core/model/exposure.js';
import { assertTemporalFits } from '../core/temporal/memory.js';
import { restore } from '../streams/restore.js';
import type { TemporalOption } from '../streams/temporal.js';
import { loadCliModel, Progress, useBackend, type EngineName } from './common.js';

/** Video file extensions the CLI reads and writes (`.mp4` needs ffmpeg on the PATH). */
export const VIDEO_EXTENSIONS: readonly string[] = ['.y4m', '.mp4'];

/** True when `path` has a video extension. */
export function isVideoPath(path: string): boolean {
  return VIDEO_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Options of {@link restoreVideo}: the `restore` command's. */
export interface RestoreVideoOptions {
  /** Output file (.y4m or .mp4). */
  readonly output: string;
  /** tiny, base or a weight file. */
  readonly model: string;
  /** tfjs backend name. */
  readonly backend: string;
  /** What runs the network (default tfjs). */
  readonly engine?: EngineName;
  /** True when `--tile` was given (refused by the ort engine). */
  readonly tiled?: boolean;
  /** Full-resolution tile size, or `'auto'`. */
  readonly tileSize: number | 'auto';
  /** Temporal restoration (`--temporal`, `--temporal-frames N`, `--temporal-guide`, `--temporal-votes`): the `restore` operator's `temporal` option; absent: per frame. */
  readonly temporal?: TemporalOption;
  /** `'off'` keeps each frame's exposure (default `'auto'`). */
  readonly lowLight?: LowLightMode;
}

/**
 * Restores every frame of a video file into another, with a progress bar, and prints frames, fps and time.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` for other extensions or a missing ffmpeg; the sources' and sinks' errors.
 */
export async function restoreVideo(input: string, opts: RestoreVideoOptions): Promise<void> {
  const inExt = extname(input).toLowerCase();
  const outExt = extname(opts.output).toLowerCase();
  const supported = VIDEO_EXTENSIONS.join(', ');
  if (!VIDEO_EXTENSIONS.includes(outExt)) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `output ${opts.output}: a video is written as ${supported}; got "${outExt || '(none)'}".`);
  }
  if (!VIDEO_EXTENSIONS.includes(inExt)) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `input ${input}: a video output needs a video input (${supported}); got "${inExt || '(none)'}".`);
  }
  // Read the header first: a missing, corrupt or unsupported file fails before the model loads.
  const info: VideoInfo = inExt === '.y4m' ? await probeY4m(input) : await probeVideoFile(input);
  if (outExt === '.mp4') await ensureFfmpeg();
  const backend = await useBackend(opts.backend);
  // Temporal restoration too large for the backend fails now, not after the first frame's network.
  if (opts.temporal) assertTemporalFits(info.height, info.width, opts.temporal === true ? {} : opts.temporal, backend);
  const model = await loadCliModel(opts.model, opts.engine ?? 'tfjs', { tiled: opts.tiled ?? false, backend });
  const source = inExt === '.y4m' ? fromY4m(input) : fromFfmpeg(input);
  // The output keeps the input's timing (each frame's own timestamp into .mp4), pixel aspect, field
  // order, colour tags and conversion, and (mp4 to mp4) its audio.
  const yuv = yuvOptionsOf(info.colour);
  // An unknown pixel aspect or field order is written as square and progressive, as before.
  const common = {
    ...(info.aspect.num > 0 && info.aspect.den > 0 ? { aspect: info.aspect } : {}),
    ...(info.interlace !== 'unknown' ? { interlace: info.interlace } : {}),
    ...yuv,
  };
  const sink = outExt === '.y4m'
    ? toY4m(opts.output, { fps: info.fps, ...common })
    : toFfmpeg(opts.output, {
        ...common,
        colour: info.colour,
        ...(info.hasAudio ? { audioFrom: input } : {}),
        ...(info.timeBase?.num === 1 ? { timescale: info.timeBase.den } : {}),
      });
  const progress = new Progress(info.frames ?? 0, 'restore');
  progress.start(0, `${info.width}x${info.height}`);
  const t0 = performance.now();
  let shown = -1;
  let summary;
  try {
    summary = await lastValueFrom(
      source.pipe(
        restore(model.predictor, {
          mode: 'lossless',
          tileSize: opts.tileSize,
          ...(opts.temporal ? { temporal: opts.temporal } : {}),
          lowLight: opts.lowLight,
          onMetrics: (m) => {
            if (m.framesOut === shown) return;
            shown = m.framesOut;
            progress.update(m.framesOut, `${m.fps.toFixed(1)} fps, ${m.latencyP50.toFixed(0)} ms`);
          },
        }),
        sink,
      ),
    );
  } finally {
    progress.stop();
    await model.dispose();
  }
  if (summary.frames === 0) throw new SimpleIRError('CORRUPT_INPUT', `${input} has no frames.`, { path: input });
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(
    `restored ${summary.frames} frames (${summary.width}x${summary.height}) of ${input} with ${opts.model}${opts.temporal ? ' (temporal)' : ''} on ${model.runsOn} ` +
      `in ${seconds.toFixed(2)} s (${(summary.frames / seconds).toFixed(1)} fps) -> ${opts.output}\n`,
  );
}
