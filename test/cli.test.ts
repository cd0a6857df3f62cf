/**
 * The `simpleir` command line, run as a child process through `npx tsx scripts/simpleir.ts`: info,
 * image and video restore (y4m, mp4 through ffmpeg), and one-line errors with a non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { readImage, writeImage } from '../src/adapters/node/image-file.js';
import { toY4m } from '../src/adapters/node/y4m-sink.js';
import { fromY4m } from '../src/adapters/node/y4m-source.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import sharp from 'sharp';
import { useBackend } from './helpers/tf.js';

const root = resolve(import.meta.dirname, '..');
/** The mp4 tests need ffmpeg; without it they are skipped, saying so. */
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
let dir: string;
let identity: string;
let random: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `bare` runs node directly with an empty PATH (no ffmpeg). */
function cli(args: string[], options: { bare?: boolean } = {}): Promise<Run> {
  const [cmd, argv, env] = options.bare
    ? [process.execPath, ['--import', 'tsx', 'scripts/simpleir.ts', ...args], { ...process.env, PATH: join(dir, 'empty-path') }]
    : ['npx', ['tsx', 'scripts/simpleir.ts', ...args], process.env];
  return new Promise((done) => {
    execFile(cmd, argv, { cwd: root, env, timeout: 240_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/**
 * Asserts a failed run that printed one error line, starting with `simpleir: error`. With
 * `afterProgress`, progress lines may come before it (a file that fails half-way).
 */
function assertOneLineError(r: Run, pattern: RegExp, options: { afterProgress?: boolean } = {}): void {
  assert.notEqual(r.code, 0, `expected a failure; stderr: ${r.stderr}`);
  let lines = r.stderr.trim().split('\n');
  if (options.afterProgress) lines = lines.filter((l) => !/^restore \d+\/\d+ /.test(l));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^simpleir: error/);
  assert.match(lines[0]!, pattern);
}

function writeWeights(model: SimpleIR, name: string): string {
  const files = model.toWeightFiles({ weightsFile: `${name}.bin` });
  writeFileSync(join(dir, `${name}.bin`), files.data);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(files.manifest));
  model.dispose();
  return join(dir, `${name}.json`);
}

before(async () => {
  await useBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'simpleir-cli-'));
  identity = writeWeights(SimpleIR.create('tiny'), 'identity');
  random = writeWeights(SimpleIR.create('tiny', { init: 'random', seed: 3 }), 'random');
  const data = new Uint8Array(40 * 24 * 3).map((_, i) => (i * 37) & 0xff);
  await writeImage(join(dir, 'in.png'), { data, width: 40, height: 24, channels: 3 });
  if (noFfmpeg) writeFileSync(join(dir, 'in.mp4'), 'placeholder');
  else execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-frames:v', '6', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', join(dir, 'in.mp4')]);
  // Moderate colours, so that RGB <-> 4:2:0 conversions stay inside the gamut (testsrc2 does not).
  const frames = Array.from({ length: 6 }, (_, i) => {
    const d = new Uint8Array(48 * 32 * 3);
    for (let p = 0; p < 48 * 32; p++) {
      d[3 * p] = 70 + (p % 48) * 2;
      d[3 * p + 1] = 90 + Math.floor(p / 48) * 2 + i;
      d[3 * p + 2] = 120 + ((p + i) % 12);
    }
    return { data: d, width: 48, height: 32, timestamp: i * 40_000, duration: 40_000 };
  });
  await lastValueFrom(from(frames).pipe(toY4m(join(dir, 'in.y4m'))));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('simpleir info', () => {
  test('--model base prints JSON with the parameter count', async () => {
    const r = await cli(['info', '--model', 'base']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { paramCount: number; config: unknown };
    assert.equal(info.paramCount, 73874);
  });
});

describe('simpleir restore', () => {
  test('a PNG with --model PATH to a weight file', async () => {
    const out = join(dir, 'out.png');
    const r = await cli(['restore', join(dir, 'in.png'), '-o', out, '--model', random]);
    assert.equal(r.code, 0, r.stderr);
    const img = await readImage(out);
    assert.deepEqual([img.width, img.height, img.channels], [40, 24, 3]);
    const input = await readImage(join(dir, 'in.png'));
    assert.notDeepEqual(img.data, input.data, 'random weights change the image');
  });

  test('mp4 to mp4 through ffmpeg keeps the frame count', { skip: noFfmpeg }, async () => {
    const out = join(dir, 'out.mp4');
    const r = await cli(['restore', join(dir, 'in.mp4'), '-o', out, '--model', identity]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /restored 6 frames \(64x48\).*fps/);
    const count = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    assert.equal(Number(count.trim()), 6);
  });

  test('mp4 to y4m', { skip: noFfmpeg }, async () => {
    const out = join(dir, 'from-mp4.y4m');
    const r = await cli(['restore', join(dir, 'in.mp4'), '-o', out, '--model', identity]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(out).subarray(0, 80).toString('latin1'), /^YUV4MPEG2 W64 H48 F10:1/);
    assert.equal((await lastValueFrom(fromY4m(out).pipe(toArray()))).length, 6);
  });

  test('y4m to y4m with the identity model reproduces the frames within 2 levels', async () => {
    const out = join(dir, 'out.y4m');
    const r = await cli(['restore', join(dir, 'in.y4m'), '-o', out, '--model', identity]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /restored 6 frames \(48x32\)/);
    const a = await lastValueFrom(fromY4m(join(dir, 'in.y4m')).pipe(toArray()));
    const b = await lastValueFrom(fromY4m(out).pipe(toArray()));
    assert.equal(b.length, 6);
    for (let i = 0; i < 6; i++) {
      assert.equal(b[i]!.timestamp, a[i]!.timestamp);
      let d = 0;
      for (let k = 0; k < a[i]!.data.length; k++) d = Math.max(d, Math.abs(a[i]!.data[k]! - b[i]!.data[k]!));
      assert.ok(d <= 2, `frame ${i}: ${d}`);
    }
  });

  test('a missing input file: one error line, non-zero exit', async () => {
    assertOneLineError(await cli(['restore', join(dir, 'missing.png'), '-o', join(dir, 'x.png'), '--model', identity]), /file not found/);
    assertOneLineError(await cli(['restore', join(dir, 'missing.y4m'), '-o', join(dir, 'x.y4m'), '--model', identity]), /file not found/);
  });

  test('unsupported extensions', async () => {
    assertOneLineError(await cli(['restore', join(dir, 'in.png'), '-o', join(dir, 'x.gif'), '--model', identity]), /UNSUPPORTED_FORMAT.*\.gif/);
    assertOneLineError(await cli(['restore', join(dir, 'in.mp4'), '-o', join(dir, 'x.avi'), '--model', identity]), /UNSUPPORTED_FORMAT.*\.avi/);
    assertOneLineError(await cli(['restore', join(dir, 'in.png'), '-o', join(dir, 'x.mp4'), '--model', identity]), /UNSUPPORTED_FORMAT.*video input/);
  });

  test('corrupt video files', async () => {
    const y4m = readFileSync(join(dir, 'in.y4m'));
    writeFileSync(join(dir, 'cut.y4m'), y4m.subarray(0, y4m.length - 500));
    assertOneLineError(await cli(['restore', join(dir, 'cut.y4m'), '-o', join(dir, 'x.y4m'), '--model', identity]), /CORRUPT_INPUT.*frame 5 is truncated/, { afterProgress: true });
    if (noFfmpeg) return;
    writeFileSync(join(dir, 'junk.mp4'), 'junk');
    assertOneLineError(await cli(['restore', join(dir, 'junk.mp4'), '-o', join(dir, 'x.mp4'), '--model', identity]), /CORRUPT_INPUT/);
  });

  test('without ffmpeg on the PATH, .mp4 says how to get it', async () => {
    const r = await cli(['restore', join(dir, 'in.mp4'), '-o', join(dir, 'x.mp4'), '--model', identity], { bare: true });
    assertOneLineError(r, /ffmpeg is not on the PATH; install it \(apt-get install ffmpeg\)/);
  });
});

/** An ffmpeg-made MP4 whose video track lists no samples (its sample tables' counts set to 0). */
function emptyTrackMp4(from: string, to: string): void {
  const bytes = Buffer.from(readFileSync(from));
  const moov = bytes.indexOf('moov');
  const mdat = bytes.indexOf('mdat');
  assert.ok(moov > 0 && mdat > moov, 'made with +faststart: moov before mdat');
  for (const [box, countAt] of [['stts', 12], ['stss', 12], ['ctts', 12], ['stsc', 12], ['stco', 12], ['stsz', 16]] as const) {
    const at = bytes.indexOf(box, moov) - 4;
    if (at > moov && at < mdat) bytes.writeUInt32BE(0, at + countAt);
  }
  writeFileSync(to, bytes);
}

describe('simpleir restore: real-world files', () => {
  test('an RGBA PNG keeps its alpha channel, values equal (made by ffmpeg, identity model)', { skip: noFfmpeg }, async () => {
    const input = join(dir, 'rgba.png');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', "color=c=red:s=40x24,format=rgba,geq=r='60+X*3':g='80+Y*4':b=140:a='X*6'", '-frames:v', '1', input]);
    const before = await readImage(input, { channels: 4 });
    assert.ok(new Set(Array.from({ length: 40 }, (_, x) => before.data[x * 4 + 3])).size > 30, 'the input alpha varies');
    const out = join(dir, 'rgba-out.png');
    const r = await cli(['restore', input, '-o', out, '--model', identity]);
    assert.equal(r.code, 0, r.stderr);
    const meta = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=pix_fmt', '-of', 'csv=p=0', out], { encoding: 'utf8' }).trim();
    assert.equal(meta, 'rgba');
    const after = await readImage(out, { channels: 4 });
    let alpha = 0;
    let rgb = 0;
    for (let i = 0; i < after.data.length; i++) {
      const d = Math.abs(after.data[i]! - before.data[i]!);
      if (i % 4 === 3) alpha = Math.max(alpha, d);
      else rgb = Math.max(rgb, d);
    }
    assert.equal(alpha, 0, 'alpha values equal');
    assert.ok(rgb <= 1, `RGB through the identity model: ${rgb}`);
  });

  test('an animated WebP is restored frame by frame into an animated WebP, same frames, delays and loop (made by ffmpeg); other outputs refused', { skip: noFfmpeg }, async () => {
    const input = join(dir, 'anim.webp');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'gradients=s=48x32:r=4:speed=0.2', '-frames:v', '6', '-c:v', 'libwebp_anim', '-lossless', '1', '-loop', '3', input]);
    const before = await sharp(input, { animated: true }).metadata();
    assert.ok((before.pages ?? 1) >= 3, `the input is animated (${before.pages} frames)`);
    const out = join(dir, 'anim-out.webp');
    const r = await cli(['restore', input, '-o', out, '--model', identity]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`restored ${before.pages} frames of .*anim\\.webp \\(48x32\\)`));
    const after = await sharp(out, { animated: true }).metadata();
    assert.deepEqual([after.pages, after.pageHeight, after.delay, after.loop], [before.pages, 32, before.delay, 3]);
    const a = await sharp(input, { animated: true }).removeAlpha().raw().toBuffer();
    const b = await sharp(out, { animated: true }).removeAlpha().raw().toBuffer();
    assert.equal(b.length, a.length);
    const frameBytes = 48 * 32 * 3;
    for (let f = 0; f < before.pages!; f++) {
      let sum = 0;
      for (let i = f * frameBytes; i < (f + 1) * frameBytes; i++) sum += Math.abs(a[i]! - b[i]!);
      assert.ok(sum / frameBytes <= 3, `frame ${f}: mean difference ${(sum / frameBytes).toFixed(2)} (lossy WebP, identity model)`);
    }
    const png = join(dir, 'anim-out.png');
    assertOneLineError(await cli(['restore', input, '-o', png, '--model', identity]), /UNSUPPORTED_FORMAT.*anim\.webp is an animated WEBP with \d+ frames; an animation is written as \.webp/);
    assert.throws(() => readFileSync(png), /ENOENT/, 'nothing written');
  });

  test('a truncated MP4 and an MP4 whose video track has no sample: CORRUPT_INPUT saying what the file is', { skip: noFfmpeg }, async () => {
    const full = join(dir, 'faststart.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-frames:v', '10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-movflags', '+faststart', full]);
    const bytes = readFileSync(full);
    writeFileSync(join(dir, 'cut.mp4'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const cut = await cli(['restore', join(dir, 'cut.mp4'), '-o', join(dir, 'x.mp4'), '--model', identity]);
    assertOneLineError(cut, /CORRUPT_INPUT.*cut\.mp4 has a video track \(64x48\) but no frame decodes from it: .*cut or damaged/, { afterProgress: true });
    assert.doesNotMatch(cut.stderr, /Error marking filters/);
    emptyTrackMp4(full, join(dir, 'empty-track.mp4'));
    const empty = await cli(['restore', join(dir, 'empty-track.mp4'), '-o', join(dir, 'x.mp4'), '--model', identity]);
    assertOneLineError(empty, /CORRUPT_INPUT.*empty-track\.mp4 has a video track \(64x48\) but no frame decodes from it: the track is empty/, { afterProgress: true });
    assert.doesNotMatch(empty.stderr, /Error marking filters/);
  });

  test('--model that is not a weight file: WEIGHTS_INVALID naming what it is, no raw bytes', async () => {
    assertOneLineError(await cli(['restore', join(dir, 'in.png'), '-o', join(dir, 'x.png'), '--model', join(dir, 'in.png')]), /WEIGHTS_INVALID.*in\.png is not a SimpleIR weight file: it is a PNG image/);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.from([0, 1, 2, 0, 0xff, 0xfe, 10, 13, 0, 7, 8, 9]));
    const r = await cli(['restore', join(dir, 'in.png'), '-o', join(dir, 'x.png'), '--model', junk]);
    assertOneLineError(r, /WEIGHTS_INVALID.*junk\.bin is not a SimpleIR weight file: it starts with the bytes 00 01 02 00 ff fe 0a 0d/);
    assert.doesNotMatch(r.stderr.trimEnd(), /[\u0000-\u0009\u000b-\u001f\ufffd]/, 'no control characters');
  });

  test('an output under a regular file: IO_ERROR that says a part of the folder is a file (png, y4m, mp4)', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const cases: [string, string][] = [[join(dir, 'in.png'), 'out.png'], [join(dir, 'in.y4m'), 'out.y4m'], ...(noFfmpeg ? [] : [[join(dir, 'in.mp4'), 'out.mp4'] as [string, string]])];
    for (const [input, name] of cases) {
      const r = await cli(['restore', input, '-o', join(file, 'sub', name), '--model', identity]);
      assertOneLineError(r, /IO_ERROR.*cannot create the folder of .*: a part of the folder .*plain-file\/sub is a file, not a folder/, { afterProgress: true });
      assert.doesNotMatch(r.stderr, /EEXIST|ENOTDIR/);
    }
  });
});
