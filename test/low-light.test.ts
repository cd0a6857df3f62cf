/**
 * `lowLight: 'off'`: the output keeps the input's exposure (scenes meant to be dark) while rain is still
 * removed; on `model.restore`/`predict`, the `restore` operator and the CLI's `--low-light off`. Inputs
 * are validation photographs resized and darkened by ffmpeg (clean dark scenes, which both modes keep)
 * or made low-light by the SDK's generator (sensor noise and all, which 'auto' brightens), restored by
 * the shipped `tiny`.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { readImage } from '../src/adapters/node/image-file.js';
import { createDegradation } from '../src/core/degrade/index.js';
import { isSimpleIRError } from '../src/core/errors.js';
import type { RGBImage } from '../src/core/image.js';
import { psnr } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import { restore } from '../src/streams/restore.js';
import { assertNoLeak, tf, useBackend } from './helpers/tf.js';

const root = resolve(import.meta.dirname, '..');
const PHOTO = join(root, '.cache/photos/val/plasma-EveningGlow.jpg');
const RAIN_PHOTO = join(root, '.cache/photos/val/mate-LadyBird.jpg');
const skip = existsSync(PHOTO) && existsSync(RAIN_PHOTO) ? false : 'needs the validation photographs: run npm run fetch-photos';

let dir: string;
let model: SimpleIR;
/** The photograph at 320x180, darkened to 35 % by ffmpeg (a clean, dark scene). */
let dark: RGBImage;
/** The rain photograph at 320x180, as it is. */
let bright: RGBImage;
/** The rain photograph at 320x180 made low-light by the SDK's generator (strength 1): dark and noisy. */
let lowLit: RGBImage;

const W = 320;
const H = 180;

/** Resizes (cover) and optionally darkens a photograph with ffmpeg into an RGB PNG in `dir`. */
function convert(photo: string, name: string, multiply?: number): string {
  const out = join(dir, name);
  const darken = multiply === undefined ? '' : `,lutrgb=r=val*${multiply}:g=val*${multiply}:b=val*${multiply}`;
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', photo, '-vf', `scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},format=rgb24${darken}`, '-frames:v', '1', out]);
  return out;
}

/** Mean of 8-bit samples, in [0, 1]. */
const byteMean = (data: ArrayLike<number>): number => Array.from(data).reduce((a, v) => a + v, 0) / data.length / 255;

const toTensor = (img: RGBImage): tf.Tensor4D => tf.tidy(() => tf.div(tf.cast(tf.tensor4d(Int32Array.from(img.data), [1, img.height, img.width, img.channels], 'int32'), 'float32'), 255) as tf.Tensor4D);
const meanOf = (t: tf.Tensor): number => tf.tidy(() => tf.mean(t).dataSync()[0]!);

