/**
 * Tests of the tiled full-resolution stage: the per-axis tile plans and the runs the blend is cut into,
 * the exact crop, option resolution, tiled output against untiled output on random (non-identity)
 * weights, tensor hygiene, and one full 4K frame.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { fullResReceptiveRadius, PRESETS, type SimpleIRConfig } from '../src/core/config.js';
import { isSimpleIRError, type SimpleIRErrorCode } from '../src/core/errors.js';
import type { RGBImage } from '../src/core/image.js';
import { Random } from '../src/core/random.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { AUTO_TILE_PIXELS, AUTO_TILE_SIZE, axisRuns, axisTilePlan, cropWindow, resolveTiling, roundUp } from '../src/core/model/tiling.js';

before(async () => {
  await selectBackend('wasm');
});

function hasCode(code: SimpleIRErrorCode, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSimpleIRError(e), `expected a SimpleIRError, got ${String(e)}`);
    assert.equal(e.code, code, `wrong code; message: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

function randomInput(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next();
  return tf.tensor4d(v, shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Checks every invariant of one axis plan. */
function checkPlan(length: number, size: number, overlap: number, radius: number, step: number): void {
  const label = `length ${length}, size ${size}, overlap ${overlap}, radius ${radius}, step ${step}`;
  const plan = axisTilePlan(length, size, overlap, radius, step);
  const n = plan.starts.length;
  assert.ok(n >= 1, label);
  assert.equal(plan.weights.length, n, label);
  if (size >= length) {
    assert.deepEqual(plan.starts, [0], label);
    assert.equal(plan.size, length, label);
  } else {
    assert.ok(plan.size <= size && plan.size % step === 0, `${label}: tiles of ${plan.size}, at most the requested size and a multiple of the step`);
    assert.ok(plan.size >= Math.min(size, 2 * overlap), `${label}: tiles of ${plan.size}, at least twice the overlap`);
    assert.equal(n, Math.ceil((length - overlap) / (size - overlap)), `${label}: as few tiles as tiles of the requested size would need`);
  }
  assert.equal(plan.starts[0], 0, `${label}: first tile at 0`);
  assert.equal(plan.starts[n - 1]! + plan.size, length, `${label}: last tile flush with the end`);
  const sum = new Float64Array(length);
  plan.starts.forEach((start, i) => {
    assert.equal(start % step, 0, `${label}: start ${start} not a multiple of ${step}`);
    assert.ok(start >= 0 && start + plan.size <= length, `${label}: tile ${i} inside the axis`);
    if (i > 0) {
      assert.ok(start > plan.starts[i - 1]!, `${label}: starts increase`);
      assert.ok(plan.starts[i - 1]! + plan.size - start >= overlap, `${label}: tiles ${i - 1} and ${i} overlap by at least ${overlap}`);
    }
    const w = plan.weights[i]!;
    assert.equal(w.length, plan.size, `${label}: one weight per pixel of tile ${i}`);
    for (let p = 0; p < plan.size; p++) {
      assert.ok(w[p]! >= 0 && w[p]! <= 1, `${label}: weight in [0, 1]`);
      // Interior edges: the tile's pixels within the receptive radius of a cut see padding, not the frame.
      if (i > 0 && p < radius) assert.equal(w[p], 0, `${label}: tile ${i} pixel ${p} within ${radius} of its start edge`);
      if (i < n - 1 && p >= plan.size - radius) assert.equal(w[p], 0, `${label}: tile ${i} pixel ${p} within ${radius} of its end edge`);
      sum[start + p]! += w[p]!;
    }
  });
  for (let x = 0; x < length; x++) assert.ok(Math.abs(sum[x]! - 1) < 1e-6, `${label}: weights sum to ${sum[x]} at ${x}`);
}

