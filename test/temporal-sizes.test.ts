/**
 * Temporal restoration on the frame sizes users' files have: 8-pixel sides, odd sizes, portrait,
 * frames smaller than the filter's windows, strips (a side far shorter than the other), and 1080p,
 * whose wide windows once exhausted the wasm backend's memory.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import sharp from 'sharp';
import { loadPhotoSet } from '../src/training/photos.js';
import { psnr } from '../src/core/quality.js';
import { analysisGrid } from '../src/core/temporal/align.js';
import { boxMean, dilate, quantile } from '../src/core/temporal/fuse.js';
import { TemporalFilter } from '../src/core/temporal/filter.js';
import { assertTemporalFits, temporalMemory, WASM_TEMPORAL_BUDGET } from '../src/core/temporal/memory.js';
import { POOL_BUDGET, slidingMax, slidingMean } from '../src/core/temporal/window.js';
import { TemporalStage } from '../src/streams/temporal.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import { restore } from '../src/streams/restore.js';
import { FRAME_US } from './helpers/streams.js';
import type { SimpleIRError } from '../src/core/errors.js';
import { tf, useBackend } from './helpers/tf.js';

before(async () => {
  await useBackend('wasm');
});

/** A validation photograph resized (cover) to `width` x `height`, `[1, H, W, 3]` in [0, 1]. */
async function photo(width: number, height: number): Promise<tf.Tensor4D> {
  const file = (await loadPhotoSet()).val[3]!;
  const { data, info } = await sharp(file).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return tf.tensor4d(Float32Array.from(data, (v) => v / 255), [1, info.height, info.width, 3]);
}

/** `clean` with one bright vertical streak (lightened towards white) in column `x`, rows `y0` to `y0 + len`. */
function streak(clean: tf.Tensor4D, x: number, y0: number, len: number): tf.Tensor4D {
  const [, h, w] = clean.shape;
  const mask = new Float32Array(h * w);
  for (let y = y0; y < Math.min(h, y0 + len); y++) mask[y * w + x] = 0.8;
  return tf.tidy(() => tf.add(clean, tf.mul(tf.tensor4d(mask, [1, h, w, 1]), tf.sub(1, clean))) as tf.Tensor4D);
}

describe('wide windows without pooling ops', () => {
  test('slidingMax and slidingMean equal maxPool and avgPool (same padding) for windows of 1 to 131 taps along rows and columns, on small and odd shapes', () => {
    let maxError = 0;
    let meanError = 0;
    for (const [h, w] of [[1, 1], [3, 40], [40, 3], [17, 23]] as const) {
      for (let k = 1; k <= 131; k += 2) {
        for (const axis of [1, 2] as const) {
          tf.tidy(() => {
            const x = tf.randomUniform([1, h, w, 2], 0, 1, 'float32', 1000 * h + k) as tf.Tensor4D;
            const shape: [number, number] = axis === 1 ? [k, 1] : [1, k];
            const wMax = slidingMax(x, k, axis);
            const wMean = slidingMean(x, k, axis);
            assert.deepEqual(wMax.shape, x.shape);
            assert.deepEqual(wMean.shape, x.shape);
            maxError = Math.max(maxError, tf.max(tf.abs(tf.sub(wMax, tf.maxPool(x, shape, 1, 'same')))).dataSync()[0]!);
            meanError = Math.max(meanError, tf.max(tf.abs(tf.sub(wMean, tf.avgPool(x, shape, 1, 'same')))).dataSync()[0]!);
          });
        }
      }
    }
    assert.equal(maxError, 0, 'the maximum is exact');
    assert.ok(meanError < 1e-6, `mean differs by ${meanError}`);
  });

  test('at 1080p on wasm, dilate and boxMean of the widths the filter uses there (43 to 173) give the right values, one after another', () => {
    // Each distinct pooling op once kept an indirection buffer of H * W * k pointers in wasm's heap:
    // 173 taps at 1080p alone is 1.4 GB; the sequence below then returned wrong values and aborted.
    const [h, w] = [1080, 1920];
    assert.ok(h * w * 43 > POOL_BUDGET, 'these widths do not use pooling ops');
    const x = tf.tidy(() => tf.greater(tf.randomUniform([1, h, w, 1], 0, 1, 'float32', 7), 0.999).toFloat()) as tf.Tensor4D;
    const xs = x.dataSync();
    const probes: Array<[number, number]> = [[0, 0], [540, 960], [1079, 1919], [100, 1900], [1000, 30]];
    for (const k of [173, 87, 43, 171, 85, 41, 169]) {
      const r = (k - 1) / 2;
      const dilated = dilate(x, k);
      const mean = boxMean(x, k);
      const [d, m] = [dilated.dataSync(), mean.dataSync()];
      for (const [py, px] of probes) {
        let max = 0;
        let sum = 0;
        let count = 0;
        for (let y = Math.max(0, py - r); y <= Math.min(h - 1, py + r); y++) {
          for (let c = Math.max(0, px - r); c <= Math.min(w - 1, px + r); c++) {
            max = Math.max(max, xs[y * w + c]!);
            sum += xs[y * w + c]!;
            count++;
          }
        }
        assert.equal(d[py * w + px], max, `dilate ${k} at ${py},${px}`);
        assert.ok(Math.abs(m[py * w + px]! - sum / count) < 1e-5, `boxMean ${k} at ${py},${px}: ${m[py * w + px]} against ${sum / count}`);
      }
      tf.dispose([dilated, mean]);
    }
    x.dispose();
  });
});

