/**
 * Frames above 2^24 values (every 4K RGB frame): the largest index float32 can hold exactly. The
 * tile cutter (`cropWindow`) and the tile assembly (`blendTiles`) are checked at real sizes against
 * values computed here in JavaScript (a pattern in which every pixel differs), on wasm and cpu; the
 * whole network runs on wasm tiled against untiled at 4K and on a flat 4K colour; passes too large for
 * wasm's heap (8K) are typed errors.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { fullResReceptiveRadius, PRESETS } from '../src/core/config.js';
import { isSimpleIRError } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { nativeOps } from '../src/core/model/ops.js';
import { axisTilePlan, blendTiles, checkFitsInWasm, cropWindow, resolveTiling, type AxisTilePlan } from '../src/core/model/tiling.js';

after(async () => {
  await selectBackend('wasm');
});

/** Sizes whose RGB frames pass 2^24 values: 4K UHD (from row 1456), DCI 4K (from row 1365), 8K. */
const SIZES = [
  [3840, 2160],
  [4096, 2160],
  [7680, 4320],
] as const;

/**
 * The test pattern: channel 0 is the row / 8192, channel 1 the column / 8192 (exact in float32, so any
 * pixel taken from the wrong place shows), further channels a hash of both.
 */
function patternValue(y: number, x: number, k: number): number {
  if (k === 0) return y / 8192;
  if (k === 1) return x / 8192;
  return ((y * 7 + x * 13 + k * 29) % 256) / 256;
}

function patternTensor(b: number, h: number, w: number, c: number): tf.Tensor4D {
  const v = new Float32Array(b * h * w * c);
  let i = 0;
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) v[i++] = patternValue(y, x, k) + n;
      }
    }
  }
  return tf.tensor4d(v, [b, h, w, c]);
}

/** Largest |got - pattern| over the window [y0, y0 + h) x [x0, x0 + w) of a [b, h, w, c] output. */
function patternError(got: Float32Array | Int32Array | Uint8Array, b: number, y0: number, x0: number, h: number, w: number, c: number): number {
  let worst = 0;
  let i = 0;
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) worst = Math.max(worst, Math.abs(got[i++]! - (patternValue(y0 + y, x0 + x, k) + n)));
      }
    }
  }
  return worst;
}