describe('axisTilePlan', () => {
  test('invariants over many (length, size, overlap) combinations', () => {
    let plans = 0;
    for (const step of [1, 2, 4, 8]) {
      const radius = 2 * step;
      for (const overlapUnits of [4, 5, 6, 8, 12]) {
        const overlap = overlapUnits * step;
        if (overlap < 2 * radius) continue;
        for (const sizeUnits of [2 * overlapUnits, 2 * overlapUnits + 1, 3 * overlapUnits + 2, 64]) {
          const size = sizeUnits * step;
          for (const lengthUnits of [1, 3, sizeUnits - 1, sizeUnits, sizeUnits + 1, 2 * sizeUnits - overlapUnits, 2 * sizeUnits - overlapUnits + 1, 3 * sizeUnits, 97, 241, 540]) {
            if (lengthUnits < 1) continue;
            checkPlan(lengthUnits * step, size, overlap, radius, step);
            plans++;
          }
        }
      }
    }
    assert.ok(plans > 300, `${plans} plans checked`);
  });

  test('the plans the 4K path uses (tiny: 512 tiles, overlap 24, radius 8, step 4)', () => {
    for (const length of [2160, 3840, 4096, 2176, 7680, 4320]) checkPlan(length, 512, 24, 8, 4);
    const plan = axisTilePlan(3840, 512, 24, 8, 4);
    assert.equal(plan.starts.length, Math.ceil((3840 - 24) / (512 - 24)));
    // Spread evenly: 8 tiles of 504 and 5 of 452 instead of 512 (whose last tile mostly repeats its neighbour).
    assert.equal(plan.size, 504);
    assert.equal(axisTilePlan(2160, 512, 24, 8, 4).size, 452);
  });

  test('minimum overlap (exactly twice the radius) still covers every pixel', () => {
    for (const length of [40, 64, 100, 204, 320]) checkPlan(length, 32, 16, 8, 4);
  });

  test('one tile when the tile covers the axis', () => {
    const plan = axisTilePlan(100, 128, 24, 8, 4);
    assert.deepEqual(plan.starts, [0]);
    assert.equal(plan.size, 100);
    assert.ok(plan.weights[0]!.every((v) => v === 1));
  });
});

/** Checks that the runs of a plan tile its axis and list exactly the tiles of nonzero weight, a lone tile's weight being 1. */
function checkRuns(length: number, size: number, overlap: number, radius: number, step: number): number {
  const label = `length ${length}, size ${size}, overlap ${overlap}`;
  const plan = axisTilePlan(length, size, overlap, radius, step);
  const runs = axisRuns(plan);
  assert.equal(runs[0]!.start, 0, label);
  assert.equal(runs.at(-1)!.end, length, label);
  let most = 0;
  runs.forEach((run, k) => {
    assert.ok(run.end > run.start, label);
    if (k > 0) assert.equal(run.start, runs[k - 1]!.end, `${label}: runs are contiguous`);
    if (k > 0) assert.notDeepEqual(run.tiles, runs[k - 1]!.tiles, `${label}: neighbouring runs differ`);
    assert.ok(run.tiles.length >= 1, `${label}: every position has a tile`);
    most = Math.max(most, run.tiles.length);
    for (let p = run.start; p < run.end; p++) {
      const nonzero = plan.starts.flatMap((a, i) => (p >= a && p < a + plan.size && plan.weights[i]![p - a]! > 0 ? [i] : []));
      assert.deepEqual(nonzero, run.tiles, `${label}: tiles at ${p}`);
      if (run.tiles.length === 1) {
        const i = run.tiles[0]!;
        assert.equal(plan.weights[i]![p - plan.starts[i]!], 1, `${label}: a lone tile's weight is exactly 1 at ${p}`);
      }
    }
  });
  return most;
}

describe('axisRuns', () => {
  test('runs cover the axis, list the tiles of nonzero weight, and a lone tile has weight 1', () => {
    let most = 0;
    for (const [size, overlap] of [[48, 24], [64, 24], [96, 40], [64, 16], [512, 24]] as const) {
      for (const length of [size - 4, size, size + 4, 76, 100, 204, 316, 2160, 3840]) most = Math.max(most, checkRuns(length, size, overlap, 8, 4));
    }
    assert.equal(most, 3, 'some plans overlap three tiles at a position');
  });
});

