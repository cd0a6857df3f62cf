/**
 * `restoreFrameWith` (the model worker's per-frame path) with both kinds of `FramePredictor`: a
 * synchronous `predict` (a `SimpleIR`) and one that returns a promise (an engine that runs elsewhere,
 * as `OrtEngine` does). Both give the frame the model computed, close the input once, and leave no
 * tensor behind; a predictor that rejects closes the input and leaves no tensor either.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { SimpleIRError } from '../src/core/errors.js';
import { nodeFrameConverter, type NodeFrame } from '../src/streams/frames.js';
import { restoreFrameWith, type FramePredictor } from '../src/streams/restore.js';
import { makeFrame, type SourceStats } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

before(async () => {
  await useBackend('cpu');
});

const newStats = (): SourceStats => ({ emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] });

/** The model of these tests: every value v becomes 1 - v (so a byte b becomes 255 - b). */
const invert = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sub(1, x) as tf.Tensor4D);

const predictors: [string, FramePredictor][] = [
  ['synchronous predict', { predict: (x) => invert(x) }],
  ['predict that returns a promise', { predict: async (x) => { await new Promise((r) => setTimeout(r, 5)); return invert(x); } }],
];

for (const [name, model] of predictors) {
  test(`restoreFrameWith, ${name}: the model's output as a frame, input closed once, no tensor left`, async () => {
    const stats = newStats();
    const frame = makeFrame(3, 16, 8, stats);
    const want = Array.from(frame.data, (v) => 255 - v);
    const before = tf.memory().numTensors;
    const out = (await restoreFrameWith(model, nodeFrameConverter, frame)) as NodeFrame;
    assert.equal(tf.memory().numTensors, before);
    assert.equal(stats.closed, 1);
    assert.equal(stats.doubleClosed, 0);
    assert.equal(out.width, 16);
    assert.equal(out.height, 8);
    assert.equal(out.timestamp, frame.timestamp);
    assert.deepEqual(Array.from(out.data), want);
  });
}

test('restoreFrameWith: a predictor that rejects closes the input and leaves no tensor', async () => {
  const stats = newStats();
  const frame = makeFrame(1, 16, 8, stats);
  const before = tf.memory().numTensors;
  const failing: FramePredictor = { predict: () => Promise.reject(new SimpleIRError('NON_FINITE', 'test: the engine failed')) };
  await assert.rejects(restoreFrameWith(failing, nodeFrameConverter, frame), (e: unknown) => e instanceof SimpleIRError && e.code === 'NON_FINITE');
  assert.equal(tf.memory().numTensors, before);
  assert.equal(stats.closed, 1);
  assert.equal(stats.doubleClosed, 0);
});
