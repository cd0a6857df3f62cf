/** Synthetic degradations: determinism, range, leaks, severity, animation and the physics each kind promises. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  DEGRADATION_KINDS,
  blur,
  createDegradation,
  filterValid,
  lowlight,
  noise,
  rain,
  randomDegradation,
  snow,
  syntheticScene,
  type Degradation,
  type DegradationKind,
} from '../src/core/degrade/index.js';
import { psnr, psnrBatch } from '../src/core/quality.js';
import { Random } from '../src/core/random.js';
import { isSimpleIRError } from '../src/core/errors.js';

const SIZE = 128;
let scene: tf.Tensor3D;

before(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  scene = syntheticScene(SIZE, SIZE, 3);
});

/** Applies a fresh degradation and returns the result's values, disposing everything else. */
function render(kind: DegradationKind, seed: number, strength: number, time = 0, img: tf.Tensor = scene): Float32Array {
  const d = createDegradation(kind, { seed, strength });
  const out = d.apply(img as tf.Tensor3D, { time });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  d.dispose();
  return values;
}

function psnrOf(kind: DegradationKind, seed: number, strength: number): number {
  const d = createDegradation(kind, { seed, strength });
  const out = d.apply(scene);
  const value = psnr(scene, out);
  out.dispose();
  d.dispose();
  return value;
}

function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Mean squared difference between horizontally and vertically adjacent pixels: high-frequency energy. */
function gradientEnergy(img: tf.Tensor3D): number {
  return tf.tidy(() => {
    const [h, w] = img.shape;
    const dx = tf.sub(img.slice([0, 1, 0], [h, w - 1, 3]), img.slice([0, 0, 0], [h, w - 1, 3]));
    const dy = tf.sub(img.slice([1, 0, 0], [h - 1, w, 3]), img.slice([0, 0, 0], [h - 1, w, 3]));
    return tf.add(tf.mean(tf.square(dx)), tf.mean(tf.square(dy))).dataSync()[0]!;
  });
}

