/**
 * `simpleir restore --engine ort` (ONNX Runtime on weights/<preset>.onnx) against the default tfjs
 * engine: a rainy photograph crop (PNG) and a short video (y4m, through the restore operator) give the
 * same output pixels (within one level of 255: the float outputs agree within 1e-3, and rounding may
 * split a value differently), the video frame for frame; the CommonJS bundle of the CLI finds the .onnx
 * files too (no import.meta.url there); wrong uses fail with one clear line.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { build, type Options } from 'tsup';
import tsupConfig from '../tsup.config.js';
import sharp from 'sharp';

const root = resolve(import.meta.dirname, '..');
const PHOTO = join(root, '.cache/photos/val/mate-LadyBird.jpg');
const noPhoto = existsSync(PHOTO) ? false : 'needs the validation photographs: run npm run fetch-photos';
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
const dir = mkdtempSync(join(tmpdir(), 'cli-engine-'));
/** The CJS bundle lives under the repository (as dist/ does), so that it finds weights/ above itself. */
const bundleDir = join(root, '.scratch', `cli-engine-${process.pid}`);
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(bundleDir, { recursive: true, force: true });
});

interface Run { code: number; stderr: string }

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: root, timeout: 240_000 }, (error, _stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }));
  });
}

const cli = (args: string[]): Promise<Run> => run(process.execPath, ['--import', 'tsx', 'scripts/simpleir.ts', ...args]);

/** Largest difference of two byte arrays, and the share of bytes that differ. */
function compare(a: Uint8Array, b: Uint8Array): { max: number; share: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let differ = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    if (d > 0) differ++;
  }
  return { max, share: differ / a.length };
}

function assertSame(a: Uint8Array, b: Uint8Array, what: string): void {
  const { max, share } = compare(a, b);
  console.log(`# ${what}: max |ort - tfjs| = ${max} levels, ${(share * 100).toFixed(3)} % of values differ`);
  assert.ok(max <= 1, `${what}: max difference ${max} levels`);
  assert.ok(share < 0.01, `${what}: ${(share * 100).toFixed(2)} % of values differ`);
}

let input: string;
before(async () => {
  if (noPhoto) return;
  input = join(dir, 'rainy.png');
  await sharp(PHOTO).extract({ left: 300, top: 200, width: 250, height: 170 }).toFile(join(dir, 'crop.png'));
  const r = await cli(['degrade', join(dir, 'crop.png'), '-o', input, '--kind', 'rain', '--seed', '2', '--strength', '0.6']);
  assert.equal(r.code, 0, r.stderr);
});

test('restore --engine ort equals --engine tfjs on a rainy photo crop (base), and the network changed it', { skip: noPhoto }, async () => {
  for (const engine of ['ort', 'tfjs']) {
    const r = await cli(['restore', input, '-o', join(dir, `${engine}.png`), '--model', 'base', '--engine', engine]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, engine === 'ort' ? /on onnxruntime-node \(cpu\)/ : /on wasm/);
  }
  const [ort, tfjs, x] = await Promise.all(['ort.png', 'tfjs.png', 'rainy.png'].map((f) => sharp(join(dir, f)).raw().toBuffer()));
  assertSame(ort!, tfjs!, 'base, 250x170 PNG');
  assert.ok(compare(tfjs!, x!).max > 20, 'the restore changed the image');
});

test('restore --engine ort equals --engine tfjs on a video, frame for frame (tiny, y4m through the restore operator)', { skip: noFfmpeg }, async () => {
  const video = join(dir, 'in.y4m');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=10', '-frames:v', '3', '-pix_fmt', 'yuv420p', video]);
  for (const engine of ['ort', 'tfjs']) {
    const r = await cli(['restore', video, '-o', join(dir, `${engine}.y4m`), '--model', 'tiny', '--engine', engine]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /restored 3 frames/);
  }
  const ort = readFileSync(join(dir, 'ort.y4m'));
  const tfjs = readFileSync(join(dir, 'tfjs.y4m'));
  assert.ok(ort.length > 3 * 96 * 64);
  assertSame(ort, tfjs, 'tiny, 3 frames of 96x64 y4m');
  const lastFrame = 96 * 64 * 1.5;
  assert.ok(compare(tfjs.subarray(-lastFrame), readFileSync(video).subarray(-lastFrame)).max > 2, 'the restore changed the video');
});

test('the CommonJS bundle of the CLI (built by tsup.config.ts) finds weights/*.onnx and restores with --engine ort as the sources do', { skip: noPhoto }, async () => {
  mkdirSync(bundleDir, { recursive: true });
  const bundle = join(bundleDir, 'cli.cjs');
  // The package's own build config (tsup.config.ts: an array of builds; the one with the CLI entry),
  // the CLI entry only, CommonJS, no type declarations.
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const cliConfig = configs.find((c) => typeof c.entry === 'object' && !Array.isArray(c.entry) && 'cli' in c.entry);
  assert.ok(cliConfig, 'tsup.config.ts has a build with the cli entry');
  await build({ ...cliConfig, entry: { cli: join(root, 'src/cli/index.ts') }, format: ['cjs'], dts: false, sourcemap: false, clean: false, outDir: bundleDir, silent: true });
  const out = join(dir, 'cjs.png');
  const ref = join(dir, 'ort-sources.png');
  const fromSources = await cli(['restore', input, '-o', ref, '--model', 'base', '--engine', 'ort']);
  assert.equal(fromSources.code, 0, fromSources.stderr);
  assert.doesNotMatch(readFileSync(bundle, 'utf8'), /import\.meta/, 'no import.meta in CommonJS');
  const r = await run(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).main(['node', 'simpleir', 'restore', ${JSON.stringify(input)}, '-o', ${JSON.stringify(out)}, '--model', 'base', '--engine', 'ort'])`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /on onnxruntime-node \(cpu\)/);
  const [cjs, ort] = await Promise.all([out, ref].map((f) => sharp(f).raw().toBuffer()));
  assert.equal(compare(cjs!, ort!).max, 0);
});

test('--engine ort with a weight file, with --tile, or an unknown engine: one line saying what to do', async () => {
  const png = join(dir, 'small.png');
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 40, b: 200 } } }).png().toFile(png);
  const cases: [string[], RegExp][] = [
    [['--model', join(dir, 'w.json'), '--engine', 'ort'], /INVALID_ARGUMENT.*--engine ort runs the shipped presets.*use --engine tfjs/],
    [['--model', 'tiny', '--engine', 'ort', '--tile', '256'], /INVALID_ARGUMENT.*--tile applies to the tfjs engine/],
    [['--model', 'tiny', '--engine', 'onnx'], /INVALID_ARGUMENT.*--engine must be tfjs or ort/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(['restore', png, '-o', join(dir, 'x.png'), ...args]);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
  }
});
