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
