/**
 * The training formulations against the inference formulation: matmulOps and nativeTrainOps compute
 * the same network as nativeOps, and their gradients agree across formulations and backends (wasm
 * with matmulOps, cpu with nativeTrainOps and matmulOps). Ends by showing why matmulOps exist:
 * gradients of the native formulation do not run on wasm.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { paramSpecs, PRESETS, type SimpleIRConfig } from '../src/core/config.js';
import { Random } from '../src/core/random.js';
import { forward, type ParamMap } from '../src/core/model/forward.js';
import { customGradOps, matmulOps, nativeOps, nativeTrainOps, trainingOpsFor, type NetOps } from '../src/core/model/ops.js';
import { initialWeights } from '../src/core/model/simpleir.js';

before(async () => {
  await selectBackend('wasm');
});

function randomValues(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const rng = new Random(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(lo, hi);
  return v;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Builds the weight tensors of `values` on the active backend. */
function toParams(config: SimpleIRConfig, values: ReadonlyMap<string, Float32Array>): Map<string, tf.Tensor> {
  const p = new Map<string, tf.Tensor>();
  for (const spec of paramSpecs(config)) p.set(spec.name, tf.tensor(values.get(spec.name)!, [...spec.shape], 'float32'));
  return p;
}

function disposeParams(p: Map<string, tf.Tensor>): void {
  p.forEach((t) => t.dispose());
}

/** One random problem: weights, input and target as plain arrays, so they can be rebuilt on any backend. */
interface Problem {
  readonly config: SimpleIRConfig;
  readonly weights: Map<string, Float32Array>;
  readonly shape: [number, number, number, number];
  readonly x: Float32Array;
  readonly target: Float32Array;
}

function problem(config: SimpleIRConfig, shape: [number, number, number, number], seed: number): Problem {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    config,
    weights: initialWeights(config, { init: 'random', seed }),
    shape,
    x: randomValues(n, seed + 100),
    target: randomValues(n, seed + 200),
  };
}

/** Forward output values of `ops` on the active backend. */
function forwardValues(pr: Problem, ops: NetOps, clip: boolean): Float32Array {
  const p = toParams(pr.config, pr.weights);
  const out = tf.tidy(() => forward(pr.config, ops, p, tf.tensor4d(pr.x, pr.shape), clip).dataSync() as Float32Array);
  disposeParams(p);
  return out;
}

/** L1 loss mean|forward(x) - target| and its gradient w.r.t. every parameter, on the active backend. */
function l1Gradients(pr: Problem, ops: NetOps, clip = false): { loss: number; grads: Map<string, Float32Array> } {
  const names = paramSpecs(pr.config).map((s) => s.name);
  const p = toParams(pr.config, pr.weights);
  const before = tf.memory().numTensors;
  let loss = NaN;
  const grads = new Map<string, Float32Array>();
  tf.tidy(() => {
    const x = tf.tensor4d(pr.x, pr.shape);
    const target = tf.tensor4d(pr.target, pr.shape);
    const lossOf = (...ts: tf.Tensor[]): tf.Scalar => {
      const params: ParamMap = new Map(names.map((n, i) => [n, ts[i]!]));
      return tf.mean(tf.abs(tf.sub(forward(pr.config, ops, params, x, clip), target)));
    };
    const result = tf.valueAndGrads(lossOf)(names.map((n) => p.get(n)!));
    loss = result.value.dataSync()[0]!;
    names.forEach((n, i) => grads.set(n, result.grads[i]!.dataSync() as Float32Array));
  });
  assert.equal(tf.memory().numTensors, before, `gradient computation with ${ops.name} on ${tf.getBackend()} leaks tensors`);
  disposeParams(p);
  return { loss, grads };
}

/** Per tensor: max |a - b| <= 1e-3 * max |a| + 1e-6. */
function assertGradsClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, label: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, ga] of a) {
    const gb = b.get(name)!;
    const tol = 1e-3 * maxAbs(ga) + 1e-6;
    const d = maxAbsDiff(ga, gb);
    assert.ok(d <= tol, `${label}: gradient of ${name} differs by ${d.toExponential(3)} (max |grad| ${maxAbs(ga).toExponential(3)})`);
  }
}