describe('temporal filter on odd, tiny, strip and portrait sizes', () => {
  test('the analysis grid never has an empty side: a strip 8x1920 keeps one row of cells', () => {
    assert.deepEqual(analysisGrid(8, 1920), { factor: 8, height: 1, width: 240 });
    assert.deepEqual(analysisGrid(1920, 3), { factor: 3, height: 640, width: 1 });
    assert.deepEqual(analysisGrid(1080, 1920), { factor: 10, height: 108, width: 192 });
    assert.deepEqual(analysisGrid(1, 1), { factor: 1, height: 1, width: 1 });
  });

  // [height, width]: tiny (smaller than the 5-pixel transient window and the 128-pixel refinement
  // window), 8-pixel sides, odd, portrait, strips whose short side is below the grid factor.
  const sizes: ReadonlyArray<readonly [number, number]> = [[1, 1], [1, 7], [7, 1], [3, 5], [8, 8], [8, 64], [64, 8], [241, 321], [321, 241], [3, 600], [8, 1920], [1920, 8]];
  for (const [h, w] of sizes) {
    for (const guide of [false, true]) {
      test(`${h}x${w}${guide ? ', guided' : ''}: a still clean scene comes out ${guide ? 'close to' : 'exactly'} as it went in; a streak moving over it is removed; tensors flat`, async () => {
        const clean = await photo(w, h);
        const filter = new TemporalFilter({ guide });
        const counts: number[] = [];
        for (let i = 0; i < 4; i++) {
          const out = filter.process(clean, clean);
          const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out, clean))).dataSync()[0]!);
          if (guide) assert.ok(diff < 0.02, `frame ${i} moved by ${diff}`);
          else assert.equal(diff, 0, `frame ${i}`);
          out.dispose();
          counts.push(tf.memory().numTensors);
        }
        if (h >= 8 && w >= 8) {
          // A streak on the fifth frame, where the four before saw the scene.
          const x = Math.floor(w / 2);
          const rainy = streak(clean, x, 0, Math.min(h, 6));
          const out = filter.process(rainy, rainy);
          const [before, after] = [psnr(rainy, clean), psnr(out, clean)];
          assert.ok(after > before + 6, `streak: ${before.toFixed(2)} dB in, ${after.toFixed(2)} dB out`);
          tf.dispose([rainy, out]);
        }
        const again = filter.process(clean, clean);
        again.dispose();
        counts.push(tf.memory().numTensors);
        assert.equal(Math.min(...counts.slice(3)), Math.max(...counts.slice(3)), `tensor counts ${counts.join(', ')}`);
        filter.dispose();
        clean.dispose();
      });
    }
  }
});