describe('cropWindow', () => {
  test('copies exactly the values tf.slice would, at edges, corners and odd sizes', () => {
    for (const [b, h, w, c] of [[1, 37, 53, 3], [2, 9, 1, 5], [1, 1, 40, 4], [1, 2160, 31, 2]] as const) {
      const t = randomInput([b, h, w, c] as unknown as [number, number, number, number], h * w);
      const windows: [number, number, number, number][] = [[0, 0, h, w], [0, 0, 1, 1], [h - 1, w - 1, 1, 1], [0, 0, h, 1], [Math.floor(h / 3), 0, h - Math.floor(h / 3), w], [0, Math.floor(w / 2), h, w - Math.floor(w / 2)], [Math.floor(h / 4), Math.floor(w / 4), Math.ceil(h / 2), Math.ceil(w / 2)]];
      for (const [y0, x0, hh, ww] of windows) {
        const before = tf.memory().numTensors;
        const got = cropWindow(t, y0, x0, hh, ww);
        const want = tf.slice(t, [0, y0, x0, 0], [b, hh, ww, c]);
        assert.deepEqual(got.shape, want.shape);
        assert.equal(maxAbsDiff(got.dataSync(), want.dataSync()), 0, `[${t.shape}] window ${[y0, x0, hh, ww]}`);
        tf.dispose([got, want]);
        assert.equal(tf.memory().numTensors, before);
      }
      t.dispose();
    }
  });

  test('small windows of a large tensor (the crop path), columns grouped by 1, 6, 8 and whole rows', () => {
    const t = randomInput([2, 64, 96, 3], 7);
    for (const [y0, x0, h, w] of [[5, 8, 7, 16], [0, 0, 3, 96], [60, 90, 4, 6], [63, 95, 1, 1], [10, 13, 9, 17]] as const) {
      const before = tf.memory().numTensors;
      const got = cropWindow(t, y0, x0, h, w);
      const want = tf.slice(t, [0, y0, x0, 0], [2, h, w, 3]);
      assert.equal(maxAbsDiff(got.dataSync(), want.dataSync()), 0, `window ${[y0, x0, h, w]}`);
      tf.dispose([got, want]);
      assert.equal(tf.memory().numTensors, before);
    }
    t.dispose();
  });
});

