/**
 * Weight folding once per weight version (foldWeights, used by SimpleIR.predict): the output equals
 * the unfolded network's on cpu and wasm, a weight swap refolds, tensor counts stay flat over frames and
 * swaps, and a gradient tape still differentiates through the raw weights. Random `tiny` weights.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { PRESETS } from '../src/core/config.js';
import { foldedTensorCount, foldWeights, forward } from '../src/core/model/forward.js';
import { nativeOps } from '../src/core/model/ops.js';
import { predictWith, SimpleIR } from '../src/core/model/simpleir.js';
import { Random } from '../src/core/random.js';

/** A deterministic [1, h, w, 3] frame in [0, 1). */
function frame(h: number, w: number, seed: number): tf.Tensor4D {
  const rng = new Random(seed);
  return tf.tensor4d(Float32Array.from({ length: h * w * 3 }, () => rng.uniform(0, 1)), [1, h, w, 3]);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

let initialBackend = '';
before(() => {
  initialBackend = tf.getBackend();
});
after(async () => {
  if (initialBackend) await tf.setBackend(initialBackend);
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`folded weights on ${backend}`, () => {
    before(async () => {
      assert.equal((await selectBackend(backend)).name, backend);
    });

    test('predict (folded once) equals the network folding at every call, within 1e-6', () => {
      const model = SimpleIR.create('tiny', { init: 'random', seed: 3 });
      const x = frame(48, 64, 1);
      const folded = model.predict(x);
      const raw = predictWith(model.config, model.params, x);
      const d = maxDiff(folded, raw);
      // Not an identity: random weights change the frame a lot.
      assert.ok(maxDiff(folded, x) > 0.05);
      assert.ok(d <= 1e-6, `folded and unfolded outputs differ by ${d}`);
      tf.dispose([x, folded, raw]);
      model.dispose();
    });

    test('foldWeights holds every block run\'s folded convolutions, and forward reads them instead of folding', () => {
      const config = PRESETS.tiny;
      const model = SimpleIR.create(config, { init: 'random', seed: 4 });
      const fold = foldWeights(config, model.params);
      // 8 folded convolutions (weight and bias) per block run: 2 HABs and 2 FIB iterations.
      assert.equal(foldedTensorCount(config), 64);
      assert.equal(fold.params.size, model.params.size + foldedTensorCount(config));
      // Zero a folded weight: if forward reads the folds, the output changes; the raw weights are untouched.
      const broken = new Map(fold.params);
      broken.set('fib@1/ffn2.w', tf.zerosLike(fold.params.get('fib@1/ffn2.w')!));
      const x = frame(32, 32, 2);
      const y = tf.tidy(() => forward(config, nativeOps, fold.params, x));
      const yBroken = tf.tidy(() => forward(config, nativeOps, broken, x));
      assert.ok(maxDiff(y, yBroken) > 1e-3, 'forward must use the folded weights it is given');
      const before = tf.memory().numTensors;
      fold.dispose();
      assert.equal(tf.memory().numTensors, before - foldedTensorCount(config), 'dispose frees the folds only');
      assert.equal(model.params.get('hab0.pw1.w')!.isDisposed, false);
      tf.dispose([x, y, yBroken, broken.get('fib@1/ffn2.w')!]);
      model.dispose();
    });

    test('setWeights refolds: the output becomes the new weights\' output; tensor counts flat over frames and swaps', () => {
      const model = SimpleIR.create('tiny', { init: 'random', seed: 5 });
      const other = SimpleIR.create('tiny', { init: 'random', seed: 6 });
      const x = frame(32, 40, 3);
      const first = model.predict(x);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) tf.dispose(model.predict(x));
      assert.equal(tf.memory().numTensors, before, 'flat over frames');
      model.setWeights(other.getWeights());
      assert.equal(tf.memory().numTensors, before, 'flat after a weight swap');
      const swapped = model.predict(x);
      const expected = other.predict(x);
      assert.ok(maxDiff(first, swapped) > 1e-2, 'the output changes with the weights');
      assert.ok(maxDiff(swapped, expected) <= 1e-6, 'and equals the new weights\' output');
      tf.dispose([swapped, expected]);
      for (let i = 0; i < 3; i++) {
        model.setWeights(other.getWeights());
        tf.dispose(model.predict(x));
      }
      assert.equal(tf.memory().numTensors, before, 'flat over repeated swaps');
      tf.dispose([x, first]);
      model.dispose();
      other.dispose();
    });
  });
}

describe('under a gradient tape (cpu)', () => {
  before(async () => {
    assert.equal((await selectBackend('cpu')).name, 'cpu');
  });

  test('predict differentiates through the raw weights: gradients equal those of the network on the raw map', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 7 });
    const x = frame(32, 32, 4);
    const names = ['hab0.pw1.w', 'hab1.ln2.g', 'fib.alpha', 'fib.ffn2.b'];
    const ws = names.map((n) => model.params.get(n)!);
    // tf.grads reaches the weights only if predict's graph is built from these very tensors.
    const viaPredict = tf.grads(() => tf.mean(model.predict(x)))(ws);
    const viaForward = tf.grads(() => tf.mean(predictWith(model.config, model.params, x)))(ws);
    names.forEach((n, i) => {
      const g = viaPredict[i]!;
      assert.ok(tf.max(tf.abs(g)).dataSync()[0]! > 0, `gradient of ${n} is zero`);
      assert.ok(maxDiff(g, viaForward[i]!) <= 1e-6, `gradient of ${n} differs`);
    });
    tf.dispose([x, ...viaPredict, ...viaForward]);
    model.dispose();
  });
});