describe('memory of the temporal median', () => {
  test('quantile of 7 frames holds at most 9 frames beyond its inputs at any time (the sort frees what it replaces; it held 43)', async () => {
    const values = Array.from({ length: 7 }, (_, i) => tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', i) as tf.Tensor4D);
    const frame = 64 * 64 * 3 * 4;
    const base = tf.memory().numBytes;
    let out: tf.Tensor4D | undefined;
    const profile = await tf.profile(() => (out = quantile(values, 0.5)));
    const expected = tf.tidy(() => tf.topk(tf.stack(values, 4), 7).values.slice([0, 0, 0, 0, 3], [1, 64, 64, 3, 1]).reshape([1, 64, 64, 3]));
    assert.deepEqual(out!.dataSync(), expected.dataSync(), 'the median');
    const extra = (profile.peakBytes - base) / frame;
    assert.ok(extra <= values.length + 2, `peak ${extra.toFixed(1)} frames beyond the inputs`);
    tf.dispose([...values, out!, expected]);
  });
});

describe('memory of the temporal filter by frame size', () => {
  test('the estimate bounds what the filter holds and peaks at (tf.profile over full rings at 270x480), within 20 %', async () => {
    const [h, w] = [270, 480];
    for (const [frames, guide] of [[3, false], [5, false], [3, true], [5, true]] as const) {
      const filter = new TemporalFilter({ frames, guide });
      let held = 0;
      let peak = 0;
      for (let i = 0; i < frames + 1; i++) {
        const y = tf.tidy(() => tf.clipByValue(tf.add(tf.randomUniform([1, h, w, 3], 0, 0.05, 'float32', i), 0.4), 0, 1)) as tf.Tensor4D;
        const base = tf.memory().numBytes;
        let out: tf.Tensor4D | undefined;
        const profile = await tf.profile(() => (out = filter.process(y, y)));
        peak = Math.max(peak, profile.peakBytes - base + held + 2 * y.size * 4);
        tf.dispose([y, out!]);
        held = tf.memory().numBytes;
      }
      filter.dispose();
      const estimate = temporalMemory(h, w, { frames, guide });
      const label = `frames ${frames}${guide ? ', guided' : ''}`;
      assert.ok(estimate.heldBytes >= held && estimate.heldBytes < held * 1.2, `${label}: held ${held}, estimated ${estimate.heldBytes}`);
      assert.ok(estimate.peakBytes >= peak && estimate.peakBytes < peak * 1.2, `${label}: peak ${peak}, estimated ${estimate.peakBytes}`);
    }
  });

  test('on wasm, 4K with the defaults is refused with what it needs and what fits; 1080p guided, and any size on other backends, pass', () => {
    assert.throws(() => assertTemporalFits(2160, 3840, {}, 'wasm'), (e: SimpleIRError) => {
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /^temporal restoration of 3840x2160 frames needs about 4\.9 GiB .*\(5 frames fused\), more than the wasm backend's 4 GiB heap holds: fuse fewer frames \(temporal: \{ frames: 2 \}, CLI --temporal-frames 2\), scale the video down to about \d+x\d+ or less/);
      return true;
    });
    assert.throws(() => assertTemporalFits(2160, 3840, { frames: 2, guide: true }, 'wasm'), /with input guidance needs about/);
    assertTemporalFits(1080, 1920, { guide: true }, 'wasm');
    assertTemporalFits(2160, 3840, { frames: 2 }, 'wasm');
    assertTemporalFits(4320, 7680, { guide: true }, 'webgpu');
    assert.ok(temporalMemory(2160, 3840).peakBytes > WASM_TEMPORAL_BUDGET);
  });

  test('the stream stage refuses a 4K frame on wasm before touching it (was: the process aborted at the fourth frame)', () => {
    const stage = new TemporalStage({});
    const y = tf.zeros([1, 2160, 3840, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    assert.throws(() => stage.process(y, 0), { code: 'INVALID_ARGUMENT' });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(stage.length, 0);
    y.dispose();
    stage.dispose();
  });
});

describe('4K', () => {
  test('3840x2160 on wasm with frames: 2 (what fits its heap): a still scene comes out unchanged, a streak on the second frame is halved (two frames are averaged: +6 dB); memory held as estimated', () => {
    const [h, w] = [2160, 3840];
    const filter = new TemporalFilter({ frames: 2 });
    const clean = tf.tidy(() => {
      const ramp = tf.linspace(0.1, 0.6, w).reshape([1, 1, w, 1]);
      return tf.tile(tf.concat([ramp, tf.mul(ramp, 0.8), tf.mul(ramp, 0.5)], 3), [1, h, 1, 1]) as tf.Tensor4D;
    });
    const base = tf.memory().numBytes;
    const first = filter.process(clean);
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(first, clean))).dataSync()[0]), 0);
    first.dispose();
    const rainy = streak(clean, 1000, 100, 60);
    const second = filter.process(rainy);
    const [before, after] = [psnr(rainy, clean), psnr(second, clean)];
    assert.ok(after > before + 5.5, `streak: ${before.toFixed(2)} dB in, ${after.toFixed(2)} dB out`);
    tf.dispose([second, rainy]);
    const held = tf.memory().numBytes - base;
    const estimate = temporalMemory(h, w, { frames: 2 });
    assert.ok(held <= estimate.heldBytes, `held ${(held / 2 ** 20).toFixed(0)} MiB, estimated ${(estimate.heldBytes / 2 ** 20).toFixed(0)} MiB`);
    filter.dispose();
    clean.dispose();
  });
});

