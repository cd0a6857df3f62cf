/** PSNR, SSIM and luminance entropy against values computed by hand. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { highPass, highPassPsnr, levelEntropy, luminanceEntropy, psnr, psnrBatch, ssim, ssimBatch } from '../src/core/quality.js';
import { entropyDifference } from '../src/core/review/order.js';
import { isSimpleIRError } from '../src/core/errors.js';

before(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

/** A seeded image in [0.2, 0.8], so that small offsets never clip. */
function image(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, 0.2, 0.8, 'float32', seed);
}

describe('psnr', () => {
  it('is exact for a constant offset: 10 log10(1 / d^2)', () => {
    const a = image([32, 32, 3], 1);
    const b = tf.add(a, 0.1);
    close(psnr(a, b), 20, 1e-3, 'offset 0.1');
    close(psnr(a, tf.sub(a, 0.05)), 20 * Math.log10(1 / 0.05), 1e-3, 'offset 0.05');
    close(psnr(tf.mul(a, 255), tf.mul(b, 255), 255), 20, 1e-3, 'maxVal 255');
    assert.equal(psnr(a, a), Infinity);
  });

  it('pools the batch in psnr and splits it in psnrBatch', () => {
    const a = image([2, 16, 16, 3], 2);
    const offsets = tf.tensor4d([0.1, 0.05], [2, 1, 1, 1]);
    const b = tf.add(a, offsets);
    const [p0, p1] = psnrBatch(a, b);
    close(p0!, 20, 1e-3, 'first');
    close(p1!, 26.0206, 1e-3, 'second');
    close(psnr(a, b), 10 * Math.log10(1 / ((0.01 + 0.0025) / 2)), 1e-3, 'pooled');
    assert.equal(psnrBatch(a.slice([0], [1]).squeeze([0]), b.slice([0], [1]).squeeze([0])).length, 1);
  });

  it('rejects mismatched shapes', () => {
    assert.throws(() => psnr(tf.zeros([8, 8, 3]), tf.zeros([8, 9, 3])), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  });
});

describe('highPassPsnr', () => {
  /** A 0/1 checkerboard of single pixels, [1, h, w, 3]. */
  const checkerboard = (h: number, w: number): tf.Tensor4D =>
    tf.tensor4d(Float32Array.from({ length: h * w * 3 }, (_, i) => (Math.floor(i / 3 / w) + Math.floor(i / 3) % w) % 2), [1, h, w, 3]);

  it('a constant image has no high-pass band; a checkerboard\'s band is +-0.5', () => {
    const band = highPass(tf.fill([1, 24, 24, 3], 0.37) as tf.Tensor4D);
    close(tf.max(tf.abs(band)).dataSync()[0]!, 0, 1e-6, 'constant');
    const checker = highPass(checkerboard(24, 24));
    // A Gaussian of sigma 2 passes 3e-9 of the Nyquist frequency: the blur is flat 0.5, the band is +-0.5.
    close(tf.mean(tf.abs(checker)).dataSync()[0]!, 0.5, 1e-4, 'checkerboard |band|');
  });

  it('known values: offsets are invisible (> 100 dB: float rounding only), identical images Infinity, a checkerboard against flat grey is 10 log10(1 / 0.25) dB', () => {
    const a = image([32, 32, 3], 3);
    assert.ok(highPassPsnr(a, tf.add(a, 0.1)) > 100, 'a brightness offset (float rounding only)');
    assert.ok(highPassPsnr(tf.fill([16, 16, 3], 0.2), tf.fill([16, 16, 3], 0.9)) > 100, 'two constants');
    assert.equal(highPassPsnr(a, a), Infinity, 'identical');
    assert.ok(Number.isFinite(psnr(a, tf.add(a, 0.1))), 'psnr sees the offset');
    close(highPassPsnr(checkerboard(32, 32), tf.fill([1, 32, 32, 3], 0.5)), 10 * Math.log10(4), 1e-3, 'checkerboard vs grey');
    // A checkerboard against its inverse: bands +-0.5 against -+0.5, MSE 1, 0 dB.
    close(highPassPsnr(checkerboard(32, 32), tf.sub(1, checkerboard(32, 32))), 0, 1e-3, 'checkerboard vs inverse');
    close(highPassPsnr(tf.mul(checkerboard(32, 32), 255), tf.fill([1, 32, 32, 3], 127.5), 2, 255), 10 * Math.log10(4), 1e-3, 'maxVal 255');
  });

  it('sees thin streaks that a plain PSNR averages with everything else', () => {
    const a = image([64, 64, 3], 4);
    const streaks = tf.tidy(() => {
      const mask = tf.tensor4d(Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 64) % 16 === 0 ? 0.3 : 0), [1, 64, 64, 1]);
      return tf.add(a.expandDims(0), mask);
    });
    const offset = tf.add(a, 0.3 / Math.sqrt(16));
    // Same plain PSNR (same MSE), but the streaks are all high-pass and the offset none.
    close(psnr(a, streaks.squeeze([0])), psnr(a, offset), 1e-3, 'plain PSNR');
    assert.ok(highPassPsnr(a, streaks.squeeze([0])) < 30, 'streaks');
    assert.ok(highPassPsnr(a, offset) > 100, 'offset');
  });

  it('rejects mismatched shapes with a typed error', () => {
    assert.throws(() => highPassPsnr(tf.zeros([8, 8, 3]), tf.zeros([8, 9, 3])), (e: unknown) => isSimpleIRError(e) && e.code === 'INVALID_ARGUMENT');
  });
});

