/**
 * Tests of the SimpleIR network: shapes, identity start, config validation, parameter and FLOP counts
 * checked against the built graph, restore() on bytes and tensors, errors, tensor hygiene, weight swaps
 * and backend selection. Runs on wasm with the `tiny` preset and small inputs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { flopsPerPixel, paramCount, paramSpecs, PRESETS, type SimpleIRConfig } from '../src/core/config.js';
import { isSimpleIRError, type SimpleIRErrorCode } from '../src/core/errors.js';
import { rgbaToRgb, type RGBImage } from '../src/core/image.js';
import { readImage } from '../src/adapters/node/image-file.js';
import { Random } from '../src/core/random.js';
import { foldedTensorCount, forward } from '../src/core/model/forward.js';
import { nativeOps } from '../src/core/model/ops.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { countingOps, isSpatial1x1 } from './helpers/flops.js';

before(async () => {
  const info = await selectBackend('wasm');
  assert.equal(info.name, 'wasm');
});

/** Custom configs beside the presets. */
const CUSTOM: Record<string, SimpleIRConfig> = {
  'no blocks': { width: 8, scale: 4, blocks: 0, iterations: 2, detailWidth: 4 },
  'no iterations': { width: 8, scale: 4, blocks: 2, iterations: 0, detailWidth: 4 },
  'bare (no blocks, no iterations)': { width: 8, scale: 4, blocks: 0, iterations: 0, detailWidth: 2 },
  'scale 2': { width: 12, scale: 2, blocks: 1, iterations: 1, detailWidth: 3 },
  'scale 1': { width: 6, scale: 1, blocks: 1, iterations: 1, detailWidth: 2 },
  'scale 8, wide detail': { width: 10, scale: 8, blocks: 1, iterations: 3, detailWidth: 6 },
};

/** Deterministic uniform [0, 1) values. */
function randomValues(n: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next();
  return v;
}