describe('degradation registry', () => {
  it('lists six kinds and builds each one', () => {
    assert.deepEqual([...DEGRADATION_KINDS], ['rain', 'snow', 'lowlight', 'blur', 'haze', 'noise']);
    for (const kind of DEGRADATION_KINDS) {
      const d = createDegradation(kind, { seed: 1 });
      assert.equal(d.kind, kind);
      assert.equal(d.params.seed, 1);
      assert.equal(d.params.strength, 0.5);
      assert.doesNotThrow(() => JSON.stringify(d.params));
      d.dispose();
    }
  });

  it('rejects unknown kinds, bad strengths and bad images with typed errors', () => {
    assert.throws(() => createDegradation('fog' as DegradationKind), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => rain({ strength: 1.5 }), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => snow({ pixelScale: 0 }), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
    const d = noise({ seed: 1 });
    const gray = tf.zeros([16, 16, 1]);
    assert.throws(() => d.apply(gray as tf.Tensor3D), (e) => isSimpleIRError(e, 'INVALID_IMAGE'));
    gray.dispose();
    d.dispose();
    assert.throws(() => d.apply(scene), (e) => isSimpleIRError(e, 'DISPOSED'));
  });

  it('randomDegradation draws a seed and a strength in range, reproducibly', () => {
    const a = randomDegradation('rain', new Random(9), [0.2, 0.4]);
    const b = randomDegradation('rain', new Random(9), [0.2, 0.4]);
    const strength = a.params.strength as number;
    assert.ok(strength >= 0.2 && strength <= 0.4, `strength ${strength}`);
    assert.deepEqual(a.params, b.params);
    assert.throws(() => randomDegradation('rain', new Random(1), [0.5, 0.2]), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
    a.dispose();
    b.dispose();
  });
});

describe('every kind', () => {
  for (const kind of DEGRADATION_KINDS) {
    describe(kind, () => {
      it('is deterministic per seed and differs across seeds', () => {
        const a = render(kind, 11, 0.5);
        const b = render(kind, 11, 0.5);
        const c = render(kind, 12, 0.5);
        assert.deepEqual(a, b);
        assert.notDeepEqual(a, c);
        const pa = createDegradation(kind, { seed: 11 });
        const pc = createDegradation(kind, { seed: 12 });
        assert.notDeepEqual(pa.params, pc.params);
        pa.dispose();
        pc.dispose();
      });

      it('keeps the shape, stays in [0,1], keeps its input and leaks nothing', () => {
        const batch = tf.stack([scene, scene.reverse(1)]) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const d = createDegradation(kind, { seed: 5, strength: 1 });
        const first = d.apply(batch, { time: 0.2 });
        const afterFirst = tf.memory().numTensors;
        const second = d.apply(batch, { time: 0.4 });
        assert.equal(tf.memory().numTensors, afterFirst + 1, 'a warm apply adds only its output');
        assert.deepEqual(first.shape, batch.shape);
        const [min, max] = tf.tidy(() => [first.min().dataSync()[0]!, first.max().dataSync()[0]!]);
        assert.ok(min >= 0 && max <= 1, `range [${min}, ${max}]`);
        assert.ok(!batch.isDisposed);
        first.dispose();
        second.dispose();
        d.dispose();
        assert.equal(tf.memory().numTensors, before, 'dispose releases the cache');
        batch.dispose();
      });

      it('lowers PSNR by a sane amount, more at higher strength', () => {
        const seeds = [1, 2, 3];
        const mild = seeds.map((s) => psnrOf(kind, s, 0.1));
        const strong = seeds.map((s) => psnrOf(kind, s, 0.9));
        const [lo, hi] = kind === 'lowlight' ? [3, 25] : [8, 42];
        for (const v of [...mild, ...strong]) assert.ok(v > lo && v < hi, `${kind} PSNR ${v.toFixed(2)} outside ${lo}..${hi}`);
        assert.ok(meanOf(strong) < meanOf(mild) - 1, `${kind}: strong ${meanOf(strong).toFixed(2)} vs mild ${meanOf(mild).toFixed(2)}`);
      });
    });
  }
});

describe('rain and snow animate', () => {
  for (const kind of ['rain', 'snow'] as const) {
    it(`${kind}: frames move over time while the scene's statistics stay`, () => {
      const d = createDegradation(kind, { seed: 4, strength: 0.6 });
      const f0 = d.apply(scene, { time: 0 });
      const f1 = d.apply(scene, { time: 0.1 });
      const again = d.apply(scene, { time: 0.1 });
      const changed = tf.tidy(() => tf.mean(tf.abs(tf.sub(f0, f1))).dataSync()[0]!);
      assert.ok(changed > 0.005, `${kind} frames barely differ: ${changed}`);
      assert.deepEqual(f1.dataSync(), again.dataSync());
      const shift0 = tf.tidy(() => tf.mean(tf.sub(f0, scene)).dataSync()[0]!);
      const shift1 = tf.tidy(() => tf.mean(tf.sub(f1, scene)).dataSync()[0]!);
      assert.ok(Math.abs(shift0 - shift1) < 0.02, `${kind} overlay brightness jumps: ${shift0} vs ${shift1}`);
      for (const t of [f0, f1, again]) t.dispose();
      d.dispose();
    });
  }

  it('rain streaks differ between batch elements', () => {
    const batch = tf.stack([scene, scene]) as tf.Tensor4D;
    const d = rain({ seed: 2 });
    const out = d.apply(batch);
    const diff = tf.tidy(() => tf.mean(tf.abs(tf.sub(out.slice([0], [1]), out.slice([1], [1])))).dataSync()[0]!);
    assert.ok(diff > 0.005, `batch elements share a pattern: ${diff}`);
    const [p0, p1] = psnrBatch(batch, out);
    assert.ok(Number.isFinite(p0) && Number.isFinite(p1));
    for (const t of [batch, out]) t.dispose();
    d.dispose();
  });

  it('rain is sized in pixels: a crop and a larger frame brighten alike', () => {
    const brighten = (size: number): number => {
      const grey = tf.fill([size, size, 3], 0.3) as tf.Tensor3D;
      const d = rain({ seed: 8, strength: 0.5, veil: 0, sceneBlur: 0 });
      const out = d.apply(grey);
      const v = tf.tidy(() => tf.mean(tf.sub(out, grey)).dataSync()[0]!);
      for (const t of [grey, out]) t.dispose();
      d.dispose();
      return v;
    };
    const small = brighten(96);
    const large = brighten(320);
    assert.ok(small / large > 0.6 && small / large < 1.6, `crop ${small} vs frame ${large}`);
  });
});

describe('filters at full HD', () => {
  it('a 21x21 filter over a 1080p frame equals the same filter over a crop (wasm convolutions run in bands)', () => {
    const kernel = { height: 21, width: 21, data: Float32Array.from({ length: 441 }, (_, i) => ((i * 7919) % 13) / 2000) };
    const frame = tf.randomUniform([1, 1080, 1920, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const full = filterValid(frame, kernel);
    const crop = frame.slice([0, 900, 1700, 0], [1, 84, 84, 1]);
    const expected = filterValid(crop, kernel);
    const actual = full.slice([0, 900, 1700, 0], [1, 64, 64, 1]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0]!);
    assert.ok(diff < 1e-4, `max difference ${diff}`);
    for (const t of [frame, full, crop, expected, actual]) t.dispose();
  });
});

describe('kind-specific physics', () => {
  it('low light darkens the image', () => {
    const d = lowlight({ seed: 3, strength: 0.3 });
    const out = d.apply(scene);
    const ratio = tf.tidy(() => tf.mean(out).dataSync()[0]! / tf.mean(scene).dataSync()[0]!);
    assert.ok(ratio < 0.6, `mean ratio ${ratio}`);
    out.dispose();
    d.dispose();
  });

  it('blur removes high-frequency energy, more at higher strength', () => {
    const energy = (strength: number): number => {
      const d = blur({ seed: 6, strength, noise: null });
      const out = d.apply(scene) as tf.Tensor3D;
      const e = gradientEnergy(out);
      out.dispose();
      d.dispose();
      return e;
    };
    const clean = gradientEnergy(scene);
    const mild = energy(0);
    const strong = energy(1);
    assert.ok(mild < 0.8 * clean, `mild ${mild} vs clean ${clean}`);
    assert.ok(strong < 0.7 * mild, `strong ${strong} vs mild ${mild}`);
  });

  it('noise adds zero-mean noise of the sampled size', () => {
    const grey = tf.fill([96, 96, 3], 0.5) as tf.Tensor3D;
    const d = noise({ seed: 4, strength: 0.5, shot: 0, grain: 0 });
    const out = d.apply(grey);
    const [mean, std] = tf.tidy(() => {
      const r = tf.sub(out, grey);
      return [tf.mean(r).dataSync()[0]!, tf.sqrt(tf.mean(tf.square(r))).dataSync()[0]!];
    });
    const read = d.params.read as number;
    assert.ok(Math.abs(mean) < 0.2 * read, `mean ${mean}`);
    assert.ok(Math.abs(std / read - 1) < 0.1, `std ${std} vs ${read}`);
    for (const t of [grey, out]) t.dispose();
    d.dispose();
  });

  it('haze lowers contrast and pulls towards the airlight', () => {
    const d = createDegradation('haze', { seed: 2, strength: 0.8 });
    const out = d.apply(scene);
    const [stdClean, stdHazy] = tf.tidy(() => [tf.moments(scene).variance.sqrt().dataSync()[0]!, tf.moments(out).variance.sqrt().dataSync()[0]!]);
    assert.ok(stdHazy < 0.8 * stdClean, `std ${stdHazy} vs ${stdClean}`);
    out.dispose();
    d.dispose();
  });

  it('parameter overrides are honoured and reported', () => {
    const d = rain({ seed: 1, angle: 20 });
    assert.equal(d.params.angle, 20);
    d.dispose();
  });

  it('createDegradation takes the kind\'s style parameters: the same pixels as the generator, and not those of the sampled style', () => {
    const tensors = tf.memory().numTensors;
    const pixels = (d: Degradation): Float32Array => {
      const out = d.apply(scene);
      const values = out.dataSync() as Float32Array;
      out.dispose();
      d.dispose();
      return values;
    };
    const fixed = createDegradation('rain', { seed: 1, strength: 0.6, angle: 20 });
    assert.equal(fixed.params.angle, 20);
    const viaFactory = pixels(fixed);
    const direct = pixels(rain({ seed: 1, strength: 0.6, angle: 20 }));
    const sampled = pixels(createDegradation('rain', { seed: 1, strength: 0.6 }));
    assert.deepEqual(viaFactory, direct);
    let diff = 0;
    for (let i = 0; i < sampled.length; i++) diff = Math.max(diff, Math.abs(sampled[i]! - viaFactory[i]!));
    assert.ok(diff > 0.05, `the angle changed nothing (max difference ${diff})`);
    const dark = createDegradation('lowlight', { seed: 2, gamma: 2 });
    assert.equal(dark.params.gamma, 2);
    dark.dispose();
    assert.equal(tf.memory().numTensors, tensors);
  });
});