describe('lowLight option', { skip }, () => {
  before(async () => {
    await useBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'simpleir-low-light-'));
    model = await SimpleIR.load('tiny');
    dark = await readImage(convert(PHOTO, 'dark.png', 0.35));
    bright = await readImage(convert(RAIN_PHOTO, 'bright.png'));
    const low = createDegradation('lowlight', { seed: 5, strength: 1 });
    const x = toTensor(bright);
    const y = low.apply(x) as tf.Tensor4D;
    lowLit = { width: W, height: H, channels: 3, data: Uint8Array.from(await tf.tidy(() => tf.round(tf.mul(tf.clipByValue(y, 0, 1), 255))).data()) };
    tf.dispose([x, y]);
    low.dispose();
  });
  after(async () => {
    model?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a clean dark photograph comes out unchanged with 'auto' and 'off' (> 35 dB, mean within 0.01)", async (t) => {
    await assertNoLeak(async () => {
      const x = toTensor(dark);
      const off = model.predict(x, { lowLight: 'off' });
      const auto = model.predict(x, { lowLight: 'auto' });
      const plain = model.predict(x);
      const [m, mOff, mAuto] = [meanOf(x), meanOf(off), meanOf(auto)];
      const [pOff, pAuto] = [psnr(off, x), psnr(auto, x)];
      t.diagnostic(`mean ${m.toFixed(3)}: off ${mOff.toFixed(3)} (${pOff.toFixed(1)} dB against the input), auto ${mAuto.toFixed(3)} (${pAuto.toFixed(1)} dB)`);
      for (const [name, mean, p] of [['off', mOff, pOff], ['auto', mAuto, pAuto]] as const) {
        assert.ok(Math.abs(mean - m) < 0.01, `${name}: mean ${mean.toFixed(4)} vs input ${m.toFixed(4)}`);
        assert.ok(p > 35, `${name}: ${p.toFixed(2)} dB against the input`);
      }
      assert.equal(psnr(plain, auto), Infinity, "'auto' is the default");
      tf.dispose([x, off, auto, plain]);
    });
  });

  test("a low-light frame (dark and noisy): 'auto' brightens it towards the clean photograph, 'off' keeps its exposure", async (t) => {
    await assertNoLeak(async () => {
      const x = toTensor(lowLit);
      const clean = toTensor(bright);
      const off = model.predict(x, { lowLight: 'off' });
      const auto = model.predict(x);
      const [m, mOff, mAuto] = [meanOf(x), meanOf(off), meanOf(auto)];
      const [pIn, pAuto] = [psnr(x, clean), psnr(auto, clean)];
      t.diagnostic(`mean ${m.toFixed(3)}: off ${mOff.toFixed(3)}, auto ${mAuto.toFixed(3)} (clean ${meanOf(clean).toFixed(3)}); PSNR ${pIn.toFixed(2)} -> ${pAuto.toFixed(2)} dB`);
      assert.ok(Math.abs(mOff - m) < 0.01, `off: mean ${mOff.toFixed(4)} vs input ${m.toFixed(4)}`);
      assert.ok(mAuto - m > 0.1, `auto: mean ${m.toFixed(3)} -> ${mAuto.toFixed(3)}`);
      assert.ok(pAuto > pIn + 5, `auto: ${pIn.toFixed(2)} -> ${pAuto.toFixed(2)} dB against the clean photograph`);
      tf.dispose([x, clean, off, auto]);
    });
  });

  test("rain is still removed with 'off': better than the input, and within 0.3 dB of 'auto' (bright and dark rainy photographs)", async () => {
    await assertNoLeak(async () => {
      const clean = toTensor(bright);
      const cleanDark = toTensor(dark);
      for (const [name, target] of [['bright', clean], ['dark', cleanDark]] as const) {
        const rain = createDegradation('rain', { seed: 7, strength: 1 });
        const rainy = rain.apply(target) as tf.Tensor4D;
        rain.dispose();
        const off = model.predict(rainy, { lowLight: 'off' });
        const auto = model.predict(rainy);
        const [pIn, pOff, pAuto] = [psnr(rainy, target), psnr(off, target), psnr(auto, target)];
        assert.ok(pOff > pIn + 3, `${name}: off ${pOff.toFixed(2)} dB vs rainy input ${pIn.toFixed(2)} dB`);
        assert.ok(Math.abs(pOff - pAuto) < 0.3, `${name}: off ${pOff.toFixed(2)} vs auto ${pAuto.toFixed(2)} dB`);
        tf.dispose([rainy, off, auto]);
      }
      tf.dispose([clean, cleanDark]);
    });
  });

  test("'off' works with tiling: tiled output equals untiled", async () => {
    await assertNoLeak(async () => {
      const x = toTensor(dark);
      const whole = model.predict(x, { lowLight: 'off', tileSize: 0 });
      const tiled = model.predict(x, { lowLight: 'off', tileSize: 128 });
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(whole, tiled))).dataSync()[0]!);
      assert.ok(diff < 2e-3, `max difference ${diff}`);
      tf.dispose([x, whole, tiled]);
    });
  });

  test("model.restore on bytes: 'off' keeps the mean level of a low-light image, 'auto' brightens it", async () => {
    const mean = (img: RGBImage): number => byteMean(img.data);
    const off = await model.restore(lowLit, { lowLight: 'off' });
    const auto = await model.restore(lowLit);
    assert.ok(Math.abs(mean(off) - mean(lowLit)) < 0.01, `off ${mean(off).toFixed(4)} vs ${mean(lowLit).toFixed(4)}`);
    assert.ok(mean(auto) - mean(lowLit) > 0.1, `auto ${mean(auto).toFixed(4)} vs ${mean(lowLit).toFixed(4)}`);
  });

  test('the restore operator passes lowLight to the model, and frames keep their exposure', async () => {
    const frames = (): NodeFrame[] => [0, 1].map((i) => ({ data: Uint8Array.from(lowLit.data), width: W, height: H, timestamp: i * 40_000 }));
    const before = tf.memory().numTensors;
    const off = await lastValueFrom(from(frames()).pipe(restore<NodeFrame>(model, { lowLight: 'off' }), toArray()));
    const auto = await lastValueFrom(from(frames()).pipe(restore<NodeFrame>(model), toArray()));
    assert.equal(tf.memory().numTensors, before);
    const mean = (f: NodeFrame): number => byteMean(f.data);
    const input = mean({ ...lowLit, timestamp: 0 });
    assert.equal(off.length, 2);
    for (const f of off) assert.ok(Math.abs(mean(f) - input) < 0.01, `off frame ${mean(f).toFixed(4)} vs input ${input.toFixed(4)}`);
    for (const f of auto) assert.ok(mean(f) - input > 0.1, `auto frame ${mean(f).toFixed(4)} vs input ${input.toFixed(4)}`);
  });

  test('a bad lowLight value is a typed INVALID_ARGUMENT naming the values', async () => {
    const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    try {
      for (const fn of [
        () => model.predict(x, { lowLight: 'dim' as never }),
        () => restore(model, { lowLight: false as never }),
      ]) {
        assert.throws(fn, (e: unknown) => isSimpleIRError(e) && e.code === 'INVALID_ARGUMENT' && /lowLight must be 'auto' or 'off'/.test(e.message));
      }
      await assert.rejects(model.restore(dark, { lowLight: 'none' as never }), (e: unknown) => isSimpleIRError(e) && e.code === 'INVALID_ARGUMENT' && /"none"/.test(e.message));
    } finally {
      x.dispose();
    }
  });
});