describe('ssim', () => {
  it('is 1 for identical images and symmetric', () => {
    const a = image([40, 48, 3], 3);
    const b = tf.clipByValue(tf.add(a, tf.randomNormal([40, 48, 3], 0, 0.05, 'float32', 4)), 0, 1);
    close(ssim(a, a), 1, 1e-5, 'ssim(a,a)');
    close(ssim(a, a, { channels: 'rgb' }), 1, 1e-5, 'rgb ssim(a,a)');
    close(ssim(a, b), ssim(b, a), 1e-6, 'symmetry');
    assert.ok(ssim(a, b) < 0.99 && ssim(a, b) > 0.5, `ssim ${ssim(a, b)}`);
  });

  it('matches the closed form for flat images: (2xy + C1) / (x^2 + y^2 + C1)', () => {
    const x = 0.3;
    const y = 0.6;
    const c1 = 0.01 ** 2;
    const expected = (2 * x * y + c1) / (x * x + y * y + c1);
    close(ssim(tf.fill([16, 16, 3], x), tf.fill([16, 16, 3], y)), expected, 1e-4, 'flat y');
    close(ssim(tf.fill([16, 16, 3], x), tf.fill([16, 16, 3], y), { channels: 'rgb' }), expected, 1e-4, 'flat rgb');
  });

  it('falls as noise grows, per batch element', () => {
    const a = image([16, 16, 3], 5).expandDims(0).tile([3, 1, 1, 1]);
    const sigmas = tf.tensor4d([0, 0.02, 0.1], [3, 1, 1, 1]);
    const b = tf.clipByValue(tf.add(a, tf.mul(tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 6), sigmas)), 0, 1);
    const [s0, s1, s2] = ssimBatch(a, b);
    close(s0!, 1, 1e-5, 'no noise');
    assert.ok(s1! < 1 && s2! < s1!, `${s1} ${s2}`);
    close(ssim(a, b), (s0! + s1! + s2!) / 3, 1e-6, 'batch mean');
  });

  it('needs at least 11x11 pixels', () => {
    assert.throws(() => ssim(tf.zeros([8, 8, 3]), tf.zeros([8, 8, 3])), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  });
});

describe('luminanceEntropy', () => {
  it('is 0 for a flat image, 1 bit for two levels, 8 bits for a full ramp', () => {
    assert.equal(luminanceEntropy(tf.fill([8, 8, 3], 0.4)), 0);
    const halves = tf.concat([tf.fill([4, 8, 3], 0.2), tf.fill([4, 8, 3], 0.7)], 0);
    close(luminanceEntropy(halves), 1, 1e-9, 'two levels');
    const ramp = tf.linspace(0, 1, 256).reshape([1, 256, 1]).tile([2, 1, 3]);
    close(luminanceEntropy(ramp), 8, 1e-9, 'ramp');
    close(luminanceEntropy(ramp.expandDims(0)), 8, 1e-9, 'batched ramp');
  });

  it('weights channels as BT.601 luma', () => {
    // Pure red 1.0 has Y = 0.299 -> level 76; pure green Y = 0.587 -> level 150: two equal halves, 1 bit.
    const red = tf.tensor1d([1, 0, 0]).reshape([1, 1, 3]).tile([4, 4, 1]);
    const green = tf.tensor1d([0, 1, 0]).reshape([1, 1, 3]).tile([4, 4, 1]);
    close(luminanceEntropy(tf.concat([red, green], 0)), 1, 1e-9, 'red and green');
    close(luminanceEntropy(tf.concat([red, tf.fill([4, 4, 3], 0.299)], 0)), 0, 1e-9, 'red equals grey 0.299');
  });

  it('is the one level entropy that the task order uses too (levelEntropy); empty input is INVALID_ARGUMENT', () => {
    // Levels 0, 0, 85, 170, 255, 255, 255, 255: p = 1/4, 1/8, 1/8, 1/2 -> 1.75 bits.
    const levels = Uint8Array.from([0, 0, 85, 170, 255, 255, 255, 255]);
    close(levelEntropy(levels), 1.75, 1e-12, 'four levels');
    const grey = tf.tensor3d(Array.from(levels).flatMap((l) => [l / 255, l / 255, l / 255]), [1, 8, 3]);
    close(luminanceEntropy(grey), 1.75, 1e-12, 'the same levels as an image');
    close(entropyDifference(new Uint8Array(8).fill(9), levels), 1.75, 1e-12, 'the task order');
    assert.throws(() => levelEntropy([]), (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && /empty/.test(e.message));
    assert.throws(() => luminanceEntropy(tf.zeros([0, 4, 3])), (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && /luminanceEntropy: the image is empty/.test(e.message));
  });
});