describe('the formulations compute the same primitives', () => {
  test('conv (k = 1, 3, 7) and depthwise conv: matmulOps and nativeTrainOps equal nativeOps', () => {
    tf.tidy(() => {
      for (const [k, cin, cout] of [[1, 5, 7], [3, 48, 16], [3, 16, 48], [7, 2, 1]] as const) {
        const x = tf.tensor4d(randomValues(2 * 9 * 11 * cin, k + cin, -1, 1), [2, 9, 11, cin]);
        const w = tf.tensor4d(randomValues(k * k * cin * cout, cout, -1, 1), [k, k, cin, cout]);
        const b = tf.tensor1d(randomValues(cout, 3, -1, 1));
        const ref = nativeOps.conv(x, w, b).dataSync();
        for (const ops of [matmulOps, nativeTrainOps, customGradOps]) {
          const d = maxAbsDiff(ops.conv(x, w, b).dataSync(), ref);
          assert.ok(d < 1e-4 * Math.max(1, maxAbs(ref)), `${ops.name} conv k=${k} ${cin}->${cout}: ${d}`);
        }
      }
      for (const c of [4, 32]) {
        const x = tf.tensor4d(randomValues(2 * 10 * 7 * c, c, -1, 1), [2, 10, 7, c]);
        const w = tf.tensor4d(randomValues(9 * c, c + 1, -1, 1), [3, 3, c, 1]);
        const b = tf.tensor1d(randomValues(c, 5, -1, 1));
        const ref = nativeOps.dwconv(x, w, b).dataSync();
        for (const ops of [matmulOps, nativeTrainOps, customGradOps]) {
          assert.ok(maxAbsDiff(ops.dwconv(x, w, b).dataSync(), ref) < 1e-5, `${ops.name} dwconv c=${c}`);
        }
      }
    });
  });

  test('space/depth moves: reshape forms match tf.depthToSpace and invert each other', () => {
    tf.tidy(() => {
      for (const s of [1, 2, 4]) {
        const x = tf.tensor4d(randomValues(2 * 8 * 12 * 3, s), [2, 8, 12, 3]);
        for (const ops of [nativeOps, nativeTrainOps, matmulOps]) {
          const down = ops.spaceToDepth(x, s);
          assert.deepEqual(down.shape, [2, 8 / s, 12 / s, 3 * s * s]);
          // Same channel order as tfjs: tf.depthToSpace undoes it exactly.
          const back = s === 1 ? down : tf.depthToSpace(down, s, 'NHWC');
          assert.equal(maxAbsDiff(back.dataSync(), x.dataSync()), 0, `${ops.name} spaceToDepth s=${s}`);
          assert.equal(maxAbsDiff(ops.depthToSpace(down, s).dataSync(), x.dataSync()), 0, `${ops.name} depthToSpace s=${s}`);
        }
        const deep = tf.tensor4d(randomValues(2 * 3 * 5 * 4 * s * s, s + 9), [2, 3, 5, 4 * s * s]);
        const ref = s === 1 ? deep : tf.depthToSpace(deep, s, 'NHWC');
        for (const ops of [nativeTrainOps, matmulOps]) {
          assert.equal(maxAbsDiff(ops.depthToSpace(deep, s).dataSync(), ref.dataSync()), 0, `${ops.name} depthToSpace s=${s}`);
        }
      }
    });
  });

  test('trainingOpsFor picks customGradOps on wasm and native kernels elsewhere', () => {
    assert.equal(trainingOpsFor('wasm'), customGradOps);
    assert.equal(trainingOpsFor('cpu'), nativeTrainOps);
    assert.equal(trainingOpsFor('webgpu'), nativeTrainOps);
    assert.equal(trainingOpsFor('webgl'), nativeTrainOps);
  });
});