describe('resolveTiling', () => {
  const tiny = PRESETS.tiny;
  const r = fullResReceptiveRadius(tiny);

  test("'auto' tiles only frames above 1920x1088, with 512-pixel tiles and the default overlap", () => {
    assert.equal(AUTO_TILE_PIXELS, 1920 * 1088);
    assert.deepEqual(resolveTiling(tiny, 1080, 1920), { tileSize: 0, overlap: 2 * r + 2 * tiny.scale });
    assert.equal(resolveTiling(tiny, 1088, 1920).tileSize, 0, 'exactly at the threshold: untiled');
    assert.equal(resolveTiling(tiny, 1089, 1920).tileSize, AUTO_TILE_SIZE);
    assert.equal(resolveTiling(tiny, 2160, 3840).tileSize, AUTO_TILE_SIZE);
    assert.equal(resolveTiling(tiny, 2160, 3840, { tileSize: 'auto' }).tileSize, AUTO_TILE_SIZE);
    assert.equal(resolveTiling(tiny, 64, 64).tileSize, 0);
    assert.equal(resolveTiling(tiny, 2160, 3840, { tileSize: 0 }).tileSize, 0, '0 never tiles');
    assert.equal(resolveTiling(tiny, 2160, 3840).overlap, 2 * r + 2 * tiny.scale);
  });

  test('rounds tile size and overlap up to multiples of the scale', () => {
    assert.deepEqual(resolveTiling(tiny, 500, 500, { tileSize: 97, overlap: 17 }), { tileSize: 100, overlap: 20 });
    assert.deepEqual(resolveTiling(tiny, 500, 500, { tileSize: 96, overlap: 16 }), { tileSize: 96, overlap: 16 });
    const s8: SimpleIRConfig = { ...tiny, scale: 8 };
    assert.deepEqual(resolveTiling(s8, 500, 500, { tileSize: 100, overlap: 33 }), { tileSize: 104, overlap: 40 });
    for (const [tile, ov] of [[64, 16], [65, 19], [130, 30], [511, 25]] as const) {
      const t = resolveTiling(tiny, 1000, 1000, { tileSize: tile, overlap: ov });
      assert.equal(t.tileSize % tiny.scale, 0);
      assert.equal(t.overlap % tiny.scale, 0);
      assert.equal(t.tileSize, roundUp(tile, 4));
      assert.equal(t.overlap, roundUp(ov, 4));
    }
  });

  test('rejects an overlap below twice the receptive radius, naming the minimum', () => {
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 128, overlap: 2 * r - 1 }), hasCode('INVALID_ARGUMENT', new RegExp(String(2 * r))));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 128, overlap: 0 }), hasCode('INVALID_ARGUMENT'));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 128, overlap: 20.5 }), hasCode('INVALID_ARGUMENT'));
    assert.throws(() => resolveTiling(tiny, 500, 500, { overlap: -8 }), hasCode('INVALID_ARGUMENT'));
  });

  test('rejects a tile too small for its overlap, and malformed tile sizes', () => {
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 40, overlap: 24 }), hasCode('INVALID_ARGUMENT', /48/));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 4 }), hasCode('INVALID_ARGUMENT'));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: -64 }), hasCode('INVALID_ARGUMENT'));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 64.5 }), hasCode('INVALID_ARGUMENT'));
    assert.throws(() => resolveTiling(tiny, 500, 500, { tileSize: 'big' as unknown as number }), hasCode('INVALID_ARGUMENT'));
    assert.deepEqual(resolveTiling(tiny, 500, 500, { tileSize: 48, overlap: 24 }), { tileSize: 48, overlap: 24 });
  });

  test('predict() and restore() surface tiling errors as INVALID_ARGUMENT', async () => {
    const model = SimpleIR.create('tiny');
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    assert.throws(() => model.predict(x, { tileSize: 16 }), hasCode('INVALID_ARGUMENT'));
    await assert.rejects(model.restore({ data: new Uint8Array(32 * 32 * 3), width: 32, height: 32, channels: 3 }, { overlap: 3 }), hasCode('INVALID_ARGUMENT'));
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    model.dispose();
  });
});