function randomInput(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tensor4d(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(0, 256);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'arrays of different lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** An assert.throws/rejects matcher for a SimpleIRError with `code` whose message matches `pattern`. */
function hasCode(code: SimpleIRErrorCode, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSimpleIRError(e), `expected a SimpleIRError, got ${String(e)}`);
    assert.equal(e.code, code, `wrong code; message: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

/** Runs the model on `x` and returns the output values (no tensors left behind). */
function predictValues(model: SimpleIR, x: tf.Tensor4D): Float32Array {
  const y = model.predict(x);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

describe('output shapes', () => {
  const cases: [number, number, number][] = [
    [1, 37, 53],
    [1, 64, 64],
    [2, 37, 53],
    [2, 21, 18],
    [1, 4, 4],
    [1, 5, 7],
  ];
  for (const preset of ['tiny', 'base'] as const) {
    test(`${preset}: output shape equals input shape for odd sizes and batches`, () => {
      const model = SimpleIR.create(preset, { init: 'random', seed: 3 });
      try {
        for (const [b, h, w] of preset === 'base' ? cases.slice(0, 3) : cases) {
          const x = randomInput([b, h, w, 3], h * w);
          const y = model.predict(x);
          assert.deepEqual(y.shape, [b, h, w, 3], `input [${b}, ${h}, ${w}, 3]`);
          assert.equal(y.dtype, 'float32');
          const v = y.dataSync();
          assert.ok(v.every((t) => t >= 0 && t <= 1), 'output clipped to [0, 1]');
          x.dispose();
          y.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }
  for (const [name, config] of Object.entries(CUSTOM)) {
    test(`custom config "${name}": output shape equals input shape`, () => {
      const model = SimpleIR.create(config, { init: 'random', seed: 5 });
      try {
        for (const [b, h, w] of [[1, 19, 26], [2, 16, 16]] as const) {
          const x = randomInput([b, h, w, 3], 11);
          const y = model.predict(x);
          assert.deepEqual(y.shape, [b, h, w, 3]);
          x.dispose();
          y.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }

  test('batch items are processed independently (each equals its own single-image run)', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 9 });
    const a = randomInput([1, 21, 18, 3], 1);
    const b = randomInput([1, 21, 18, 3], 2);
    const ab = tf.concat([a, b], 0);
    const yab = model.predict(ab);
    const [ya, yb] = tf.split(yab, 2, 0);
    assert.ok(maxAbsDiff(ya!.dataSync(), predictValues(model, a)) < 1e-5);
    assert.ok(maxAbsDiff(yb!.dataSync(), predictValues(model, b)) < 1e-5);
    tf.dispose([a, b, ab, yab, ya!, yb!]);
    model.dispose();
  });
});

describe('initialisation', () => {
  for (const config of [PRESETS.tiny, PRESETS.base, CUSTOM['scale 2']!, CUSTOM['bare (no blocks, no iterations)']!]) {
    test(`identity init is the identity (${JSON.stringify(config)})`, () => {
      const model = SimpleIR.create(config);
      const x = randomInput([2, 29, 35, 3], 7);
      const diff = maxAbsDiff(predictValues(model, x), x.dataSync());
      assert.ok(diff <= 1e-6, `identity model changed the input by ${diff}`);
      x.dispose();
      model.dispose();
    });
  }

  test('random init is not the identity, and is deterministic per seed', () => {
    const x = randomInput([1, 32, 40, 3], 8);
    const m1 = SimpleIR.create('tiny', { init: 'random', seed: 4 });
    const m2 = SimpleIR.create('tiny', { init: 'random', seed: 4 });
    const m3 = SimpleIR.create('tiny', { init: 'random', seed: 5 });
    const y1 = predictValues(m1, x);
    assert.ok(maxAbsDiff(y1, x.dataSync()) > 0.05, 'random model should change the input');
    assert.equal(maxAbsDiff(y1, predictValues(m2, x)), 0, 'same seed, same output');
    assert.ok(maxAbsDiff(y1, predictValues(m3, x)) > 1e-3, 'another seed, another output');
    x.dispose();
    [m1, m2, m3].forEach((m) => m.dispose());
  });

  test('default create() is identity-initialised (init omitted)', () => {
    const model = SimpleIR.create('tiny');
    const w = model.getWeights();
    for (const name of ['tail.w', 'tail.b', 'ldam.out.w', 'ldam.out.b', 'hab0.beta', 'hab0.gamma']) {
      assert.ok(w.get(name)!.every((v) => v === 0), `${name} starts at zero`);
    }
    model.dispose();
  });
});

describe('config validation', () => {
  const bad: [string, unknown][] = [
    ['non-integer width', { ...PRESETS.tiny, width: 16.5 }],
    ['zero width', { ...PRESETS.tiny, width: 0 }],
    ['odd width', { ...PRESETS.tiny, width: 15 }],
    ['unknown field', { ...PRESETS.tiny, depth: 3 }],
    ['negative iterations', { ...PRESETS.tiny, iterations: -1 }],
    ['negative blocks', { ...PRESETS.tiny, blocks: -2 }],
    ['string scale', { ...PRESETS.tiny, scale: '4' }],
    ['missing detailWidth', { width: 16, scale: 4, blocks: 2, iterations: 2 }],
    ['zero scale', { ...PRESETS.tiny, scale: 0 }],
    ['NaN width', { ...PRESETS.tiny, width: NaN }],
    ['null', null],
  ];
  for (const [what, config] of bad) {
    test(`create() rejects ${what} with INVALID_CONFIG`, () => {
      assert.throws(() => SimpleIR.create(config as SimpleIRConfig), hasCode('INVALID_CONFIG'));
    });
  }
  test('the message names the offending field', () => {
    assert.throws(() => SimpleIR.create({ ...PRESETS.tiny, width: 15 }), hasCode('INVALID_CONFIG', /width/));
    assert.throws(() => SimpleIR.create({ ...PRESETS.tiny, iterations: -1 }), hasCode('INVALID_CONFIG', /iterations/));
    assert.throws(() => SimpleIR.create({ ...PRESETS.tiny, depth: 3 } as SimpleIRConfig), hasCode('INVALID_CONFIG', /depth/));
  });
  test('create() rejects an unknown preset with INVALID_CONFIG', () => {
    assert.throws(() => SimpleIR.create('huge' as 'tiny'), hasCode('INVALID_CONFIG', /huge/));
  });
  test('create() leaves no tensors behind when it rejects', () => {
    const before = tf.memory().numTensors;
    assert.throws(() => SimpleIR.create({ ...PRESETS.tiny, width: 3 }));
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('parameter count', () => {
  const configs: [string, SimpleIRConfig][] = [['tiny', PRESETS.tiny], ['base', PRESETS.base], ...Object.entries(CUSTOM)];
  for (const [name, config] of configs) {
    test(`paramCount equals the sizes of the model's weight tensors (${name})`, () => {
      const model = SimpleIR.create(config);
      let total = 0;
      for (const t of model.params.values()) total += t.size;
      assert.equal(paramCount(config), total);
      assert.equal(model.paramCount, total);
      // The model holds exactly the specified tensors, with the specified shapes.
      const specs = paramSpecs(config);
      assert.deepEqual([...model.params.keys()].sort(), specs.map((s) => s.name).sort());
      for (const s of specs) assert.deepEqual(model.params.get(s.name)!.shape, [...s.shape], s.name);
      model.dispose();
    });
  }
  test('no iterations means no shared FIB weights; blocks add weights linearly', () => {
    const a = paramCount({ ...PRESETS.tiny, iterations: 0 });
    const b = paramCount({ ...PRESETS.tiny, iterations: 1 });
    const c = paramCount({ ...PRESETS.tiny, iterations: 5 });
    assert.ok(b > a);
    assert.equal(c - b, 4 * PRESETS.tiny.width, 'more iterations add only the alpha rows');
    const n1 = paramCount({ ...PRESETS.tiny, blocks: 1 });
    const n2 = paramCount({ ...PRESETS.tiny, blocks: 2 });
    const n3 = paramCount({ ...PRESETS.tiny, blocks: 3 });
    assert.equal(n3 - n2, n2 - n1);
  });
  test('orders of magnitude match the design (tiny ~22k, base ~72-75k parameters; base ~10k FLOPs/px)', () => {
    assert.ok(paramCount(PRESETS.tiny) > 15_000 && paramCount(PRESETS.tiny) < 30_000, `tiny ${paramCount(PRESETS.tiny)}`);
    assert.ok(paramCount(PRESETS.base) > 60_000 && paramCount(PRESETS.base) < 90_000, `base ${paramCount(PRESETS.base)}`);
    assert.ok(flopsPerPixel(PRESETS.base) > 8_000 && flopsPerPixel(PRESETS.base) < 13_000, `base ${flopsPerPixel(PRESETS.base)}`);
  });
});

