/**
 * `npm run media-corpus [-- <folder>] [--model tiny|base|file]`: makes a corpus of small real-world
 * media cases with ffmpeg (variable frame rate, colour tags, audio, rotation, pixel aspect, 10-bit,
 * 4:4:4, moov placement, fragmented MP4, one frame, interlaced y4m), runs `simpleir restore` over
 * each, and prints a table of checks (input against output, with ffprobe). The case list and checks
 * are exported for test/media-corpus.test.ts.
 *
 * Default model: the identity (`SimpleIR.create('tiny')`, output = input), so that colour means can
 * be compared; with `--model` the means are not checked (the model changes the pixels).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One corpus case: how its input is made and what the CLI writes. */
export interface MediaCase {
  /** Short name; also the input file's base name. */
  readonly name: string;
  /** Input file extension (`.mp4`, `.y4m`). */
  readonly input: '.mp4' | '.y4m';
  /** Output file extension. */
  readonly output: '.mp4' | '.y4m';
  /**
   * ffmpeg commands (arguments after `ffmpeg -v error -y`), run in order; `{in}` is the previous
   * command's output, `{out}` this command's (the last one's is the case's input file).
   */
  readonly steps: readonly (readonly string[])[];
}

/** A 64x48 (or given size) picture of two flat colours, one quadrant differing: its means find rotations and colour shifts. */
function picture(rate: string, size = '64x48'): string {
  const [w, h] = size.split('x').map(Number);
  return `color=c=0x3c78b4:s=${size}:r=${rate},drawbox=x=0:y=0:w=${w! / 2}:h=${h! / 2}:color=0xb4643c:t=fill`;
}

const H264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
const rotated = (degrees: number): MediaCase => ({
  name: `rotate-${degrees}`,
  input: '.mp4',
  output: '.mp4',
  steps: [
    ['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', ...H264, '{out}'],
    ['-i', '{in}', '-c', 'copy', '-metadata:s:v:0', `rotate=${degrees}`, '{out}'],
  ],
});

