/**
 * The ffmpeg child processes behind the Node `.mp4` source and sink: finding ffmpeg, running it with
 * its errors kept, and probing a file with ffprobe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { SimpleIRError } from '../../core/errors.js';
import { assertReadableFile, checkPath } from './files.js';
import type { VideoInfo } from './video-info.js';
import type { ColourTags, Rational, Y4mInterlace } from './y4m.js';

/** The message given when ffmpeg (or ffprobe) cannot be started. */
export const FFMPEG_MISSING = 'ffmpeg is not on the PATH; install it (apt-get install ffmpeg) to read/write .mp4';

/** A running ffmpeg (or ffprobe) process. */
export interface FfmpegProcess {
  /** The child; stdin/stdout are pipes, stderr is collected. */
  readonly child: ChildProcess;
  /** Resolves when the process has exited, with its exit code (null when killed) and the end of its stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  /** Kills the process (SIGKILL) if it still runs. */
  kill(): void;
}

const STDERR_KEEP = 8192;
let available: Promise<void> | undefined;

/**
 * Checks once per process that `ffmpeg` can be started.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` with {@link FFMPEG_MISSING} when it cannot.
 */
export function ensureFfmpeg(): Promise<void> {
  available ??= runFfmpeg('ffmpeg', ['-version']).exited.then(({ code }) => {
    if (code !== 0) throw new SimpleIRError('UNSUPPORTED_FORMAT', `${FFMPEG_MISSING} (ffmpeg -version exited with ${code})`);
  });
  available.catch(() => {
    available = undefined;
  });
  return available;
}

/**
 * Starts `program` (ffmpeg or ffprobe) with `args`, stdin and stdout piped. A program that cannot be
 * started makes `exited` reject with `UNSUPPORTED_FORMAT` ({@link FFMPEG_MISSING}).
 */
export function runFfmpeg(program: 'ffmpeg' | 'ffprobe', args: readonly string[]): FfmpegProcess {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  // Writes into a process that died are reported through `exited`, not as uncaught errors.
  child.stdin?.on('error', () => {});
  child.stdout?.on('error', () => {});
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new SimpleIRError('UNSUPPORTED_FORMAT', FFMPEG_MISSING, { program }, { cause: e }));
      else reject(new SimpleIRError('IO_ERROR', `cannot run ${program}: ${e.message}`, { program }, { cause: e }));
    });
    child.once('close', (code) => resolve({ code, stderr }));
  });
  exited.catch(() => {});
  return {
    child,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The last non-empty line of ffmpeg's stderr, for messages. */
export function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'no message';
}

/** ffmpeg's closing lines that say that something failed, not what. */
const GENERIC = /^(Error marking filters as finished|Conversion failed!?|Error while filtering|Nothing was written|Cannot determine format of input stream|Error while decoding stream|Finishing stream .* without any data|Error closing|Terminating thread)/i;

/**
 * The line of ffmpeg's stderr that says most about a failure: the first that tells of a cut file,
 * else the last one that is not a generic closing line; without the `[demuxer @ 0x...]` prefixes.
 */
export function ffmpegReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '').trim()).filter(Boolean);
  const specific = lines.filter((l) => !GENERIC.test(l));
  return specific.find((l) => /partial file|moov atom not found|truncat|end of file/i.test(l)) ?? specific[specific.length - 1] ?? lines[lines.length - 1] ?? 'no message';
}

/** The error of a decode that ffmpeg ended with `code`, after `frames` frames. */
export function decodeFailure(path: string, stderr: string, code: number | null, frames: number): SimpleIRError {
  const reason = ffmpegReason(stderr);
  return new SimpleIRError(
    'CORRUPT_INPUT',
    `ffmpeg cannot decode ${path} after ${frames} frame${frames === 1 ? '' : 's'}: ${reason}. The file is damaged or cut short; re-encode or copy it again.`,
    { path, exitCode: code, frames },
  );
}

/** The parts of ffprobe's JSON that {@link probeVideoFile} reads. */
interface ProbedStream {
  codec_type?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  nb_frames?: string;
  time_base?: string;
  sample_aspect_ratio?: string;
  field_order?: string;
  color_space?: string;
  color_range?: string;
  color_primaries?: string;
  color_transfer?: string;
  disposition?: { attached_pic?: number };
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
}

const FIELD_ORDERS: Record<string, Y4mInterlace> = { progressive: 'progressive', tt: 'top-first', tb: 'top-first', bb: 'bottom-first', bt: 'bottom-first' };

/**
 * What a video file holds, with ffprobe: the size of the frames ffmpeg decodes from its first video
 * stream (rotation applied, as ffmpeg applies it), frame rate, frame count when the container says,
 * pixel aspect, field order, colour tags, time base, and whether it has audio.
 * @throws SimpleIRError `IO_ERROR` (missing file), `UNSUPPORTED_FORMAT` (no ffprobe, or no video
 *   stream), `CORRUPT_INPUT` (ffprobe cannot read the file).
 */