describe('FLOPs per pixel against the built graph', () => {
  const configs: [string, SimpleIRConfig][] = [
    ['tiny', PRESETS.tiny],
    ['base', PRESETS.base],
    ['custom scale 2', CUSTOM['scale 2']!],
    ['custom no blocks', CUSTOM['no blocks']!],
    ['custom scale 8', CUSTOM['scale 8, wide detail']!],
  ];
  for (const [name, config] of configs) {
    test(`flopsPerPixel matches the conv FLOPs of forward() on 64x96 (${name})`, () => {
      const model = SimpleIR.create(config, { init: 'random', seed: 2 });
      const [h, w] = [64, 96];
      const x = randomInput([1, h, w, 3], 3);
      const counter = countingOps(nativeOps);
      tf.tidy(() => {
        forward(config, counter, model.params, x);
      });
      const measured = counter.total({ excludeSpatial1x1: true }) / (h * w);
      const expected = flopsPerPixel(config);
      assert.ok(Math.abs(measured - expected) <= 0.01 * expected, `graph ${measured} FLOPs/px, flopsPerPixel ${expected}`);
      // The excluded calls are the per-frame channel attention: one c -> c 1x1 conv per HAB application.
      const pooled = counter.calls.filter(isSpatial1x1);
      assert.equal(pooled.length, config.blocks + config.iterations, 'one pooled channel-attention conv per block application');
      for (const c of pooled) assert.deepEqual(c.filter, [1, 1, config.width, config.width]);
      // Every call at least one output position, and depthwise calls counted.
      const dw = counter.calls.filter((c) => c.kind === 'dwconv');
      assert.equal(dw.length, 2 * (config.blocks + config.iterations) + 1, 'two depthwise convs per block application (one per half of its gate) plus the LDAM one');
      x.dispose();
      model.dispose();
    });
  }
  test('the counter scales with batch size (FLOPs are per output position)', () => {
    const model = SimpleIR.create('tiny');
    const counter = countingOps(nativeOps);
    const x = randomInput([2, 32, 48, 3], 3);
    tf.tidy(() => {
      forward(PRESETS.tiny, counter, model.params, x);
    });
    assert.ok(Math.abs(counter.total({ excludeSpatial1x1: true }) / (2 * 32 * 48) - flopsPerPixel(PRESETS.tiny)) < 1e-6 * flopsPerPixel(PRESETS.tiny));
    x.dispose();
    model.dispose();
  });
});