/** The tile plans of `tiny` with automatic tiling at this size. */
function plans(h: number, w: number): { rows: AxisTilePlan; cols: AxisTilePlan } {
  const config = PRESETS.tiny;
  const { tileSize, overlap } = resolveTiling(config, h, w);
  const radius = fullResReceptiveRadius(config);
  return { rows: axisTilePlan(h, tileSize, overlap, radius, config.scale), cols: axisTilePlan(w, tileSize, overlap, radius, config.scale) };
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`cropWindow above 2^24 values (${backend})`, () => {
    for (const [w, h] of SIZES) {
      test(`${w}x${h}x3: the tiles of the 4K plan, values exact`, async () => {
        await selectBackend(backend);
        assert.ok(h * w * 3 > 2 ** 24);
        const x = patternTensor(1, h, w, 3);
        const { rows, cols } = plans(h, w);
        // wasm: every tile; cpu (slow gathers in JavaScript): the last row and column of tiles, which
        // hold the highest indices, and the first tile.
        const tiles: [number, number][] = [];
        rows.starts.forEach((y0, ri) => cols.starts.forEach((x0, ci) => {
          if (backend === 'wasm' || ri === rows.starts.length - 1 || ci === cols.starts.length - 1 || ri + ci === 0) tiles.push([y0, x0]);
        }));
        const before = tf.memory().numTensors;
        for (const [y0, x0] of tiles) {
          const t = cropWindow(x, y0, x0, rows.size, cols.size);
          assert.deepEqual(t.shape, [1, rows.size, cols.size, 3]);
          assert.equal(patternError(t.dataSync() as Float32Array, 1, y0, x0, rows.size, cols.size, 3), 0, `tile at (${y0}, ${x0}) of ${w}x${h}`);
          t.dispose();
        }
        // Odd windows too: single pixels past 2^24 values and a window of odd size and offset.
        for (const [y0, x0, hh, ww] of [[h - 1, w - 1, 1, 1], [h - 3, 5, 3, 7], [Math.floor(h * 0.8) + 1, 3, 37, 53]] as const) {
          const t = cropWindow(x, y0, x0, hh, ww);
          assert.equal(patternError(t.dataSync() as Float32Array, 1, y0, x0, hh, ww, 3), 0, `window ${[y0, x0, hh, ww]}`);
          t.dispose();
        }
        assert.equal(tf.memory().numTensors, before);
        x.dispose();
      });
    }

    test('body-sized sources: [1, 540, 1024, 32] (base at 4096x2160) and [2, 1080, 1920, 5], values exact', async () => {
      await selectBackend(backend);
      for (const [b, h, w, c] of [[1, 540, 1024, 32], [2, 1080, 1920, 5]] as const) {
        assert.ok(b * h * w * c > 2 ** 24);
        const f = patternTensor(b, h, w, c);
        for (const [y0, x0, hh, ww] of [[h - 113, w - 126, 113, 126], [Math.floor(h * 0.9), 64, 40, 100], [h - 1, w - 1, 1, 1]] as const) {
          const t = cropWindow(f, y0, x0, hh, ww);
          assert.equal(patternError(t.dataSync() as Float32Array, b, y0, x0, hh, ww, c), 0, `[${f.shape}] window ${[y0, x0, hh, ww]}`);
          t.dispose();
        }
        f.dispose();
      }
    });
  });

  describe(`tile assembly above 2^24 values (${backend})`, () => {
    // cpu: the two 4K sizes, with two channels (row, column) where that already passes 2^24 values:
    // its JavaScript kernels took minutes for the whole 8K assembly on this 2-core machine.
    for (const [w, h] of backend === 'cpu' ? SIZES.slice(0, 2) : SIZES) {
      const c = backend === 'cpu' && h * w * 2 > 2 ** 24 ? 2 : 3;
      test(`${w}x${h}x${c}: blending the frame's own tiles gives the frame back (within 1e-5)`, async () => {
        await selectBackend(backend);
        assert.ok(h * w * c > 2 ** 24);
        const x = patternTensor(1, h, w, c);
        const { rows, cols } = plans(h, w);
        assert.ok(rows.starts.length > 1 && cols.starts.length > 1);
        const before = tf.memory().numTensors;
        const y = blendTiles(rows, cols, (y0, x0) => cropWindow(x, y0, x0, rows.size, cols.size));
        assert.equal(tf.memory().numTensors, before + 1, 'only the output is left');
        assert.deepEqual(y.shape, [1, h, w, c]);
        // Neighbouring pixels differ by 1/8192 in channel 0 or 1: a misplaced block shows.
        const err = patternError(y.dataSync() as Float32Array, 1, 0, 0, h, w, c);
        assert.ok(err <= 1e-5, `assembled ${w}x${h} differs from the frame by ${err}`);
        tf.dispose([x, y]);
      });
    }
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`space-to-depth and depth-to-space of a 3840x2160x3 frame move every value exactly (${backend})`, async () => {
    await selectBackend(backend);
    const [h, w, s] = [2160, 3840, PRESETS.tiny.scale];
    const x = patternTensor(1, h, w, 3);
    const before = tf.memory().numTensors;
    const d = tf.tidy(() => nativeOps.spaceToDepth(x, s));
    assert.deepEqual(d.shape, [1, h / s, w / s, s * s * 3]);
    const v = d.dataSync() as Float32Array;
    let worst = 0;
    for (let Y = 0, i = 0; Y < h / s; Y++) {
      for (let X = 0; X < w / s; X++) {
        for (let sy = 0; sy < s; sy++) {
          for (let sx = 0; sx < s; sx++) {
            for (let k = 0; k < 3; k++, i++) worst = Math.max(worst, Math.abs(v[i]! - patternValue(Y * s + sy, X * s + sx, k)));
          }
        }
      }
    }
    assert.equal(worst, 0, 'space-to-depth');
    const back = tf.tidy(() => nativeOps.depthToSpace(d, s));
    assert.equal(patternError(back.dataSync() as Float32Array, 1, 0, 0, h, w, 3), 0, 'depth-to-space');
    tf.dispose([d, back]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
}

describe('the network above 2^24 values (wasm)', () => {
  function randomFrame(h: number, w: number, seed: number): tf.Tensor4D {
    const rng = new Random(seed);
    const v = new Float32Array(h * w * 3);
    // A smooth gradient plus noise: every region differs, as real frames do.
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 3) {
        v[i] = (x / w) * 0.8 + 0.2 * rng.next();
        v[i + 1] = (y / h) * 0.8 + 0.2 * rng.next();
        v[i + 2] = rng.next();
      }
    }
    return tf.tensor4d(v, [1, h, w, 3]);
  }

  /** Largest |a - b|, with the row of the first largest, over [h, w, 3] arrays. */
  function worstDiff(a: Float32Array, b: Float32Array, w: number): { worst: number; row: number } {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (d > worst) [worst, at] = [d, i];
    }
    return { worst, row: Math.floor(at / (3 * w)) };
  }

  for (const [w, h] of SIZES.slice(0, 2)) {
    test(`tiny, random weights, ${w}x${h}: tiled output equals untiled output within 1/255 (8K does not fit in wasm's heap: see below)`, async () => {
      await selectBackend('wasm');
      const model = SimpleIR.create('tiny', { init: 'random', seed: 5 });
      const x = randomFrame(h, w, w + h);
      const before = tf.memory().numTensors;
      const untiled = model.predict(x, { tileSize: 0 });
      const ref = untiled.dataSync() as Float32Array;
      untiled.dispose();
      const tiled = model.predict(x);
      const got = tiled.dataSync() as Float32Array;
      tiled.dispose();
      assert.equal(tf.memory().numTensors, before);
      const { worst, row } = worstDiff(got, ref, w);
      assert.ok(worst <= 1 / 255, `${w}x${h}: tiled differs from untiled by ${(worst * 255).toFixed(2)}/255 at row ${row}`);
      const input = x.dataSync() as Float32Array;
      let changed = 0;
      for (let i = 0; i < ref.length; i++) if (Math.abs(ref[i]! - input[i]!) > 2 / 255) changed++;
      assert.ok(changed > ref.length / 10, 'the random network changes the frame: the comparison is not between two copies of the input');
      x.dispose();
      model.dispose();
    });
  }

  test('an identity network returns a 3838x2158 frame (padded, tiled, cropped back) exactly through restore()', async () => {
    await selectBackend('wasm');
    const model = SimpleIR.create('tiny');
    const [w, h] = [3838, 2158];
    const data = new Uint8Array(w * h * 3);
    for (let y = 0, i = 0; y < h; y++) for (let x = 0; x < w; x++, i += 3) data.set([y & 255, x & 255, (y >> 8) * 16 + (x >> 8)], i);
    const out = await model.restore({ data, width: w, height: h, channels: 3 });
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (out.data[i] !== data[i]) bad++;
    assert.equal(bad, 0, `${bad} samples changed`);
    model.dispose();
  });

  test('shipped tiny on a flat 3840x2160 colour (180, 100, 60) through restore(): every row the same colour within one level', async () => {
    await selectBackend('wasm');
    const model = await SimpleIR.load('tiny');
    const [w, h] = [3840, 2160];
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i += 3) data.set([180, 100, 60], i);
    const before = tf.memory().numTensors;
    const out = await model.restore({ data, width: w, height: h, channels: 3 });
    assert.equal(tf.memory().numTensors, before);
    const centre = [0, 1, 2].map((k) => out.data[((h >> 1) * w + (w >> 1)) * 3 + k]!);
    // The network's zero padding at the frame's own edges shifts the outermost pixels by a few levels
    // (untiled alike): rows and columns within `edge` of the border are left out; everything else,
    // before and after row 1456 (value index 2^24), must be the centre's colour.
    const edge = 8;
    let worst = 0;
    let worstRow = -1;
    for (let y = edge; y < h - edge; y++) {
      for (let x = edge; x < w - edge; x++) {
        for (let k = 0; k < 3; k++) {
          const d = Math.abs(out.data[(y * w + x) * 3 + k]! - centre[k]!);
          if (d > worst) [worst, worstRow] = [d, y];
        }
      }
    }
    assert.ok(worst <= 1, `row ${worstRow} differs from the centre colour ${centre} by ${worst} levels`);
    // The restored colour is near the input's (the shipped model does not recolour a flat image).
    assert.ok(Math.abs(centre[0]! - 180) <= 6 && Math.abs(centre[1]! - 100) <= 6 && Math.abs(centre[2]! - 60) <= 6, `centre ${centre}`);
    model.dispose();
  });
});