export async function probeVideoFile(path: string): Promise<VideoInfo> {
  checkPath('probeVideoFile(path)', path);
  await assertReadableFile(path);
  await ensureFfmpeg();
  const entries = 'stream=codec_type,width,height,r_frame_rate,nb_frames,time_base,sample_aspect_ratio,field_order,color_space,color_range,color_primaries,color_transfer:stream_disposition=attached_pic:stream_side_data=rotation:stream_tags=rotate';
  const out = await ffprobeJson(path, ['-show_entries', entries]);
  const streams = (out as { streams?: ProbedStream[] }).streams ?? [];
  const stream = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!stream?.width || !stream.height) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `${path} has no video stream${streams.length > 0 ? ` (it has ${streams.map((s) => s.codec_type ?? 'unknown').join(', ')})` : ''}; give a video file`, { path });
  }
  const fps = ratio(stream.r_frame_rate, '/') ?? { num: 25, den: 1 };
  const n = Number(stream.nb_frames);
  const rotation = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(stream.tags?.rotate ?? 0);
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const sar = ratio(stream.sample_aspect_ratio, ':') ?? { num: 0, den: 0 };
  const known = (v: string | undefined): string | undefined => (v && v !== 'unknown' ? v : undefined);
  const range = known(stream.color_range);
  const colour: ColourTags = {
    ...(known(stream.color_space) ? { space: stream.color_space } : {}),
    ...(known(stream.color_primaries) ? { primaries: stream.color_primaries } : {}),
    ...(known(stream.color_transfer) ? { transfer: stream.color_transfer } : {}),
    ...(range === 'tv' || range === 'pc' ? { range } : {}),
  };
  const timeBase = ratio(stream.time_base, '/');
  return {
    width: quarter ? stream.height : stream.width,
    height: quarter ? stream.width : stream.height,
    fps,
    frames: Number.isInteger(n) && n > 0 ? n : undefined,
    aspect: quarter && sar.num > 0 ? { num: sar.den, den: sar.num } : sar,
    interlace: FIELD_ORDERS[stream.field_order ?? ''] ?? 'unknown',
    colour,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    ...(timeBase ? { timeBase } : {}),
  };
}

/** Presentation time and duration of one decoded frame, in microseconds. */
export interface FrameTime {
  /** Presentation time. */
  readonly timestamp: number;
  /** How long the frame shows: up to the next frame, or the container's duration for the last one. */
  readonly duration: number | undefined;
}

/**
 * The presentation time of every frame ffmpeg decodes from the first video stream of `path`, in
 * order, with ffprobe (which decodes the stream once): what keeps a variable frame rate.
 * @throws SimpleIRError as {@link probeVideoFile}.
 */
export async function probeFrameTimes(path: string): Promise<FrameTime[]> {
  const out = await ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'stream=time_base:frame=best_effort_timestamp,pkt_duration']);
  const tb = ratio((out as { streams?: { time_base?: string }[] }).streams?.[0]?.time_base, '/') ?? { num: 1, den: 1_000_000 };
  const us = (ticks: number): number => Math.round((ticks * 1e6 * tb.num) / tb.den);
  const frames = ((out as { frames?: { best_effort_timestamp?: number; pkt_duration?: number }[] }).frames ?? []);
  const times = frames.map((f) => (typeof f.best_effort_timestamp === 'number' ? us(f.best_effort_timestamp) : undefined));
  return frames.map((f, i) => {
    const t = times[i] ?? (i > 0 ? undefined : 0);
    const next = times[i + 1];
    const own = typeof f.pkt_duration === 'number' && f.pkt_duration > 0 ? us(f.pkt_duration) : undefined;
    const timestamp = t ?? NaN;
    return { timestamp, duration: next !== undefined && t !== undefined && next > t ? next - t : own };
  });
}

/** Runs ffprobe on `path` with `args` and returns its parsed JSON output. */
async function ffprobeJson(path: string, args: readonly string[]): Promise<unknown> {
  const p = runFfmpeg('ffprobe', ['-v', 'error', ...args, '-of', 'json', path]);
  p.child.stdin?.end();
  const chunks: Buffer[] = [];
  p.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const { code, stderr } = await p.exited;
  if (code !== 0) throw new SimpleIRError('CORRUPT_INPUT', `cannot read ${path} as a video file: ${ffmpegReason(stderr)}. Check that the file is complete and is a video.`, { path });
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new SimpleIRError('CORRUPT_INPUT', `cannot read ${path}: ffprobe gave no readable description of it`, { path });
  }
}

function ratio(s: string | undefined, separator: string): Rational | undefined {
  const [num, den] = (s ?? '').split(separator).map(Number);
  return Number.isInteger(num) && Number.isInteger(den) && num! > 0 && den! > 0 ? { num: num!, den: den! } : undefined;
}