describe('restore()', () => {
  test('RGB bytes in, RGB bytes out, equal to predict() rounded', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 6 });
    const [w, h] = [45, 31];
    const img: RGBImage = { data: randomBytes(w * h * 3, 1), width: w, height: h, channels: 3 };
    const out = await model.restore(img);
    assert.equal(out.width, w);
    assert.equal(out.height, h);
    assert.equal(out.channels, 3);
    assert.equal(out.data.length, w * h * 3);
    const x = tf.tidy(() => tf.tensor4d(Float32Array.from(img.data, (v) => v / 255), [1, h, w, 3]));
    const ref = predictValues(model, x).map((v) => Math.round(v * 255));
    assert.ok(maxAbsDiff(out.data, ref) <= 1, 'bytes equal predict() output x 255');
    assert.ok(maxAbsDiff(out.data, img.data) > 0, 'random model changes the image');
    x.dispose();
    model.dispose();
  });

  test('identity model restores bytes exactly', async () => {
    const model = SimpleIR.create('tiny');
    const img: RGBImage = { data: randomBytes(17 * 13 * 3, 2), width: 17, height: 13, channels: 3 };
    const out = await model.restore(img);
    assert.deepEqual([...out.data], [...img.data]);
    model.dispose();
  });

  test('RGBA: colour restored like RGB, alpha passed through unchanged', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 6 });
    const [w, h] = [23, 19];
    const rgba = randomBytes(w * h * 4, 3);
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = rgba[i * 4 + c]!;
    const outA = await model.restore({ data: rgba, width: w, height: h, channels: 4 });
    const outB = await model.restore({ data: rgb, width: w, height: h, channels: 3 });
    assert.equal(outA.channels, 4);
    assert.equal(outA.data.length, w * h * 4);
    for (let i = 0; i < w * h; i++) {
      assert.equal(outA.data[i * 4 + 3], rgba[i * 4 + 3], `alpha at pixel ${i}`);
      for (let c = 0; c < 3; c++) assert.equal(outA.data[i * 4 + c], outB.data[i * 3 + c], `colour at pixel ${i}`);
    }
    model.dispose();
  });

  test('accepts a Uint8ClampedArray', async () => {
    const model = SimpleIR.create('tiny');
    const data = Uint8ClampedArray.from(randomBytes(8 * 8 * 4, 4));
    const out = await model.restore({ data, width: 8, height: 8, channels: 4 });
    assert.deepEqual([...out.data], [...data]);
    model.dispose();
  });

  test('Tensor3D float32 in, float32 out; the caller owns the output; the input is untouched', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 6 });
    const x = tf.tensor3d(randomValues(27 * 33 * 3, 5), [27, 33, 3]);
    const before = tf.memory().numTensors;
    const y = await model.restore(x);
    assert.equal(tf.memory().numTensors, before + 1, 'exactly one new tensor: the output');
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(y.shape, [27, 33, 3]);
    assert.equal(x.isDisposed, false);
    const x4 = x.expandDims(0) as tf.Tensor4D;
    assert.ok(maxAbsDiff(y.dataSync(), predictValues(model, x4)) < 1e-6);
    // The output survives later calls: the model keeps no reference to it.
    const y2 = await model.restore(x);
    assert.equal(y.isDisposed, false);
    assert.ok(maxAbsDiff(y.dataSync(), y2.dataSync()) === 0);
    tf.dispose([x, x4, y, y2]);
    model.dispose();
  });

  test('Tensor3D int32 in [0, 255], int32 out', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 6 });
    const bytes = randomBytes(20 * 24 * 3, 6);
    const x = tf.tensor3d(Int32Array.from(bytes), [20, 24, 3], 'int32');
    const y = await model.restore(x);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(y.shape, [20, 24, 3]);
    const out = await model.restore({ data: bytes, width: 24, height: 20, channels: 3 });
    assert.deepEqual([...y.dataSync()], [...out.data], 'int32 tensor path equals the byte path');
    const v = y.dataSync();
    assert.ok(v.every((t) => Number.isInteger(t) && t >= 0 && t <= 255));
    tf.dispose([x, y]);
    model.dispose();
  });

  describe('rejects bad images with INVALID_IMAGE', () => {
    let model: SimpleIR;
    before(() => {
      model = SimpleIR.create('tiny');
    });
    const cases: [string, unknown][] = [
      ['data too short', { data: new Uint8Array(10 * 10 * 3 - 1), width: 10, height: 10, channels: 3 }],
      ['data too long', { data: new Uint8Array(10 * 10 * 4 + 4), width: 10, height: 10, channels: 4 }],
      ['RGB data declared RGBA', { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10, channels: 4 }],
      ['too small (2x2)', { data: new Uint8Array(2 * 2 * 3), width: 2, height: 2, channels: 3 }],
      ['too narrow (3x40)', { data: new Uint8Array(3 * 40 * 3), width: 3, height: 40, channels: 3 }],
      ['two channels', { data: new Uint8Array(10 * 10 * 2), width: 10, height: 10, channels: 2 }],
      ['one channel', { data: new Uint8Array(10 * 10), width: 10, height: 10, channels: 1 }],
      ['zero width', { data: new Uint8Array(0), width: 0, height: 10, channels: 3 }],
      ['non-integer height', { data: new Uint8Array(132), width: 8, height: 5.5, channels: 3 }],
      ['float data', { data: new Float32Array(10 * 10 * 3), width: 10, height: 10, channels: 3 }],
    ];
    for (const [what, img] of cases) {
      test(what, async () => {
        const before = tf.memory().numTensors;
        await assert.rejects(model.restore(img as RGBImage), hasCode('INVALID_IMAGE'));
        assert.equal(tf.memory().numTensors, before);
      });
    }
    test('tensor with 4 channels', async () => {
      const x = tf.zeros([8, 8, 4]) as tf.Tensor3D;
      await assert.rejects(model.restore(x), hasCode('INVALID_IMAGE', /3/));
      x.dispose();
    });
    test('tensor of rank 2', async () => {
      const x = tf.zeros([8, 8]) as unknown as tf.Tensor3D;
      await assert.rejects(model.restore(x), hasCode('INVALID_IMAGE'));
      x.dispose();
    });
    test('tensor too small (2x2)', async () => {
      const x = tf.zeros([2, 2, 3]) as tf.Tensor3D;
      await assert.rejects(model.restore(x), hasCode('INVALID_IMAGE', /small/));
      x.dispose();
    });
    test('messages say what is wrong', async () => {
      await assert.rejects(model.restore({ data: new Uint8Array(7), width: 10, height: 10, channels: 3 }), hasCode('INVALID_IMAGE', /7 bytes|300/));
      await assert.rejects(model.restore({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 }), hasCode('INVALID_IMAGE', /small|at least/));
      await assert.rejects(model.restore({ data: new Uint8Array(200), width: 10, height: 10, channels: 2 as 3 }), hasCode('INVALID_IMAGE', /channels/));
    });
  });

  test('an aborted signal rejects with ABORTED before any work', async () => {
    const model = SimpleIR.create('tiny');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(model.restore({ data: new Uint8Array(8 * 8 * 3), width: 8, height: 8, channels: 3 }, { signal: ac.signal }), hasCode('ABORTED'));
    model.dispose();
  });
});

