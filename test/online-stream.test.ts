/**
 * The `reviewLearning` operator in a live stream (Node, wasm, tiny, 48-px frames, 32-px crops): every
 * restored frame comes from one published weight version, the step budget holds on average (steps vs
 * frames), application pairs, events$, and teardown.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { interval, lastValueFrom, map, Subject, take, toArray } from 'rxjs';
import { createDegradation, type Degradation } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { LearnerEvent, OnlineLearnerOptions } from '../src/core/review/online/index.js';
import { nodeFrameConverter, type NodeFrame } from '../src/streams/frames.js';
import { restore } from '../src/streams/restore.js';
import { createOnlineLearner, reviewLearning } from '../src/streams/review-learning.js';
import { tf, useBackend } from './helpers/tf.js';

const SIZE = 48;
const FRAME_US = 40_000;
const OPTIONS: OnlineLearnerOptions = { cropSize: 32, batchSize: 2, seedPerDomain: 2, learningRate: 1e-2 };
let haze: Degradation;
const images: Uint8Array[] = [];

/** A smooth seeded RGB frame; frame `i` shows image `i % 5`. */
function frame(i: number, onClose?: () => void): NodeFrame {
  const f: NodeFrame = { data: images[i % images.length]!, width: SIZE, height: SIZE, channels: 3, timestamp: i * FRAME_US, duration: FRAME_US };
  if (onClose) f.close = onClose;
  return f;
}

before(async () => {
  await useBackend('wasm');
  haze = createDegradation('haze', { seed: 5, strength: 1 });
  for (let k = 0; k < 5; k++) {
    const t = tf.tidy(() => tf.cast(tf.mul(tf.image.resizeBilinear(tf.randomUniform([1, 4, 4, 3], 0.1, 0.95, 'float32', 40 + k) as tf.Tensor4D, [SIZE, SIZE], true), 255), 'int32'));
    images.push(Uint8Array.from(t.dataSync()));
    t.dispose();
  }
});
after(() => haze.dispose());

/** The restored bytes of `input` under `weights`, exactly as the restore operator makes them. */
async function restoredWith(model: SimpleIR, weights: Map<string, Float32Array>, input: NodeFrame): Promise<Uint8Array> {
  model.setWeights(weights);
  const { x, info } = nodeFrameConverter.toTensor(input) as { x: tf.Tensor4D; info: Parameters<typeof nodeFrameConverter.fromTensor>[1] };
  const y = model.predict(x);
  const out = await nodeFrameConverter.fromTensor(y, info);
  tf.dispose([x, y]);
  return out.data as Uint8Array;
}

test('live: every restored frame equals the output of one published weight version', async () => {
  const model = SimpleIR.create('tiny');
  const learner = createOnlineLearner(model, { ...OPTIONS, stepBudgetMs: 1000 });
  const versions = new Map<number, Map<string, Float32Array>>([[0, model.getWeights()]]);
  const events: LearnerEvent[] = [];
  learner.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'swap') versions.set(e.version, model.getWeights());
  });
  const source = interval(5).pipe(take(40), map((i) => frame(i)));
  const out = await lastValueFrom(source.pipe(reviewLearning(learner, { domain: 'haze', pairs: 'synthesize', degrade: haze }), restore(model, { mode: 'live' }), toArray()));
  const steps = events.filter((e) => e.type === 'step').length;
  console.log(`# ${out.length} frames restored, ${steps} steps, ${versions.size} weight versions`);
  assert.ok(versions.size >= 4, 'several versions were published');
  const checker = SimpleIR.create('tiny');
  const used = new Set<number>();
  for (const y of out) {
    const input = frame(y.timestamp / FRAME_US);
    let match = -1;
    for (const [v, w] of versions) {
      const bytes = await restoredWith(checker, w, input);
      if (bytes.every((b, k) => b === y.data[k])) {
        match = v;
        break;
      }
    }
    assert.ok(match >= 0, `frame ${y.timestamp / FRAME_US} matches no published weight version`);
    used.add(match);
  }
  assert.ok(used.size >= 3, `frames were restored by several versions (${[...used]})`);
  checker.dispose();
  learner.dispose();
  model.dispose();
});

