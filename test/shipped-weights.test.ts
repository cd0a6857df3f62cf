/** The weights shipped in the package: they load by preset name, carry their training facts and replay memory, and restore. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { PRESETS } from '../src/core/config.js';
import { createDegradation, syntheticScene } from '../src/core/degrade/index.js';
import { psnr } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { isReplayMemoryJSON } from '../src/core/review/replay.js';

before(async () => {
  await selectBackend('wasm');
});

test("SimpleIR.load('tiny') loads the shipped weights with their training facts and a pixel replay memory", async () => {
  const model = await SimpleIR.load('tiny');
  assert.deepEqual(model.config, PRESETS.tiny);
  assert.equal(model.metadata.preset, 'tiny');
  assert.ok(Array.isArray(model.metadata.tasks) && (model.metadata.tasks as string[]).length === 4);
  assert.ok(isReplayMemoryJSON(model.metadata.memory), 'metadata.memory is a pixel replay memory');
  model.dispose();
});

test('the shipped tiny weights brighten a dark frame and do not wreck a clean one', async () => {
  const model = await SimpleIR.load('tiny');
  const clean = syntheticScene(128, 192, 5);
  const dark = createDegradation('lowlight', { seed: 11, strength: 0.5 });
  const degraded = dark.apply(clean) as tf.Tensor3D;
  const restored = await model.restore(degraded);
  const gain = psnr(restored, clean) - psnr(degraded, clean);
  const same = await model.restore(clean);
  const cleanPsnr = psnr(same, clean);
  console.log(`# low light gain ${gain.toFixed(2)} dB; clean frame through the model: ${cleanPsnr.toFixed(2)} dB`);
  assert.ok(gain > 3, `low-light gain ${gain}`);
  assert.ok(cleanPsnr > 22, `a clean frame should pass nearly unchanged: ${cleanPsnr} dB`);
  tf.dispose([clean, degraded, restored, same]);
  dark.dispose();
  model.dispose();
});