describe('dispose', () => {
  test('a disposed model throws DISPOSED from every entry point and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const model = SimpleIR.create('tiny');
    // The weights, and their folds (computed once per weight version).
    assert.equal(tf.memory().numTensors, before + paramSpecs(PRESETS.tiny).length + foldedTensorCount(PRESETS.tiny));
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'dispose frees every weight tensor');
    assert.equal(model.isDisposed, true);
    model.dispose(); // idempotent
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    await assert.rejects(model.restore({ data: new Uint8Array(8 * 8 * 3), width: 8, height: 8, channels: 3 }), hasCode('DISPOSED'));
    const x3 = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    await assert.rejects(model.restore(x3), hasCode('DISPOSED'));
    x3.dispose();
    assert.throws(() => model.predict(x), hasCode('DISPOSED'));
    assert.throws(() => model.getWeights(), hasCode('DISPOSED'));
    assert.throws(() => model.params, hasCode('DISPOSED'));
    assert.throws(() => model.setWeights(new Map()), hasCode('DISPOSED'));
    assert.throws(() => model.toWeightFiles(), hasCode('DISPOSED'));
    assert.throws(() => model.toPackedWeights(), hasCode('DISPOSED'));
    x.dispose();
  });
});

describe('tensor hygiene', () => {
  test('restore() and predict() leave the tensor count unchanged', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 1 });
    const img: RGBImage = { data: randomBytes(30 * 22 * 4, 9), width: 30, height: 22, channels: 4 };
    const x = randomInput([2, 22, 30, 3], 9);
    const x3 = tf.tensor3d(randomValues(22 * 30 * 3, 2), [22, 30, 3]);
    const xi = tf.tensor3d(Int32Array.from(randomBytes(22 * 30 * 3, 3)), [22, 30, 3], 'int32');
    // Warm up once (backends may allocate persistent state on first use).
    (await model.restore(x3)).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      await model.restore(img);
      await model.restore({ ...img, channels: 3, data: img.data.subarray(0, 30 * 22 * 3) });
      model.predict(x).dispose();
      model.predict(x, { tileSize: 0 }).dispose();
      (await model.restore(x3)).dispose();
      (await model.restore(xi)).dispose();
      assert.equal(tf.memory().numTensors, before, `after round ${i}`);
    }
    tf.dispose([x, x3, xi]);
    model.dispose();
  });
});