describe('frames too large for the wasm heap', () => {
  test("wasm: base untiled at 3840x2160 and tiny at 7680x4320 (tiled or not) are typed errors that say what to do, before any work; the model still works", async () => {
    await selectBackend('wasm');
    const model = SimpleIR.create('base');
    const says = (size: string, what: RegExp) => (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && what.test((e as Error).message) && (e as Error).message.includes(size);
    const x = tf.zeros([1, 2160, 3840, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    assert.throws(() => model.predict(x, { tileSize: 0 }), says('3840x2160', /tileSize at 'auto'/));
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    const bytes = { data: new Uint8Array(3840 * 2160 * 3), width: 3840, height: 2160, channels: 3 as const };
    await assert.rejects(model.restore(bytes, { tileSize: 0 }), says('3840x2160', /tileSize at 'auto'/));
    assert.equal(tf.memory().numTensors, before - 1);
    const tiny = SimpleIR.create('tiny');
    const big = tf.zeros([1, 4320, 7680, 3]) as tf.Tensor4D;
    const withBig = tf.memory().numTensors;
    // 8K: the body (never tiled) alone outgrows the heap: the wasm module aborted in its second block.
    assert.throws(() => tiny.predict(big, { tileSize: 0 }), says('7680x4320', /webgpu/));
    assert.throws(() => tiny.predict(big), says('7680x4320', /webgpu/));
    assert.equal(tf.memory().numTensors, withBig);
    // What does fit is not refused: base at 1080p untiled and at 4K tiled, tiny untiled at 4096x2160
    // (run untiled above), and nothing on other backends.
    for (const [config, h, w, tile] of [[PRESETS.base, 1080, 1920, 0], [PRESETS.base, 2160, 4096, 512], [PRESETS.tiny, 2160, 4096, 0]] as const) {
      assert.doesNotThrow(() => checkFitsInWasm(config, h, w, tile, 'wasm'), `${w}x${h} tile ${tile}`);
    }
    assert.doesNotThrow(() => checkFitsInWasm(PRESETS.tiny, 4320, 7680, 0, 'cpu'), 'only wasm is checked');
    tf.dispose(big);
    tiny.dispose();
    const small = tf.fill([1, 16, 16, 3], 0.5) as tf.Tensor4D;
    const y = model.predict(small);
    assert.ok(Math.abs((y.dataSync() as Float32Array)[0]! - 0.5) < 1e-6, 'identity model still restores after the error');
    tf.dispose([small, y]);
    model.dispose();
  });
});