/** The corpus. */
export const MEDIA_CASES: readonly MediaCase[] = [
  { name: 'moov-at-end', input: '.mp4', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '6', ...H264, '{out}']] },
  { name: 'moov-at-start', input: '.mp4', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '6', ...H264, '-movflags', '+faststart', '{out}']] },
  {
    name: 'vfr-0-10-40-90-160-250ms',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('100'), '-frames:v', '6', '-vf', 'setpts=N*N*0.01/TB', '-fps_mode', 'passthrough', ...H264, '{out}']],
  },
  {
    name: 'phone-30fps-one-gap',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('30'), '-frames:v', '11', '-vf', 'select=not(eq(n\\,5))', '-fps_mode', 'passthrough', ...H264, '-video_track_timescale', '90000', '{out}']],
  },
  {
    name: 'bt601-limited',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-vf', 'format=rgb24,scale=out_color_matrix=bt601:out_range=tv,format=yuv420p', ...H264,
      '-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m', '-color_range', 'tv', '{out}']],
  },
  {
    name: 'bt709-limited',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-vf', 'format=rgb24,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', ...H264,
      '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv', '{out}']],
  },
  {
    name: 'bt601-full',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-vf', 'format=rgb24,scale=out_color_matrix=bt601:out_range=full,format=yuv420p', ...H264,
      '-colorspace', 'bt470bg', '-color_primaries', 'bt470bg', '-color_trc', 'gamma28', '-color_range', 'pc', '{out}']],
  },
  {
    name: 'bt709-full',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-vf', 'format=rgb24,scale=out_color_matrix=bt709:out_range=full,format=yuv420p', ...H264,
      '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'pc', '{out}']],
  },
  {
    name: 'aac-audio',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10'), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '0.6', ...H264, '-c:a', 'aac', '{out}']],
  },
  {
    name: 'anamorphic-16-15',
    input: '.mp4',
    output: '.mp4',
    steps: [['-f', 'lavfi', '-i', picture('10', '160x96'), '-frames:v', '3', '-vf', 'setsar=16/15', ...H264, '{out}']],
  },
  rotated(90),
  rotated(180),
  rotated(270),
  { name: '10-bit', input: '.mp4', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p10le', '{out}']] },
  { name: 'yuv444', input: '.mp4', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', '{out}']] },
  { name: 'one-frame', input: '.mp4', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('10'), '-frames:v', '1', ...H264, '{out}']] },
  {
    name: 'fragmented-from-0.04s',
    input: '.mp4',
    output: '.mp4',
    // One B-frame of delay and no edit list: the first frame shows at 0.04 s.
    steps: [['-f', 'lavfi', '-i', picture('25'), '-frames:v', '5', '-bf', '1', ...H264, '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '{out}']],
  },
  { name: 'y4m-interlaced-tff', input: '.y4m', output: '.y4m', steps: [['-f', 'lavfi', '-i', picture('25'), '-frames:v', '3', '-vf', 'setfield=tff', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', '{out}']] },
  { name: 'y4m-anamorphic-16-15', input: '.y4m', output: '.y4m', steps: [['-f', 'lavfi', '-i', picture('25', '160x96'), '-frames:v', '3', '-vf', 'setsar=16/15', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', '{out}']] },
  { name: 'y4m-anamorphic-to-mp4', input: '.y4m', output: '.mp4', steps: [['-f', 'lavfi', '-i', picture('25', '160x96'), '-frames:v', '3', '-vf', 'setsar=16/15', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', '{out}']] },
];

/** The file each step of a case writes (the last one is the case's input file). */
function stepFiles(c: MediaCase): string[] {
  return c.steps.map((_, i) => (i === c.steps.length - 1 ? `${c.name}${c.input}` : `${c.name}.step${i}${c.input}`));
}

/** The arguments of each step with `{in}`/`{out}` replaced by the files in `dir`. */
function stepArgs(c: MediaCase, dir: string): string[][] {
  const files = stepFiles(c).map((f) => join(dir, f));
  return c.steps.map((step, i) => step.map((a) => a.replace('{in}', files[i - 1] ?? '').replace('{out}', files[i]!)));
}

/** The command lines of a case, one string per ffmpeg run, with file names relative to the corpus folder. */
export function caseCommands(c: MediaCase): string[] {
  return stepArgs(c, '.').map((s) => ['ffmpeg', '-v', 'error', '-y', ...s].map((a) => (/[\s,;()'']/.test(a) ? `'${a}'` : a)).join(' '));
}

/** Makes a case's input file in `dir` with ffmpeg and returns its path. */
export function makeCase(c: MediaCase, dir: string): string {
  const steps = stepArgs(c, dir);
  for (const args of steps) execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  return join(dir, stepFiles(c).at(-1)!);
}

/** What the checks compare, read with ffprobe and ffmpeg. */
export interface VideoFacts {
  /** Decoded frames of the first video stream. */
  readonly frames: number;
  /** Presentation time of each frame in seconds. */
  readonly pts: readonly number[];
  /** One tick of the video stream's time base, in seconds. */
  readonly tick: number;
  /** Display width and height (rotation applied). */
  readonly display: readonly [number, number];
  /** Sample aspect ratio as `num:den` (`1:1` when unknown), as displayed (rotation applied). */
  readonly aspect: string;
  /** Colour tags: matrix, primaries, transfer, range (`unknown` range read as `tv`). */
  readonly colour: { readonly space: string; readonly primaries: string; readonly transfer: string; readonly range: string };
  /** Field order (`progressive`, `tt`, ...; `unknown` when not said). */
  readonly fieldOrder: string;
  /** Mean Y, Cb, Cr (8-bit levels) of each display quadrant (top-left, top-right, bottom-left, bottom-right) over all frames. */
  readonly quadrants: readonly (readonly [number, number, number])[];
  /** Audio stream codec, start and duration in seconds, when there is one. */
  readonly audio?: { readonly codec: string; readonly start: number; readonly duration: number };
}

interface Stream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  time_base?: string;
  duration?: string;
  start_time?: string;
  sample_aspect_ratio?: string;
  field_order?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  side_data_list?: { rotation?: number }[];
}

/** Reads the {@link VideoFacts} of a video file. */
export function videoFacts(path: string): VideoFacts {
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries',
    'stream=codec_type,codec_name,width,height,time_base,start_time,duration,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer,color_range:stream_side_data=rotation',
    '-of', 'json', path], { encoding: 'utf8' })) as { streams: Stream[] };
  const video = probe.streams.find((s) => s.codec_type === 'video')!;
  const frames = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'json', path], { encoding: 'utf8' })) as {
    frames: { best_effort_timestamp_time?: string }[];
  };
  const [tn, td] = (video.time_base ?? '1/1000000').split('/').map(Number);
  const rotation = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const w = quarter ? video.height! : video.width!;
  const h = quarter ? video.width! : video.height!;
  let aspect = !video.sample_aspect_ratio || /^(0:1|N\/A|0:0)$/.test(video.sample_aspect_ratio) ? '1:1' : video.sample_aspect_ratio;
  if (quarter) aspect = aspect.split(':').reverse().join(':');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  const unknown = (v: string | undefined): string => v ?? 'unknown';
  return {
    frames: frames.frames.length,
    pts: frames.frames.map((f) => Number(f.best_effort_timestamp_time)),
    tick: tn! / td!,
    display: [w, h],
    aspect,
    colour: {
      space: unknown(video.color_space),
      primaries: unknown(video.color_primaries),
      transfer: unknown(video.color_transfer),
      range: video.color_range === 'pc' ? 'pc' : 'tv',
    },
    fieldOrder: unknown(video.field_order),
    quadrants: quadrantMeans(path, w, h),
    ...(audio ? { audio: { codec: audio.codec_name ?? 'unknown', start: Number(audio.start_time), duration: Number(audio.duration) } } : {}),
  };
}

/** Mean Y, Cb, Cr of each display quadrant over all frames, leaving out 4 pixels on each side of the split lines. */
function quadrantMeans(path: string, w: number, h: number): [number, number, number][] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv444p', '-'], { maxBuffer: 1 << 28 });
  const plane = w * h;
  const n = raw.length / (3 * plane);
  const sums = Array.from({ length: 4 }, () => [0, 0, 0] as [number, number, number]);
  const counts = [0, 0, 0, 0];
  for (let f = 0; f < n; f++) {
    for (let y = 0; y < h; y++) {
      if (Math.abs(y + 0.5 - h / 2) < 4) continue;
      for (let x = 0; x < w; x++) {
        if (Math.abs(x + 0.5 - w / 2) < 4) continue;
        const q = (y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1);
        counts[q]!++;
        const sum = sums[q]!;
        for (let c = 0; c < 3; c++) sum[c] = sum[c]! + raw[(3 * f + c) * plane + y * w + x]!;
      }
    }
  }
  return sums.map((s, q) => s.map((v) => v / Math.max(1, counts[q]!)) as [number, number, number]);
}

/** One check of a case: a property, whether the output matches the input, and the values seen. */
export interface CheckResult {
  /** Property name. */
  readonly property: string;
  /** True when the output matches the input. */
  readonly pass: boolean;
  /** Input and output values, for the table and failure messages. */
  readonly detail: string;
}

/** Compares the output of a case with its input: frames, timestamps (one tick), display size, aspect, colour tags, field order, means (2 levels, when `means`), audio. */
export function compareFacts(input: VideoFacts, output: VideoFacts, options: { means: boolean }): CheckResult[] {
  const results: CheckResult[] = [];
  const add = (property: string, pass: boolean, detail: string): void => void results.push({ property, pass, detail });
  add('frames', input.frames === output.frames, `${input.frames} -> ${output.frames}`);
  const worst = input.pts.reduce((m, t, i) => Math.max(m, Math.abs(t - (output.pts[i] ?? Infinity))), 0);
  add('timestamps', input.frames === output.frames && worst <= input.tick + 1e-6, `max |dt| ${fmt(worst * 1000)} ms (tick ${fmt(input.tick * 1000)} ms)`);
  add('display size', input.display.join('x') === output.display.join('x'), `${input.display.join('x')} -> ${output.display.join('x')}`);
  add('pixel aspect', input.aspect === output.aspect, `${input.aspect} -> ${output.aspect}`);
  const tags = (f: VideoFacts): string => `${f.colour.space}/${f.colour.primaries}/${f.colour.transfer}/${f.colour.range}`;
  add('colour tags', tags(input) === tags(output), `${tags(input)} -> ${tags(output)}`);
  add('field order', input.fieldOrder === output.fieldOrder || (input.fieldOrder === 'unknown' && output.fieldOrder === 'progressive'), `${input.fieldOrder} -> ${output.fieldOrder}`);
  if (options.means) {
    let worstMean = 0;
    input.quadrants.forEach((q, i) => q.forEach((v, c) => (worstMean = Math.max(worstMean, Math.abs(v - output.quadrants[i]![c]!)))));
    add('mean colour', worstMean <= 2, `max |d mean| ${fmt(worstMean)} levels`);
  }
  if (input.audio) {
    // Same codec, same length, and the same start relative to the first video frame (in sync).
    const a = input.audio;
    const b = output.audio;
    const d = b ? Math.abs(b.duration - a.duration) : Infinity;
    const lag = (f: VideoFacts, x: { start: number }): number => x.start - (f.pts[0] ?? 0);
    const offset = b ? Math.abs(lag(output, b) - lag(input, a)) : Infinity;
    const show = (x: typeof a): string => `${x.codec} ${fmt(x.duration)} s from ${fmt(x.start)} s`;
    add('audio', b?.codec === a.codec && d <= 0.025 && offset <= 0.001, `${show(a)} -> ${b ? show(b) : 'none'}`);
  }
  return results;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? n.toFixed(3).replace(/\.?0+$/, '') : String(n);
}

/** Makes the corpus in `dir`, restores each case with the CLI (in this process) and prints the table; returns the number of failed checks. */
async function run(dir: string, model: string | undefined): Promise<number> {
  const { main } = await import('../src/cli/index.js');
  const { SimpleIR } = await import('../src/core/model/simpleir.js');
  const { useBackend } = await import('../src/cli/common.js');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cases.txt'), MEDIA_CASES.map((c) => `${c.name} -> ${c.output}: ${caseCommands(c).join(' && ')}`).join('\n') + '\n');
  let spec = model;
  if (!spec) {
    await useBackend('wasm');
    const files = SimpleIR.create('tiny').toWeightFiles({ weightsFile: 'identity.bin' });
    writeFileSync(join(dir, 'identity.bin'), files.data);
    writeFileSync(join(dir, 'identity.json'), JSON.stringify(files.manifest));
    spec = join(dir, 'identity.json');
  }
  let failed = 0;
  const rows: string[] = [];
  for (const c of MEDIA_CASES) {
    const input = makeCase(c, dir);
    const output = join(dir, `${c.name}.restored${c.output}`);
    process.exitCode = 0;
    await main(['node', 'simpleir', 'restore', input, '-o', output, '--model', spec]);
    if (process.exitCode !== 0) {
      failed++;
      rows.push(`| ${c.name} | restore | FAIL | the CLI failed (see above) |`);
      continue;
    }
    for (const r of compareFacts(videoFacts(input), videoFacts(output), { means: !model })) {
      if (!r.pass) failed++;
      rows.push(`| ${c.name} | ${r.property} | ${r.pass ? 'pass' : 'FAIL'} | ${r.detail} |`);
    }
  }
  process.exitCode = 0;
  process.stdout.write(`\nmodel: ${model ?? 'identity (tiny, fresh)'}; corpus: ${dir}/cases.txt\n\n| case | check | result | input -> output |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n\n${failed} failed check(s)\n`);
  return failed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const m = args.indexOf('--model');
  const model = m >= 0 ? args[m + 1] : undefined;
  const dir = args.find((a, i) => !a.startsWith('--') && (m < 0 || i !== m + 1)) ?? 'media-corpus';
  run(resolve(dir), model).then(
    (failed) => process.exit(failed > 0 ? 1 : 0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