describe('setWeights', () => {
  test('swaps weights: the output becomes the new weights\' output', () => {
    const a = SimpleIR.create('tiny', { init: 'random', seed: 1 });
    const b = SimpleIR.create('tiny', { init: 'random', seed: 2 });
    const x = randomInput([1, 24, 28, 3], 1);
    const ya = predictValues(a, x);
    const yb = predictValues(b, x);
    assert.ok(maxAbsDiff(ya, yb) > 1e-3);
    const before = tf.memory().numTensors;
    a.setWeights(b.getWeights());
    assert.equal(tf.memory().numTensors, before, 'old weights freed, same count');
    assert.equal(maxAbsDiff(predictValues(a, x), yb), 0);
    const wa = a.getWeights();
    for (const [name, v] of b.getWeights()) assert.deepEqual(wa.get(name), v, name);
    x.dispose();
    a.dispose();
    b.dispose();
  });

  test('accepts tensors and copies them (the caller may dispose its tensors)', () => {
    const a = SimpleIR.create('tiny');
    const b = SimpleIR.create('tiny', { init: 'random', seed: 2 });
    const x = randomInput([1, 16, 16, 3], 2);
    const yb = predictValues(b, x);
    const tensors = new Map<string, tf.Tensor>();
    for (const [name, v] of b.getWeights()) tensors.set(name, tf.tensor1d(v)); // flat: reshaped by setWeights
    a.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
    b.dispose();
    assert.equal(maxAbsDiff(predictValues(a, x), yb), 0);
    for (const s of paramSpecs(PRESETS.tiny)) assert.deepEqual(a.params.get(s.name)!.shape, [...s.shape]);
    x.dispose();
    a.dispose();
  });

  test('rejects wrong sizes and missing tensors with WEIGHTS_MISMATCH and leaves the model unchanged', () => {
    const a = SimpleIR.create('tiny', { init: 'random', seed: 1 });
    const x = randomInput([1, 16, 20, 3], 3);
    const y0 = predictValues(a, x);
    const donor = SimpleIR.create('tiny', { init: 'random', seed: 7 });
    const good = donor.getWeights();
    donor.dispose();
    const baseModel = SimpleIR.create('base');
    const otherConfig = baseModel.getWeights();
    baseModel.dispose();
    const before = tf.memory().numTensors;

    const wrongSize = new Map(good);
    wrongSize.set('ldam.out.w', new Float32Array(good.get('ldam.out.w')!.length + 1));
    assert.throws(() => a.setWeights(wrongSize), hasCode('WEIGHTS_MISMATCH', /ldam\.out\.w/));

    const missing = new Map(good);
    missing.delete('hab1.ffn2.b');
    assert.throws(() => a.setWeights(missing), hasCode('WEIGHTS_MISMATCH', /hab1\.ffn2\.b/));

    const wrongTensor = new Map<string, Float32Array | tf.Tensor>(good);
    const t = tf.zeros([3]);
    wrongTensor.set('head.b', t);
    assert.throws(() => a.setWeights(wrongTensor), hasCode('WEIGHTS_MISMATCH', /head\.b/));
    t.dispose();

    assert.throws(() => a.setWeights(otherConfig), hasCode('WEIGHTS_MISMATCH'));

    assert.equal(tf.memory().numTensors, before, 'a rejected setWeights allocates nothing');
    assert.equal(maxAbsDiff(predictValues(a, x), y0), 0, 'model unchanged after rejected swaps');
    x.dispose();
    a.dispose();
  });
});