describe('forward: training formulations equal the inference formulation', () => {
  const cases: [string, SimpleIRConfig, [number, number, number, number]][] = [
    ['tiny', PRESETS.tiny, [2, 24, 32, 3]],
    ['base', PRESETS.base, [1, 32, 40, 3]],
    ['custom scale 2', { width: 8, scale: 2, blocks: 1, iterations: 2, detailWidth: 3 }, [1, 18, 22, 3]],
  ];
  for (const [name, config, shape] of cases) {
    test(`${name}: matmulOps and nativeTrainOps within 1e-4 of nativeOps on wasm (random weights)`, () => {
      const pr = problem(config, shape, 31);
      for (const clip of [false, true]) {
        const ref = forwardValues(pr, nativeOps, clip);
        if (!clip) assert.ok(maxAbsDiff(ref, pr.x) > 0.05, 'random weights: the network is not the identity');
        for (const ops of [matmulOps, nativeTrainOps]) {
          const d = maxAbsDiff(forwardValues(pr, ops, clip), ref);
          assert.ok(d <= 1e-4, `${ops.name} (clip ${clip}) differs from native by ${d}`);
        }
      }
    });
  }

  test('tiny: the same on the cpu backend, and cpu equals wasm', async () => {
    const pr = problem(PRESETS.tiny, [1, 16, 24, 3], 41);
    const wasmRef = forwardValues(pr, nativeOps, false);
    await selectBackend('cpu');
    try {
      const cpuRef = forwardValues(pr, nativeOps, false);
      assert.ok(maxAbsDiff(cpuRef, wasmRef) <= 1e-4, 'cpu vs wasm');
      for (const ops of [matmulOps, nativeTrainOps]) assert.ok(maxAbsDiff(forwardValues(pr, ops, false), cpuRef) <= 1e-4, ops.name);
    } finally {
      await selectBackend('wasm');
    }
  });
});

describe('gradients', () => {
  const cases: [string, SimpleIRConfig, [number, number, number, number]][] = [
    ['tiny', PRESETS.tiny, [2, 24, 32, 3]],
    ['custom scale 2, shared FIB x3', { width: 8, scale: 2, blocks: 1, iterations: 3, detailWidth: 3 }, [1, 18, 22, 3]],
  ];
  for (const [name, config, shape] of cases) {
    test(`${name}: L1 gradients of every parameter agree: wasm/matmul vs cpu/native-train vs cpu/matmul`, async () => {
      const pr = problem(config, shape, 7);
      assert.equal(tf.getBackend(), 'wasm');
      const wasmMatmul = l1Gradients(pr, matmulOps);
      const wasmCustom = l1Gradients(pr, customGradOps);
      await selectBackend('cpu');
      let cpuNative: ReturnType<typeof l1Gradients>;
      let cpuMatmul: ReturnType<typeof l1Gradients>;
      try {
        cpuNative = l1Gradients(pr, nativeTrainOps);
        cpuMatmul = l1Gradients(pr, matmulOps);
      } finally {
        await selectBackend('wasm');
      }
      assert.equal(wasmMatmul.grads.size, paramSpecs(config).length, 'a gradient for every parameter');
      assert.ok(Math.abs(wasmMatmul.loss - cpuNative.loss) <= 1e-5 * Math.max(1, cpuNative.loss), `loss ${wasmMatmul.loss} vs ${cpuNative.loss}`);
      assertGradsClose(cpuNative.grads, wasmMatmul.grads, 'wasm/matmul vs cpu/native-train');
      assertGradsClose(cpuNative.grads, cpuMatmul.grads, 'cpu/matmul vs cpu/native-train');
      assertGradsClose(cpuNative.grads, wasmCustom.grads, 'wasm/custom-grad vs cpu/native-train');
      assert.equal(wasmCustom.grads.size, paramSpecs(config).length);
      // Under random init every parameter tensor gets a non-zero gradient.
      for (const [n, g] of wasmMatmul.grads) {
        assert.ok(g.every(Number.isFinite), `${n}: finite gradient`);
        assert.ok(maxAbs(g) > 1e-9, `${n}: zero gradient`);
        const zeros = g.reduce((z, v) => z + (v === 0 ? 1 : 0), 0);
        assert.ok(zeros <= g.length / 2, `${n}: ${zeros} of ${g.length} gradient entries are exactly zero`);
      }
    });
  }

  test('the gradient is the derivative: a step against it lowers the loss (wasm, matmulOps)', () => {
    const pr = problem(PRESETS.tiny, [1, 16, 24, 3], 13);
    const { loss, grads } = l1Gradients(pr, matmulOps);
    let sq = 0;
    for (const g of grads.values()) for (const v of g) sq += v * v;
    const eps = 1e-3;
    const stepped = new Map<string, Float32Array>();
    for (const [n, w] of pr.weights) stepped.set(n, w.map((v, i) => v - (eps * grads.get(n)![i]!) / Math.sqrt(sq)));
    const after = l1Gradients({ ...pr, weights: stepped }, matmulOps).loss;
    const predicted = loss - eps * Math.sqrt(sq);
    assert.ok(after < loss, `loss ${loss} -> ${after}`);
    assert.ok(Math.abs(after - predicted) <= 0.25 * eps * Math.sqrt(sq), `first-order change ${loss - after} vs predicted ${loss - predicted}`);
  });

  test('with clipping, gradients still agree across formulations (wasm/matmul vs cpu/native-train)', async () => {
    const pr = problem(PRESETS.tiny, [1, 16, 20, 3], 17);
    const wasmMatmul = l1Gradients(pr, matmulOps, true);
    await selectBackend('cpu');
    try {
      assertGradsClose(l1Gradients(pr, nativeTrainOps, true).grads, wasmMatmul.grads, 'clipped');
    } finally {
      await selectBackend('wasm');
    }
  });
});