test('the step budget holds on average: steps per frame follow stepBudgetMs', async () => {
  const run = async (stepBudgetMs: number) => {
    const model = SimpleIR.create('tiny');
    const learner = createOnlineLearner(model, { ...OPTIONS, stepBudgetMs, seedDomains: [] });
    const stepMs: number[] = [];
    learner.events$.subscribe((e) => void (e.type === 'step' && stepMs.push(e.ms)));
    const source = interval(10).pipe(take(60), map((i) => frame(i)));
    await lastValueFrom(source.pipe(reviewLearning(learner, { domain: 'haze', pairs: 'synthesize', degrade: haze }), restore(model, { mode: 'live' }), toArray()));
    const stats = learner.budgetStats;
    learner.dispose();
    model.dispose();
    return { stats, stepMs };
  };
  const small = await run(10);
  const large = await run(400);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`# budget 10 ms: ${small.stats.steps} steps / ${small.stats.frames} frames, busy ${small.stats.busyMs.toFixed(0)} ms, step ${mean(small.stepMs).toFixed(0)} ms`);
  console.log(`# budget 400 ms: ${large.stats.steps} steps / ${large.stats.frames} frames, busy ${large.stats.busyMs.toFixed(0)} ms`);
  for (const { stats } of [small, large]) {
    assert.equal(stats.frames, 60);
    assert.ok(stats.steps <= stats.frames, 'at most one step per frame');
  }
  // Learning time is granted per frame: with 10 ms per frame it stays within 60 x 10 ms plus the charges under way.
  assert.ok(small.stats.busyMs <= 60 * 10 + 2 * small.stats.maxChargeMs, `busy ${small.stats.busyMs} ms`);
  assert.ok(small.stats.steps >= 1, 'learning happens even on a small budget');
  assert.ok(small.stats.steps <= (60 * 10) / Math.min(...small.stepMs) + 2, 'steps follow budget / step time');
  assert.ok(large.stats.steps >= 3 * small.stats.steps, `a larger budget takes more steps (${large.stats.steps} vs ${small.stats.steps})`);
});

test('application pairs: one crop per pair, tensors released, frames pass through unchanged', async () => {
  const model = SimpleIR.create('tiny');
  tf.dispose(haze.apply(tf.zeros([SIZE, SIZE, 3]) as tf.Tensor3D)); // warms the degradation's pattern cache
  const tensors = tf.memory().numTensors;
  const learner = createOnlineLearner(model, { ...OPTIONS, stepBudgetMs: 1000 });
  const events: LearnerEvent[] = [];
  learner.events$.subscribe((e) => events.push(e));
  const pairs = new Subject<{ degraded: tf.Tensor3D; clean: tf.Tensor3D }>();
  const frames = new Subject<NodeFrame>();
  const seen: NodeFrame[] = [];
  const done = lastValueFrom(frames.pipe(reviewLearning(learner, { domain: 'night-haze', pairs }), toArray()));
  for (let i = 0; i < 16; i++) {
    const clean = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(images[i % 5]!, [SIZE, SIZE, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
    pairs.next({ clean, degraded: haze.apply(clean) as tf.Tensor3D });
    const f = frame(i);
    seen.push(f);
    frames.next(f);
    await new Promise((r) => setTimeout(r, 30));
  }
  frames.complete();
  const out = await done;
  assert.deepEqual(out, seen, 'frames pass through, in order, unchanged');
  const steps = events.filter((e) => e.type === 'step');
  assert.ok(steps.length >= 3, `steps on pairs: ${steps.length}`);
  assert.ok(steps.every((e) => e.type === 'step' && e.domain === 'night-haze'));
  await new Promise((r) => setTimeout(r, 500)); // a step under way finishes
  learner.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'pair tensors and the learner\'s tensors are released');
  model.dispose();
});

test('unsubscribing closes held frames; one stream teaches a learner at a time; events$ completes on dispose', async () => {
  const model = SimpleIR.create('tiny');
  const learner = createOnlineLearner(model, { ...OPTIONS, stepBudgetMs: 1000 });
  let completed = false;
  learner.events$.subscribe({ complete: () => (completed = true) });
  const frames = new Subject<NodeFrame>();
  let closed = 0;
  const received: NodeFrame[] = [];
  const sub = frames.pipe(reviewLearning(learner, { domain: 'haze', pairs: 'synthesize', degrade: haze })).subscribe((f) => received.push(f));
  const second = await lastValueFrom(frames.pipe(reviewLearning(learner, { domain: 'other', pairs: 'synthesize', degrade: haze }))).catch((e: unknown) => e);
  assert.equal((second as { code?: string }).code, 'INVALID_ARGUMENT');
  // The first frame is read for seeds (asynchronously); the next ones wait behind it.
  for (let i = 0; i < 3; i++) frames.next(frame(i, () => closed++));
  assert.equal(received.length, 0);
  sub.unsubscribe();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(received.length, 0, 'nothing after unsubscribe');
  assert.equal(closed, 3, 'the frames held were closed');
  await assert.rejects(
    lastValueFrom(frames.pipe(reviewLearning(learner, { domain: 'haze', pairs: 'synthesize' }))),
    { code: 'INVALID_ARGUMENT' },
    'synthesize needs a degradation',
  );
  learner.dispose();
  assert.ok(completed);
  model.dispose();
});
