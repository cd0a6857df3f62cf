/**
 * The ONNX Runtime engine (src/adapters/node/ort-engine.ts, onnxruntime-node on weights/<preset>.onnx)
 * against the SDK's own tfjs path (wasm) on a real photograph crop degraded by rain: the same padding,
 * network and finishing steps, so the outputs agree within 1e-3 (float32 round-off; measured ~1e-6),
 * for both presets, a size that needs padding, and `lowLight: 'off'`. Without onnxruntime-node the
 * engine says how to install it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { createDegradation } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { loadOrt, OrtEngine } from '../src/adapters/node/ort-engine.js';
import { assertNoLeak, useBackend } from './helpers/tf.js';

const root = resolve(import.meta.dirname, '..');
const PHOTO = join(root, '.cache/photos/val/mate-LadyBird.jpg');
const skip = existsSync(PHOTO) ? false : 'needs the validation photographs: run npm run fetch-photos';

let tf: Awaited<ReturnType<typeof useBackend>>;
before(async () => {
  tf = await useBackend('wasm');
});

/** A 203x150 crop of the photograph (not a multiple of the scale: the padding runs), with rain, as [1, H, W, 3] in [0, 1]. */
async function rainyCrop(): Promise<import('@tensorflow/tfjs').Tensor4D> {
  const { data, info } = await sharp(PHOTO).extract({ left: 200, top: 120, width: 203, height: 150 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rain = createDegradation('rain', { seed: 3, strength: 0.6 });
  const x = tf.tidy(() => rain.apply(tf.div(tf.tensor4d(Int32Array.from(data), [1, info.height, info.width, 3], 'int32').toFloat(), 255) as import('@tensorflow/tfjs').Tensor4D) as import('@tensorflow/tfjs').Tensor4D);
  rain.dispose();
  return x;
}

for (const preset of ['tiny', 'base'] as const) {
  test(`${preset}: onnxruntime-node equals the SDK's tfjs output within 1e-3 on a rainy photo crop (and with lowLight: 'off')`, { skip }, async () => {
    const x = await rainyCrop();
    const model = await SimpleIR.load(preset);
    const engine = await OrtEngine.load(preset, { threads: 1 });
    try {
      for (const lowLight of ['auto', 'off'] as const) {
        await assertNoLeak(async () => {
          const expected = model.predict(x, { lowLight });
          const got = await engine.predict(x, { lowLight });
          assert.deepEqual(got.shape, x.shape);
          const [diff, moved] = tf.tidy(() => [tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]!, tf.mean(tf.abs(tf.sub(expected, x))).dataSync()[0]!]);
          console.log(`# ${preset} lowLight ${lowLight}: max |ort - tfjs| = ${diff!.toExponential(2)}; the network changes the input by ${moved!.toFixed(4)} on average`);
          assert.ok(moved! > 2e-3, 'the crop exercises a network that changes its input');
          assert.ok(diff! <= 1e-3, `max difference ${diff}`);
          tf.dispose([expected, got]);
        });
      }
    } finally {
      x.dispose();
      model.dispose();
      await engine.dispose();
    }
  });
}

test("a frame that needs no padding (128x96 of tiny) stays the caller's, and the output matches", async () => {
  const x = tf.randomUniform([1, 96, 128, 3], 0, 1, 'float32', 5) as import('@tensorflow/tfjs').Tensor4D;
  const model = await SimpleIR.load('tiny');
  const engine = await OrtEngine.load('tiny', { threads: 1 });
  try {
    await assertNoLeak(async () => {
      const got = await engine.predict(x);
      assert.equal(x.isDisposed, false, 'x is not disposed by the engine');
      const expected = model.predict(x);
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]!) <= 1e-3);
      tf.dispose([got, expected]);
    });
  } finally {
    x.dispose();
    model.dispose();
    await engine.dispose();
  }
});

test('without onnxruntime-node: BACKEND_UNAVAILABLE saying how to install it', async () => {
  const missing = Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' });
  await assert.rejects(
    OrtEngine.load('tiny', { importer: () => Promise.reject(missing) }),
    (e: { code?: string; message?: string }) => e.code === 'BACKEND_UNAVAILABLE' && /not installed.*ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1\.31\.1/.test(e.message ?? ''),
  );
  const ort = await loadOrt();
  assert.equal(typeof ort.InferenceSession.create, 'function');
});
