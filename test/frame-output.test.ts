/**
 * The output check shared by the built-in converters' CPU paths (`outputPixels` in src/streams/frames.ts):
 * float RGB to 8-bit pixels, rounded and clamped, alpha from a plane or a constant, and `NON_FINITE`
 * for NaN or infinity; the Node converter goes through it (the browser's CPU path is tested in
 * test/browser/reliability.test.ts).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { isSimpleIRError } from '../src/core/errors.js';
import { nodeFrameConverter, outputPixels } from '../src/streams/frames.js';
import { tf, useBackend } from './helpers/tf.js';

before(async () => {
  await useBackend('wasm');
});

/** Two pixels: in-range values, a half-way value (rounds half to even), and values outside [0, 1]. */
const VALUES = new Float32Array([0, 0.5, 1, -0.25, 1.5, 3 / 255 + 0.4 / 255]);

test('outputPixels: rounds, clamps and lays out RGB, RGB + alpha plane, RGB + constant alpha', () => {
  assert.deepEqual([...outputPixels(VALUES, 3, undefined, 0)], [0, 128, 255, 0, 255, 3]);
  assert.deepEqual([...outputPixels(VALUES, 4, new Uint8Array([7, 200]), 0)], [0, 128, 255, 7, 0, 255, 3, 200]);
  assert.deepEqual([...outputPixels(VALUES, 4, 255, 0)], [0, 128, 255, 255, 0, 255, 3, 255]);
});

for (const bad of [NaN, Infinity, -Infinity]) {
  test(`outputPixels: ${bad} anywhere is NON_FINITE naming the frame's timestamp`, () => {
    for (let at = 0; at < VALUES.length; at++) {
      const v = VALUES.slice();
      v[at] = bad;
      assert.throws(
        () => outputPixels(v, 4, 255, 40_000),
        (e: unknown) => isSimpleIRError(e, 'NON_FINITE') && e.details.timestamp === 40_000 && /40000 µs/.test(e.message),
        `value ${at}`,
      );
    }
  });
}

test('the Node converter: a NaN output is NON_FINITE; a finite one keeps the alpha plane; no tensor left', async () => {
  const before = tf.memory().numTensors;
  const frame = { data: new Uint8Array([10, 20, 30, 77, 40, 50, 60, 99]), width: 2, height: 1, channels: 4 as const, timestamp: 5 };
  const { x, info } = await nodeFrameConverter.toTensor(frame);
  const nan = tf.tidy(() => tf.div(tf.sub(x, x), tf.sub(x, x)) as tf.Tensor4D);
  await assert.rejects(async () => nodeFrameConverter.fromTensor(nan, info), (e: unknown) => isSimpleIRError(e, 'NON_FINITE') && e.details.timestamp === 5);
  const out = await nodeFrameConverter.fromTensor(x, info);
  assert.deepEqual([...out.data], [...frame.data]);
  tf.dispose([x, nan]);
  assert.equal(tf.memory().numTensors, before);
});
