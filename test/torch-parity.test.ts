/**
 * The shipped weights were trained by the PyTorch mirror of the network (scripts/gpu/simpleir_torch.py)
 * on a borrowed GPU. This checks that the TypeScript network computes what the mirror computed: for each
 * preset in test/fixtures/torch-parity.json, the shipped file has the checksum the fixture was made with,
 * and the fixture's input through the network of SimpleIR.load(preset) (`forward`, without the frame
 * padding `predict` adds: the 32x48 fixture is below the 64-pixel least side) matches the PyTorch
 * output (float16-rounded weights on both sides). A wrong weight layout, channel order or layer would fail by far more than the
 * tolerance.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { forward } from '../src/core/model/forward.js';
import { nativeOps } from '../src/core/model/ops.js';
import { isPresetName } from '../src/core/config.js';

interface Encoded { shape: number[]; data: string }
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/torch-parity.json', import.meta.url), 'utf8')) as Record<string, { checksum: string; input: Encoded; output: Encoded }>;

function tensor(e: Encoded): tf.Tensor4D {
  const bytes = Buffer.from(e.data, 'base64');
  return tf.tensor4d(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), e.shape as [number, number, number, number]);
}

before(async () => {
  await selectBackend('cpu');
});

test('the parity fixture covers both shipped presets', () => {
  assert.deepEqual(Object.keys(fixtures).sort(), ['base', 'tiny']);
});

for (const [preset, fixture] of Object.entries(fixtures)) {
  test(`${preset}: the TypeScript network reproduces the PyTorch mirror's output on the shipped weights`, async () => {
    assert.ok(isPresetName(preset));
    const manifest = JSON.parse(readFileSync(new URL(`../weights/${preset}.json`, import.meta.url), 'utf8')) as { checksum: string };
    assert.equal(manifest.checksum, fixture.checksum, 'the shipped weights are the ones the fixture was made with (re-run import-torch-weights --parity after retraining)');
    const model = await SimpleIR.load(preset);
    const x = tensor(fixture.input);
    const expected = tensor(fixture.output);
    const y = tf.tidy(() => forward(model.config, nativeOps, model.params, x));
    const diff = tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]!;
    const moved = tf.mean(tf.abs(tf.sub(expected, x))).dataSync()[0]!;
    console.log(`# ${preset}: max |ts - torch| = ${diff.toExponential(2)}; the network changes the input by ${moved.toFixed(4)} on average`);
    assert.ok(moved > 1e-3, 'the fixture exercises a network that changes its input');
    assert.ok(diff < 1e-3, `max difference ${diff}`);
    tf.dispose([x, expected, y]);
    model.dispose();
  });
}