describe('frames that change size mid-stream', () => {
  test('restore with temporal: each size change starts over (the first frame of a new size is the per-frame output), every frame out at its own size, closed once, tensors flat', async () => {
    const model = SimpleIR.create('tiny'); // the identity: what differs from the input is the temporal stage's
    const sizes: Array<[number, number]> = [[48, 32], [48, 32], [48, 32], [32, 48], [32, 48], [33, 21], [48, 32], [48, 32]];
    let closed = 0;
    // The photograph at each size (still), with a bright streak in every frame's own column: fused frames lose it.
    const scenes = new Map<string, Uint8Array>();
    for (const [w, h] of sizes) {
      const scene = await photo(w, h);
      scenes.set(`${w}x${h}`, Uint8Array.from(scene.dataSync(), (v) => Math.round(v * 255)));
      scene.dispose();
    }
    const frames = sizes.map(([w, h], i): NodeFrame => {
      const data = Uint8Array.from(scenes.get(`${w}x${h}`)!);
      const x = (5 + 7 * i) % w;
      for (let y = 0; y < h; y++) for (let c = 0; c < 3; c++) data[3 * (y * w + x) + c] = Math.round(data[3 * (y * w + x) + c]! + 0.8 * (255 - data[3 * (y * w + x) + c]!));
      return { data, width: w, height: h, channels: 3, timestamp: i * FRAME_US, duration: FRAME_US, close: () => void closed++ };
    });
    const inputs = frames.map((f) => Uint8Array.from(f.data));
    const before = tf.memory().numTensors;
    const out = await lastValueFrom(from(frames).pipe(restore(model, { temporal: true }), toArray()));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(closed, frames.length);
    assert.deepEqual(out.map((f) => [f.width, f.height]), sizes);
    // The first frame of each size has no past of its size: the input, unchanged (identity model).
    for (const i of [0, 3, 5, 6]) assert.deepEqual(Uint8Array.from(out[i]!.data), inputs[i], `frame ${i} starts over`);
    // The third frame of the first run has two past frames of its size: its streak is removed.
    const error = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((e, v, k) => e + (v - b[k]!) ** 2, 0);
    const scene = scenes.get('48x32')!;
    assert.ok(error(out[2]!.data, scene) < 0.5 * error(inputs[2]!, scene), 'frame 2: its streak is removed');
    // Frame 7 is the second of its run: one past frame, and two frames are never averaged.
    assert.deepEqual(Uint8Array.from(out[7]!.data), inputs[7], 'frame 7');
    model.dispose();
  });
});