describe('weight ownership (getWeights copies, setWeights copies, nothing leaks)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    test(`getWeights() returns copies: mutating them leaves the model unchanged (${backend})`, async () => {
      await selectBackend(backend);
      try {
        const model = SimpleIR.create('tiny', { init: 'random', seed: 1 });
        const w = model.getWeights();
        const original = w.get('head.b')![0]!;
        w.get('head.b')![0] = 123;
        w.get('tail.w')!.fill(0);
        assert.equal(model.getWeights().get('head.b')![0], original, 'getWeights() handed out the live weight array');
        assert.ok(model.getWeights().get('tail.w')!.some((v) => v !== 0));
        model.dispose();
      } finally {
        await selectBackend('wasm');
      }
    });

    test(`setWeights() copies Float32Arrays: mutating them afterwards leaves the model unchanged (${backend})`, async () => {
      await selectBackend(backend);
      try {
        const model = SimpleIR.create('tiny');
        const values = SimpleIR.create('tiny', { init: 'random', seed: 2 });
        const w = values.getWeights();
        values.dispose();
        model.setWeights(w);
        const expected = w.get('ldam.out.w')![0]!;
        w.get('ldam.out.w')![0] = 456;
        assert.equal((model.params.get('ldam.out.w')!.dataSync() as Float32Array)[0], expected, 'the model aliases the caller\'s array');
        model.dispose();
      } finally {
        await selectBackend('wasm');
      }
    });
  }

  test('setWeights() with tensors leaves exactly one tensor per weight (no leaked intermediates)', () => {
    const model = SimpleIR.create('tiny');
    const source = SimpleIR.create('tiny', { init: 'random', seed: 3 });
    const tensors = new Map<string, tf.Tensor>();
    for (const [name, v] of source.getWeights()) tensors.set(name, tf.tensor1d(v));
    source.dispose();
    const before = tf.memory().numTensors;
    model.setWeights(tensors);
    assert.equal(tf.memory().numTensors, before, `setWeights(tensors) changed the tensor count by ${tf.memory().numTensors - before}`);
    tensors.forEach((t) => t.dispose());
    model.dispose();
  });

  test('setWeights() rejects tensors the config does not have (weights of a config with more blocks)', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 1 });
    const bigger = SimpleIR.create({ ...PRESETS.tiny, blocks: 3 }, { init: 'random', seed: 2 });
    const w = bigger.getWeights();
    bigger.dispose();
    const before = model.getWeights();
    assert.throws(() => model.setWeights(w), hasCode('WEIGHTS_MISMATCH', /hab2\./));
    for (const [name, v] of model.getWeights()) assert.deepEqual(v, before.get(name), `${name} unchanged`);
    model.dispose();
  });
});

describe('selectBackend', () => {
  test("selectBackend('wasm') reports wasm", async () => {
    const info = await selectBackend('wasm');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
  });

  test('an unknown backend name gives INVALID_ARGUMENT', async () => {
    await assert.rejects(selectBackend('metal' as 'wasm'), hasCode('INVALID_ARGUMENT', /metal/));
    await assert.rejects(selectBackend(['wasm', 'tpu'] as unknown as 'wasm'[]), hasCode('INVALID_ARGUMENT', /tpu/));
    assert.equal(tf.getBackend(), 'wasm', 'the active backend is untouched');
  });

  test("selectBackend('webgpu') in Node gives BACKEND_UNAVAILABLE", async () => {
    await assert.rejects(selectBackend('webgpu'), hasCode('BACKEND_UNAVAILABLE', /webgpu/));
    assert.equal(tf.getBackend(), 'wasm', 'the active backend is untouched');
  });

  test("'auto' in Node picks wasm (webgpu absent, webgl unregistered), even from cpu", async () => {
    await selectBackend('cpu');
    assert.equal(tf.getBackend(), 'cpu');
    const info = await selectBackend('auto');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      info.skipped.map((s) => s.name),
      ['webgpu', 'webgl'],
    );
    assert.equal(info.fallbackAdapter, false);
    const plain = await selectBackend();
    assert.equal(plain.name, 'wasm');
  });

  test('a list is tried in order: [webgpu, cpu] falls back to cpu', async () => {
    const info = await selectBackend(['webgpu', 'cpu']);
    assert.equal(info.name, 'cpu');
    assert.equal(info.skipped[0]?.name, 'webgpu');
    await selectBackend('wasm');
  });
});

