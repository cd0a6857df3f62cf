/**
 * Video fixtures for the browser video tests, made with ffmpeg into a temporary directory (served to
 * the page through an extra route), and ffprobe helpers to check what the page wrote.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A lavfi test pattern of `w`x`h` at `fps` for `seconds`. */
function pattern(w: number, h: number, fps: number, seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=${fps}`, '-t', String(seconds)];
}

/** The MP4 fixtures by name, with the ffmpeg arguments that make each (after the input). */
export const MP4_FIXTURES = {
  /** H.264 with B-frames (an edit list shifts it to 0) and an AAC audio track. */
  'h264-aac': [...pattern(64, 48, 30, 0.5), '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-t', '0.5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart'],
  /** H.264 with its moov after the media data. */
  'h264-moov-end': [...pattern(64, 48, 30, 0.5), '-c:v', 'libx264', '-pix_fmt', 'yuv420p'],
  /** VP9 in MP4. */
  vp9: [...pattern(64, 48, 30, 0.5), '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv420p', '-deadline', 'realtime'],
  /** AV1 in MP4. */
  av1: [...pattern(64, 48, 30, 0.5), '-c:v', 'libaom-av1', '-cpu-used', '8', '-pix_fmt', 'yuv420p'],
  /** Fragmented H.264 (a moof every 5 frames, no edit list: timestamps start after the B-frame delay). */
  fragmented: [...pattern(64, 48, 30, 0.5), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '5', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
  /** Anamorphic H.264: 64x48 stored, pixel aspect ratio 16:15 (shown as 68x48; a pasp box and the SPS say so). */
  anamorphic: [...pattern(64, 48, 30, 0.3), '-vf', 'setsar=16/15', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
  /** Fragmented H.264 at 25 fps with one B-frame and no edit list: the first frame is shown at 0.04 s. */
  'fragmented-late': [...pattern(64, 48, 25, 0.4), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '1', '-g', '5', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
  /** Variable frame rate: 6 frames shown at 0, 10, 40, 90, 160 and 250 ms (B-frames, an edit list ending at 260 ms). */
  vfr: ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=100', '-frames:v', '6', '-vf', 'setpts=N*N*0.01/TB', '-fps_mode', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-video_track_timescale', '1000'],
  /** HEVC, which this Chromium cannot decode. */
  hevc: [...pattern(64, 48, 30, 0.2), '-c:v', 'libx265', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1', '-x265-params', 'log-level=error'],
  /**
   * 4K UHD H.264, 2 frames at 5 fps (every frame above 2^24 RGB values), with a flat box of colour
   * {@link FLAT_BOX} below row 1456 (where tiles cut with float indices went wrong).
   */
  'h264-4k': [...pattern(3840, 2160, 5, 0.4), '-vf', 'drawbox=x=200:y=1600:w=1200:h=400:color=0x7090B0:t=fill', '-c:v', 'libx264', '-pix_fmt', 'yuv420p'],
} as const;

/** The flat box of the `h264-4k` fixture (luma pixels; its colour is RGB 0x7090B0). */
export const FLAT_BOX = { x: 200, y: 1600, width: 1200, height: 400, rgb: [0x70, 0x90, 0xb0] } as const;

/**
 * Fixtures ffmpeg makes from another fixture without re-encoding: `[base, options before -i, options after]`.
 * `cut` is a user's `ffmpeg -ss 0.1 -i in.mp4 -c copy cut.mp4` (the frames from the key frame before the
 * cut are kept and an edit list starts the presentation at the cut); `rot*` carry a display matrix.
 */
export const DERIVED_MP4_FIXTURES = {
  cut: ['h264-aac', ['-ss', '0.1'], ['-c', 'copy']],
  rot90: ['h264-moov-end', [], ['-c', 'copy', '-metadata:s:v:0', 'rotate=90']],
  rot180: ['h264-moov-end', [], ['-c', 'copy', '-metadata:s:v:0', 'rotate=180']],
  rot270: ['h264-moov-end', [], ['-c', 'copy', '-metadata:s:v:0', 'rotate=270']],
} as const satisfies Record<string, readonly [Mp4Fixture, readonly string[], readonly string[]]>;

/** Name of a derived MP4 fixture. */
export type DerivedMp4Fixture = keyof typeof DERIVED_MP4_FIXTURES;

/** Writes derived fixture `name` into `dir` (its base must be there already) and returns its path. */
export async function makeDerivedMp4(dir: string, name: DerivedMp4Fixture): Promise<string> {
  const [base, before, after] = DERIVED_MP4_FIXTURES[name];
  const out = join(dir, `${name}.mp4`);
  await ffmpeg([...before, '-i', join(dir, `${base}.mp4`), ...after, out]);
  return out;
}

/** Name of an MP4 fixture. */
export type Mp4Fixture = keyof typeof MP4_FIXTURES;

/** A temporary directory of fixtures; `remove()` deletes it. */
export interface FixtureDir {
  readonly dir: string;
  remove(): Promise<void>;
}

/** Makes a temporary directory. */
export async function fixtureDir(): Promise<FixtureDir> {
  const dir = await mkdtemp(join(tmpdir(), 'simpleir-video-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs ffmpeg quietly, overwriting. */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Writes MP4 fixture `name` into `dir` as `<name>.mp4` and returns its path. */
export async function makeMp4(dir: string, name: Mp4Fixture): Promise<string> {
  const out = join(dir, `${name}.mp4`);
  await ffmpeg([...MP4_FIXTURES[name], out]);
  return out;
}

/** Writes a y4m clip (for the fake webcam) of `w`x`h` at `fps` for `seconds`. */
export async function makeY4m(dir: string, name: string, w: number, h: number, fps: number, seconds: number): Promise<string> {
  const out = join(dir, `${name}.y4m`);
  await ffmpeg([...pattern(w, h, fps, seconds), '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** Writes bytes (e.g. a Blob the page returned as base64) to `dir/name`. */
export async function writeBase64(dir: string, name: string, base64: string): Promise<string> {
  const out = join(dir, name);
  await writeFile(out, Buffer.from(base64, 'base64'));
  return out;
}

/** What ffprobe says about a file's streams. */
export interface ProbeStream {
  readonly codec_type: string;
  readonly codec_name: string;
  readonly pix_fmt?: string;
  readonly width?: number;
  readonly height?: number;
  readonly nb_read_frames?: string;
  readonly nb_read_packets?: string;
  readonly sample_rate?: string;
  readonly channels?: number;
  readonly start_time?: string;
  readonly duration?: string;
  readonly sample_aspect_ratio?: string;
  readonly display_aspect_ratio?: string;
  readonly side_data_list?: readonly { readonly side_data_type: string; readonly rotation?: number; readonly displaymatrix?: string }[];
}

/** The rotation ffprobe reads from a stream's display matrix side data (0 without one). */
export function probeRotation(stream: ProbeStream): number {
  return stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation ?? 0;
}

/** `ffprobe -count_frames` of every stream. */
export async function probeStreams(file: string): Promise<ProbeStream[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: ProbeStream[] }).streams;
}

/**
 * Presentation times (seconds) of the decoded video frames, in order: ffprobe's best-effort timestamps
 * (its `pts_time` is N/A for the last frames of a file cut with an edit list).
 */
export async function frameTimes(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file]);
  return stdout
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''))
    .filter((l) => l.length > 0)
    .map(Number);
}

/** The video packets in presentation order: time (seconds) and size (bytes), as ffprobe reads them. */
export async function probePackets(file: string): Promise<{ pts: number; size: number }[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,size', '-of', 'json', file]);
  const packets = (JSON.parse(stdout) as { packets: { pts_time: string; size: string }[] }).packets;
  return packets.map((p) => ({ pts: Number(p.pts_time), size: Number(p.size) })).sort((a, b) => a.pts - b.pts);
}

/**
 * The video frames' presentation times and how long each is shown (seconds), as ffprobe reads them: to
 * the next frame, the last to the end of the file (the format's start + duration; a stream's duration
 * is the sum of its decode-time deltas). A one-video-stream file only. (ffprobe gives no packet
 * durations for a file with a fragment per frame.)
 */
export async function shownTimes(file: string): Promise<{ pts: number; duration: number }[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time:format=start_time,duration', '-of', 'json', file]);
  const probe = JSON.parse(stdout) as { packets: { pts_time: string }[]; format: { start_time: string; duration: string } };
  const pts = probe.packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
  const end = Number(probe.format.start_time) + Number(probe.format.duration);
  return pts.map((t, i) => ({ pts: t, duration: (pts[i + 1] ?? end) - t }));
}

/** Decodes every frame with ffmpeg; throws when ffmpeg reports an error. */
export async function decodesCleanly(file: string): Promise<void> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  if (stderr.trim().length > 0) throw new Error(`ffmpeg reported errors decoding ${file}:\n${stderr}`);
}

/** PSNR (dB) of the video of `a` against `b`, frame by frame (ffmpeg's psnr filter): per plane and average. */
export async function psnr(a: string, b: string): Promise<{ y: number; u: number; v: number; average: number }> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-i', a, '-i', b, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-']);
  const m = /PSNR y:(inf|[\d.]+) u:(inf|[\d.]+) v:(inf|[\d.]+) average:(inf|[\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no PSNR in ffmpeg's output:\n${stderr.slice(-2000)}`);
  const [y, u, v, average] = m.slice(1).map((x) => (x === 'inf' ? Infinity : Number(x)));
  return { y: y!, u: u!, v: v!, average: average! };
}

/**
 * Every video frame of `file` decoded by ffmpeg to RGB (8 bits, `width * height * 3` bytes each; the
 * stream's colour matrix and range as tagged, BT.601 limited when untagged).
 */
export async function decodeRgbFrames(file: string, width: number, height: number): Promise<Uint8Array[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 1 << 28 });
  const size = width * height * 3;
  if (stdout.length % size !== 0) throw new Error(`${file}: ${stdout.length} bytes of RGB is not a whole number of ${width}x${height} frames`);
  return Array.from({ length: stdout.length / size }, (_, i) => new Uint8Array(stdout.buffer, stdout.byteOffset + i * size, size));
}
