/**
 * The ffmpeg child processes behind the Node `.mp4` source and sink: finding ffmpeg, running it with
 * its errors kept, and probing a file with ffprobe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { SimpleIRError } from '../../core/errors.js';
import { assertReadableFile, checkPath } from './image-file.js';
import type { VideoInfo } from './y4m-source.js';

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

/**
 * Size, frame rate and (when the container says) frame count of the first video stream of a file, with ffprobe.
 * @throws SimpleIRError `IO_ERROR` (missing file), `UNSUPPORTED_FORMAT` (no ffprobe, or no video
 *   stream), `CORRUPT_INPUT` (ffprobe cannot read the file).
 */
export async function probeVideoFile(path: string): Promise<VideoInfo> {
  checkPath('probeVideoFile(path)', path);
  await assertReadableFile(path);
  await ensureFfmpeg();
  const p = runFfmpeg('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate,nb_frames', '-of', 'json', path]);
  p.child.stdin?.end();
  let out = '';
  p.child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const { code, stderr } = await p.exited;
  if (code !== 0) throw new SimpleIRError('CORRUPT_INPUT', `cannot read ${path}: ${lastLine(stderr)}`, { path });
  let stream: { width?: number; height?: number; r_frame_rate?: string; nb_frames?: string } | undefined;
  try {
    stream = (JSON.parse(out) as { streams?: (typeof stream)[] }).streams?.[0];
  } catch {
    stream = undefined;
  }
  if (!stream?.width || !stream.height) throw new SimpleIRError('UNSUPPORTED_FORMAT', `${path} has no video stream`, { path });
  const [num, den] = (stream.r_frame_rate ?? '25/1').split('/').map(Number);
  const fps = num! > 0 && den! > 0 ? { num: num!, den: den! } : { num: 25, den: 1 };
  const n = Number(stream.nb_frames);
  return { width: stream.width, height: stream.height, fps, frames: Number.isInteger(n) && n > 0 ? n : undefined };
}