describe('tiled output equals untiled output', () => {
  /** Predicts `x` untiled and with each tiling; asserts max |difference| <= 1/255 and no tensor leaks. */
  function compare(model: SimpleIR, x: tf.Tensor4D, tilings: { tileSize: number; overlap?: number }[]): number[] {
    const ref = model.predict(x, { tileSize: 0 });
    const refValues = ref.dataSync();
    ref.dispose();
    const diffs: number[] = [];
    for (const tiling of tilings) {
      const before = tf.memory().numTensors;
      const y = model.predict(x, tiling);
      assert.deepEqual(y.shape, x.shape);
      const d = maxAbsDiff(y.dataSync(), refValues);
      y.dispose();
      assert.equal(tf.memory().numTensors, before, `tiled predict leaks tensors (${JSON.stringify(tiling)})`);
      assert.ok(d <= 1 / 255, `[${x.shape}] ${JSON.stringify(tiling)}: tiled differs from untiled by ${(d * 255).toFixed(3)}/255`);
      diffs.push(d);
    }
    return diffs;
  }

  test('tiny, random weights, 203x317 with tiles of 64 and 96 (several overlaps)', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 1 });
    const x = randomInput([1, 203, 317, 3], 1);
    const diffs = compare(model, x, [{ tileSize: 64 }, { tileSize: 96 }, { tileSize: 64, overlap: 16 }, { tileSize: 96, overlap: 40 }, { tileSize: 72, overlap: 20 }]);
    // The blend is exact up to float rounding, far inside the 1/255 budget.
    assert.ok(Math.max(...diffs) < 1e-4, `diffs ${diffs}`);
    // Sanity: the random network does change the image, so agreement is not trivial.
    const y = model.predict(x, { tileSize: 0 });
    assert.ok(maxAbsDiff(y.dataSync(), x.dataSync()) > 0.05);
    y.dispose();
    x.dispose();
    model.dispose();
  });

  test('tiny, random weights, other odd sizes, another seed, and a batch of 2', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 7 });
    for (const [b, h, w] of [[1, 97, 131], [1, 130, 61], [2, 75, 101], [1, 257, 49]] as const) {
      const x = randomInput([b, h, w, 3], h + w);
      compare(model, x, [{ tileSize: 48 }, { tileSize: 64 }]);
      x.dispose();
    }
    model.dispose();
  });

  test('base, random weights, 203x317 with tiles of 64 and 96', () => {
    const model = SimpleIR.create('base', { init: 'random', seed: 2 });
    const x = randomInput([1, 203, 317, 3], 2);
    compare(model, x, [{ tileSize: 64 }, { tileSize: 96 }]);
    x.dispose();
    model.dispose();
  });

  test('tiny, random weights, tiles overlapping three deep (tile 48, overlap 24) on 76x100, 100x76 and a batch of 2', () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 11 });
    for (const [b, h, w] of [[1, 76, 100], [1, 100, 76], [2, 77, 101]] as const) {
      const x = randomInput([b, h, w, 3], b * h + w);
      const diffs = compare(model, x, [{ tileSize: 48, overlap: 24 }, { tileSize: 48, overlap: 16 }]);
      assert.ok(Math.max(...diffs) < 1e-4, `diffs ${diffs}`);
      x.dispose();
    }
    model.dispose();
  });

  for (const config of [
    { width: 8, scale: 2, blocks: 1, iterations: 1, detailWidth: 3 },
    { width: 8, scale: 8, blocks: 1, iterations: 1, detailWidth: 2 },
    { width: 6, scale: 1, blocks: 0, iterations: 1, detailWidth: 2 },
  ] satisfies SimpleIRConfig[]) {
    test(`custom config scale ${config.scale}, random weights`, () => {
      const model = SimpleIR.create(config, { init: 'random', seed: 3 });
      const x = randomInput([1, 123, 157, 3], 3);
      const minOv = 2 * fullResReceptiveRadius(config);
      compare(model, x, [{ tileSize: Math.max(64, 4 * minOv) }, { tileSize: 2 * minOv, overlap: minOv }]);
      x.dispose();
      model.dispose();
    });
  }

  test('restore() on bytes: tiled equals untiled within one level, RGBA alpha kept', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 4 });
    const [w, h] = [141, 93];
    const rng = new Random(5);
    const data = new Uint8Array(w * h * 4).map(() => rng.int(0, 256));
    const img: RGBImage = { data, width: w, height: h, channels: 4 };
    const before = tf.memory().numTensors;
    const a = await model.restore(img, { tileSize: 0 });
    const b = await model.restore(img, { tileSize: 48 });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(maxAbsDiff(a.data, b.data) <= 1);
    for (let i = 3; i < data.length; i += 4) assert.equal(b.data[i], data[i]);
    model.dispose();
  });
});

describe('4K', () => {
  test('a 3840x2160 frame restores on wasm with tiny (auto tiling), no tensors left behind', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const [w, h] = [3840, 2160];
    assert.equal(resolveTiling(PRESETS.tiny, h, w).tileSize, AUTO_TILE_SIZE, '4K is tiled automatically');
    const model = SimpleIR.create('tiny', { init: 'random', seed: 9 });
    // A smooth pattern plus noise, as bytes.
    const data = new Uint8Array(w * h * 3);
    let seed = 12345;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const i = (y * w + x) * 3;
        data[i] = (x * 255) / w + (seed & 15);
        data[i + 1] = (y * 255) / h + ((seed >>> 4) & 15);
        data[i + 2] = ((x + y) & 255) ^ ((seed >>> 8) & 31);
      }
    }
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const out = await model.restore({ data, width: w, height: h, channels: 3 });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(tf.memory().numTensors, before, 'tensor count unchanged after a 4K restore');
    assert.equal(out.width, w);
    assert.equal(out.height, h);
    assert.equal(out.data.length, w * h * 3);
    let changed = 0;
    for (let i = 0; i < out.data.length; i += 997) if (out.data[i] !== data[i]) changed++;
    assert.ok(changed > 100, 'the random network changed the frame');
    model.dispose();
    console.log(`# 4K tiny restore on wasm: ${seconds.toFixed(1)} s`);
  });
});