describe('small and narrow frames with the shipped weights (padded to the grid the network needs)', () => {
  /** Per-channel means and the largest distance of any sample from `level`. */
  function greyStats(out: RGBImage, level: number): { means: number[]; worst: number } {
    const sums = [0, 0, 0];
    let worst = 0;
    for (let i = 0; i < out.data.length; i++) {
      sums[i % 3]! += out.data[i]!;
      worst = Math.max(worst, Math.abs(out.data[i]! - level));
    }
    return { means: sums.map((s) => s / (out.width * out.height)), worst };
  }

  const sizes: [number, number][] = [];
  for (let w = 8; w <= 32; w++) sizes.push([w, 100]);
  sizes.push([10, 10000], [9, 37], [8, 8], [4, 4], [5, 41], [100, 8], [300, 9], [64, 64]);

  for (const preset of ['tiny', 'base'] as const) {
    test(`${preset}: grey 128 stays grey at widths 8-32 (x100), 10x10000, 9x37, 4x4, 100x8 and other odd sizes`, async () => {
      const model = await SimpleIR.load(preset);
      const before = tf.memory().numTensors;
      for (const [w, h] of sizes) {
        const out = await model.restore({ data: new Uint8Array(w * h * 3).fill(128), width: w, height: h, channels: 3 });
        const { means, worst } = greyStats(out, 128);
        const label = `${preset} ${w}x${h}: channel means ${means.map((m) => m.toFixed(1))}, worst sample ${worst} levels off`;
        assert.ok(means.every((m) => Math.abs(m - 128) <= 3), label);
        assert.ok(Math.max(...means) - Math.min(...means) <= 2, `${label}: channels out of balance`);
        assert.ok(worst <= 6, label);
      }
      assert.equal(tf.memory().numTensors, before);
      model.dispose();
    });
  }

  test('the padding is cropped back at the right place: an identity model returns narrow, short and tiny inputs exactly', async () => {
    const model = SimpleIR.create('tiny');
    for (const [w, h] of [[8, 100], [9, 37], [100, 8], [4, 4], [5, 7], [63, 200], [10, 1000]] as const) {
      const data = randomBytes(w * h * 3, w * 1000 + h);
      const out = await model.restore({ data, width: w, height: h, channels: 3 });
      assert.equal(maxAbsDiff(out.data, data), 0, `${w}x${h}`);
    }
    model.dispose();
  });

  const photos = ['.cache/photos/val/mate-Wood.jpg', '.cache/photos/val/mate-LadyBird.jpg'];
  const havePhotos = photos.every((p) => existsSync(p));
  test(
    'a photo restored as a narrow crop (8x120, 9x37, 160x8) matches the same pixels restored in a 160x120 crop (PSNR >= 35 dB)',
    { skip: havePhotos ? false : `needs ${photos.join(' and ')}: run npm run fetch-photos` },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'simpleir-narrow-'));
      try {
        for (const [k, file] of photos.entries()) {
          // ffmpeg cuts a 160x120 piece of the photo (scaled to 640 wide) into a PNG.
          const png = join(dir, `photo${k}.png`);
          execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'scale=640:-1,crop=160:120:300:200', '-frames:v', '1', png]);
          const img = rgbaToRgb(await readImage(png));
          assert.deepEqual([img.width, img.height], [160, 120]);
          for (const preset of ['tiny', 'base'] as const) {
            const model = await SimpleIR.load(preset);
            const wide = await model.restore(img);
            for (const [x0, y0, w, h] of [[76, 0, 8, 120], [40, 10, 9, 37], [0, 50, 160, 8]] as const) {
              const narrow = await model.restore(cropImage(img, x0, y0, w, h));
              const same = cropImage(wide, x0, y0, w, h);
              let se = 0;
              for (let i = 0; i < narrow.data.length; i++) se += (narrow.data[i]! - same.data[i]!) ** 2;
              const db = 10 * Math.log10((255 * 255) / (se / narrow.data.length || 1e-10));
              // Mirrored padding made periodic lines that the network restored as rain or blur: 26 dB. The
              // network also sees less of the scene in a narrow crop (its global statistics differ), which
              // costs a little on its own: the `tiny` shipped 2026-12-07 (session 9) gives 36.7 dB on Wood's 9x37.
              assert.ok(db >= 35, `${file} ${preset} ${w}x${h} at (${x0}, ${y0}): ${db.toFixed(1)} dB against the wide restore`);
            }
            model.dispose();
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

/** The window (x0, y0, w, h) of an RGB image. */
function cropImage(img: RGBImage, x0: number, y0: number, w: number, h: number): RGBImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { data, width: w, height: h, channels: 3 };
}