/** Runs the CLI from the repository. */
function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile('npx', ['tsx', 'scripts/simpleir.ts', ...args], { cwd: root, timeout: 240_000 }, (error, _stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
    });
  });
}

/** Mean of the 8-bit samples of a y4m file's frames, read back by ffmpeg as RGB. */
function y4mMean(path: string): number {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  return byteMean(raw);
}

describe('simpleir restore --low-light', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simpleir-low-light-cli-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('--low-light off reaches the model on a low-light rainy clip; auto brightens it; a bad value is one error line', async () => {
    const still = convert(PHOTO, 'dark-cli.png', 0.35);
    const lowLitStill = join(dir, 'low-light.png');
    const low = await cli(['degrade', convert(RAIN_PHOTO, 'bright-cli.png'), '-o', lowLitStill, '--kind', 'lowlight', '--strength', '1', '--seed', '3']);
    assert.equal(low.code, 0, low.stderr);
    const rainy = join(dir, 'dark-rain.png');
    const degrade = await cli(['degrade', lowLitStill, '-o', rainy, '--kind', 'rain', '--strength', '0', '--seed', '3']);
    assert.equal(degrade.code, 0, degrade.stderr);
    // A two-frame dark rainy clip made by ffmpeg from the rainy still.
    const clip = join(dir, 'dark-rain.y4m');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', rainy, '-vf', 'format=yuv420p', '-frames:v', '2', clip]);
    const [offOut, autoOut] = [join(dir, 'off.y4m'), join(dir, 'auto.y4m')];
    const off = await cli(['restore', clip, '-o', offOut, '--model', 'tiny', '--low-light', 'off']);
    assert.equal(off.code, 0, off.stderr);
    const auto = await cli(['restore', clip, '-o', autoOut, '--model', 'tiny']);
    assert.equal(auto.code, 0, auto.stderr);
    const [mIn, mOff, mAuto] = [y4mMean(clip), y4mMean(offOut), y4mMean(autoOut)];
    // Light rain (strength 0, the mild edge) on a low-light frame: 'off' is never brighter than the input; 'auto' brightens it.
    assert.ok(mOff < mIn + 0.01, `off: ${mOff.toFixed(4)} vs input ${mIn.toFixed(4)}`);
    assert.ok(mAuto - mOff > 0.1, `auto: ${mAuto.toFixed(4)} vs off ${mOff.toFixed(4)} (input ${mIn.toFixed(4)})`);
    const png = join(dir, 'off.png');
    const image = await cli(['restore', still, '-o', png, '--model', 'tiny', '--low-light', 'off']);
    assert.equal(image.code, 0, image.stderr);
    const [a, b] = [await readImage(still), await readImage(png)];
    const mean = (img: RGBImage): number => byteMean(img.data);
    assert.ok(Math.abs(mean(a) - mean(b)) < 0.01, `image: ${mean(b).toFixed(4)} vs ${mean(a).toFixed(4)}`);
    const bad = await cli(['restore', still, '-o', png, '--model', 'tiny', '--low-light', 'dim']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr.trim(), /^simpleir: error \[INVALID_ARGUMENT\]: --low-light must be auto or off; got "dim"/);
    assert.ok((await readFile(png)).length > 0);
  });
});
