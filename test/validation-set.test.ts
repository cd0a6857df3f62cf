/**
 * ValidationSet (Node): cases per task at the edge strengths, scores, and generators for tasks that are
 * not SDK degradation kinds (the online experiment's rain style).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ValidationSet } from '../src/training/validation-set.js';
import { createDegradation, rain } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { highPassPsnr, psnr } from '../src/core/quality.js';
import { tf, useBackend } from './helpers/tf.js';

let dir: string;
let files: string[];

before(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-val-'));
  files = [];
  for (let i = 0; i < 3; i++) {
    const data = Buffer.alloc(48 * 32 * 3);
    for (let p = 0; p < 48 * 32; p++) {
      const x = p % 48;
      const y = Math.floor(p / 48);
      data[3 * p] = (x * 5 + i * 40) % 256;
      data[3 * p + 1] = (y * 7 + i * 20) % 256;
      data[3 * p + 2] = ((x + y) * 3) % 256;
    }
    const file = join(dir, `p${i}.png`);
    await sharp(data, { raw: { width: 48, height: 32, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a task outside the SDK kinds is made by its generator, with each case’s seed and edge strength', async () => {
  const calls: { seed: number; strength: number }[] = [];
  const generators = {
    'steep-rain': (o: { seed: number; strength: number }) => {
      calls.push(o);
      return rain({ ...o, angle: 60, tint: [1, 0.5, 0.2] });
    },
  };
  const set = await ValidationSet.create({ files, tasks: ['steep-rain', 'noise'], width: 48, height: 32, generators });
  assert.deepEqual(set.tasks, ['steep-rain', 'noise']);
  assert.deepEqual(calls, [
    { seed: 9_000_000, strength: 1 },
    { seed: 9_000_001, strength: 0 },
    { seed: 9_000_002, strength: 1 },
  ]);
  const model = SimpleIR.create('tiny', { seed: 2 });
  const scores = set.evaluate(model.config, model.params, { ssim: false });
  // The degraded inputs' own PSNR is that of the generator's output: rebuild the cases by hand.
  const byHand = await Promise.all(
    files.map(async (file, i) => {
      const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const clean = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, 32, 48, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
      const d = rain({ seed: 9_000_000 + i, strength: i % 2 === 0 ? 1 : 0, angle: 60, tint: [1, 0.5, 0.2] });
      const degraded = d.apply(clean) as tf.Tensor4D;
      const p = psnr(degraded, clean);
      tf.dispose([clean, degraded]);
      d.dispose();
      return p;
    }),
  );
  assert.ok(Math.abs(scores['steep-rain']!.psnrDegraded - byHand.reduce((a, b) => a + b) / 3) < 1e-4, `${scores['steep-rain']!.psnrDegraded} vs ${byHand}`);
  assert.ok(Number.isFinite(scores['steep-rain']!.psnr) && Number.isFinite(scores.noise!.psnr));
  assert.notEqual(scores['steep-rain']!.psnrDegraded, scores.noise!.psnrDegraded);
  const plain = await ValidationSet.create({ files, tasks: ['steep-rain'], width: 48, height: 32, generators: { 'steep-rain': (o) => createDegradation('rain', o) } });
  assert.notEqual(plain.evaluate(model.config, model.params, { ssim: false })['steep-rain']!.psnrDegraded, scores['steep-rain']!.psnrDegraded, 'the override changed the degradation');
  await assert.rejects(ValidationSet.create({ files, tasks: ['steep-rain'], width: 48, height: 32 }), { code: 'INVALID_ARGUMENT' });
  for (const s of [set, plain]) s.dispose();
  model.dispose();
});

test('highPass adds the high-pass PSNR of restored and degraded frames; predict options reach the network', async () => {
  const set = await ValidationSet.create({ files, tasks: ['rain'], width: 48, height: 32, strengths: [1] });
  // The identity network: restored = degraded, so both figures are the degraded frames' own.
  const identity = SimpleIR.create('tiny');
  const same = set.evaluate(identity.config, identity.params, { ssim: false, highPass: true }).rain!;
  assert.ok(Math.abs(same.psnrHighPass! - same.psnrHighPassDegraded!) < 1e-4, `${same.psnrHighPass} vs ${same.psnrHighPassDegraded}`);
  // Rain is mostly thin streaks: by hand, the degraded frames' high-pass PSNR.
  const byHand = await Promise.all(
    files.map(async (file, i) => {
      const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const clean = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, 32, 48, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
      const d = createDegradation('rain', { seed: 9_000_000 + i, strength: 1 });
      const degraded = d.apply(clean) as tf.Tensor4D;
      const p = highPassPsnr(degraded, clean);
      tf.dispose([clean, degraded]);
      d.dispose();
      return p;
    }),
  );
  assert.ok(Math.abs(same.psnrHighPassDegraded! - byHand.reduce((a, b) => a + b) / 3) < 1e-4, `${same.psnrHighPassDegraded} vs ${byHand}`);
  assert.equal(set.evaluate(identity.config, identity.params, { ssim: false }).rain!.psnrHighPass, undefined, 'off by default');
  const random = SimpleIR.create('tiny', { init: 'random', seed: 3 });
  const auto = set.evaluate(random.config, random.params, { ssim: false, highPass: true }).rain!;
  const off = set.evaluate(random.config, random.params, { ssim: false, highPass: true, predict: { lowLight: 'off' } }).rain!;
  assert.notEqual(off.psnr, auto.psnr, "lowLight: 'off' reached predictWith");
  for (const m of [identity, random]) m.dispose();
  set.dispose();
});

test('casesOf gives a task’s cases (clean, degraded, strength) for baselines scored outside the network', async () => {
  const set = await ValidationSet.create({ files, tasks: ['lowlight'], width: 48, height: 32, strengths: [0, 1] });
  try {
    const cases = set.casesOf('lowlight');
    assert.equal(cases.length, 6);
    assert.deepEqual(cases.map((c) => c.strength).sort(), [0, 0, 0, 1, 1, 1]);
    for (const c of cases) {
      assert.deepEqual(c.clean.shape, [1, 32, 48, 3]);
      // Low light darkens: the degraded frame's mean is below the clean one's.
      assert.ok(tf.mean(c.degraded).dataSync()[0]! < tf.mean(c.clean).dataSync()[0]!);
    }
    assert.deepEqual(set.casesOf('rain'), []);
  } finally {
    set.dispose();
  }
});