// Last: failed gradient computations can leave the tape's saved tensors behind.
describe('why matmulOps exist: native gradients do not run on wasm', () => {
  test('tf.grads of the network with nativeOps on wasm throws', () => {
    assert.equal(tf.getBackend(), 'wasm');
    const pr = problem(PRESETS.tiny, [1, 16, 16, 3], 3);
    const p = toParams(pr.config, pr.weights);
    const names = [...p.keys()];
    const x = tf.tensor4d(pr.x, pr.shape);
    assert.throws(
      () =>
        tf.grads((...ts: tf.Tensor[]) => tf.mean(forward(pr.config, nativeOps, new Map(names.map((n, i) => [n, ts[i]!])), x, false)))(names.map((n) => p.get(n)!)),
      /Conv2DBackpropFilter/,
    );
    disposeParams(p);
    x.dispose();
  });

  test('the missing pieces: Conv2DBackpropFilter on wasm, and the DepthToSpace gradient anywhere', () => {
    const x = tf.randomUniform([1, 6, 6, 4]) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 4, 2]) as tf.Tensor4D;
    assert.throws(() => tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')))(w), /Conv2DBackpropFilter/);
    assert.throws(() => tf.grad((t: tf.Tensor) => tf.sum(tf.depthToSpace(t as tf.Tensor4D, 2, 'NHWC')))(x), /DepthToSpace/);
    // nativeTrainOps avoids DepthToSpace but still needs Conv2DBackpropFilter: not usable on wasm either.
    assert.throws(() => tf.grad((f: tf.Tensor) => tf.sum(nativeTrainOps.conv(x, f as tf.Tensor4D, tf.zeros([2]) as tf.Tensor1D)))(w), /Conv2DBackpropFilter/);
    // matmulOps differentiates on wasm.
    const g = tf.grad((f: tf.Tensor) => tf.sum(matmulOps.conv(x, f as tf.Tensor4D, tf.zeros([2]) as tf.Tensor1D)))(w);
    assert.deepEqual(g.shape, [3, 3, 4, 2]);
    tf.dispose([x, w, g]);
  });
});
