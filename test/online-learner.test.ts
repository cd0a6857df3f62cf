/**
 * The online Review Learning learner (core, Node, wasm, tiny, 32-px crops): seeding, memory bounds and
 * per-domain balance, loss falling on a new domain, pause/resume/reset, folder save/load, events.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { folderLearnerStore } from '../src/adapters/node/learner-store.js';
import { createDegradation, type Degradation } from '../src/core/degrade/index.js';
import { isSimpleIRError } from '../src/core/errors.js';
import { forward } from '../src/core/model/forward.js';
import { nativeOps } from '../src/core/model/ops.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { OnlineLearner, type LearnerEvent, type OnlineLearnerOptions } from '../src/core/review/online/index.js';
import { isReplayMemoryJSON } from '../src/core/review/replay.js';
import { createOnlineLearner } from '../src/streams/review-learning.js';
import { tf, useBackend } from './helpers/tf.js';

/** A smooth seeded image [1, S, S, 3] in [0.1, 0.95]. */
function smoothImage(seed: number, size = 64): tf.Tensor4D {
  return tf.tidy(() => tf.image.resizeBilinear(tf.randomUniform([1, 5, 5, 3], 0.1, 0.95, 'float32', seed) as tf.Tensor4D, [size, size], true));
}

let dir: string;
let haze: Degradation;
let frames: tf.Tensor4D[];
const BASE: OnlineLearnerOptions = { cropSize: 32, batchSize: 4, learningRate: 3e-3, seedPerDomain: 4, stepBudgetMs: 1e6 };

before(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-online-'));
  haze = createDegradation('haze', { seed: 3, strength: 1 });
  frames = Array.from({ length: 6 }, (_, i) => smoothImage(100 + i));
});
after(async () => {
  tf.dispose(frames);
  haze.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Seeds `learner` from the first frames, sets `domain`, and runs `steps` steps on hazed crops of the frames. */
async function train(learner: OnlineLearner, steps: number, domain = 'haze'): Promise<void> {
  for (let i = 0; learner.needsSeedFrames; i++) await learner.seedFrom(frames[i % frames.length]!);
  learner.setDomain(domain);
  for (let i = 0; i < steps; i++) {
    learner.frameBoundary();
    learner.addCleanFrame(frames[i % frames.length]!, haze, i / 25, learner.cropsWanted());
    await learner.step();
  }
  learner.frameBoundary();
}

/** Mean L1 on held-out hazed crops of unseen images, with `weights`. */
function heldOutLoss(weights: ReadonlyMap<string, tf.Tensor>): number {
  return tf.tidy(() => {
    const clean = tf.concat([smoothImage(900, 32), smoothImage(901, 32), smoothImage(902, 32)]) as tf.Tensor4D;
    const degraded = haze.apply(clean, { time: 0 }) as tf.Tensor4D;
    return tf.mean(tf.abs(tf.sub(forward(SimpleIR.create('tiny').config, nativeOps, weights, degraded), clean))).dataSync()[0]!;
  });
}

test('seeds the four shipped tasks from the first clean frames when the weights ship no pixel memory', async () => {
  const model = SimpleIR.create('tiny');
  const learner = new OnlineLearner(model, BASE);
  const events: LearnerEvent[] = [];
  learner.listen({ next: (e) => events.push(e) });
  assert.equal(learner.seeded, 'pending');
  await learner.seedFrom(frames[0]!);
  assert.equal(learner.seeded, 'pending', 'half the seeds come from the first frame');
  await learner.seedFrom(frames[1]!);
  assert.equal(learner.seeded, 'synthesized');
  assert.deepEqual(Object.fromEntries(learner.memory.sizeByTask()), { rain: 4, snow: 4, lowlight: 4, blur: 4 });
  for (const e of learner.memory) assert.equal(e.sample.degraded.length, 32 * 32 * 3);
  assert.deepEqual(events.map((e) => e.type), ['domain']);
  assert.equal(await learner.step(), null, 'no step before a domain is set');
  learner.dispose();
  model.dispose();
});

test('the memory stays bounded and balanced per domain', async () => {
  const model = SimpleIR.create('tiny');
  const learner = new OnlineLearner(model, { ...BASE, memory: { capacity: 12, perDomain: true } });
  let hard = 0;
  learner.listen({ next: (e) => void (e.type === 'hard-sample' && hard++) });
  await train(learner, 12);
  const sizes = [...learner.memory.sizeByTask().values()];
  console.log(`# memory by domain: ${JSON.stringify(Object.fromEntries(learner.memory.sizeByTask()))}, hard samples ${hard}`);
  assert.ok(hard > 0, 'retired crops of the new domain entered the memory');
  assert.deepEqual(learner.memory.tasks(), ['rain', 'snow', 'lowlight', 'blur', 'haze']);
  assert.ok(learner.memory.size <= 12);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes}`);
  learner.dispose();

  const capped = new OnlineLearner(model, { ...BASE, memory: { capacity: 100, perDomain: 2 } });
  await train(capped, 8);
  assert.ok([...capped.memory.sizeByTask().values()].every((n) => n <= 2));
  capped.dispose();
  model.dispose();
});

test('loss falls over steps on a synthetic new domain, without leaking tensors', async () => {
  const model = SimpleIR.create('tiny');
  const learner = new OnlineLearner(model, BASE);
  const losses: number[] = [];
  learner.listen({ next: (e) => void (e.type === 'step' && losses.push(e.freshLoss)) });
  const before = heldOutLoss(model.params);
  await train(learner, 10);
  const tensors = tf.memory().numTensors;
  await train(learner, 30);
  assert.ok(tf.memory().numTensors <= tensors + 2, `tensors ${tensors} -> ${tf.memory().numTensors}`);
  const afterLoss = heldOutLoss(model.params);
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  console.log(`# held-out L1 ${before.toFixed(4)} -> ${afterLoss.toFixed(4)}; fresh loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  assert.ok(afterLoss < before * 0.8, `held-out loss should fall by 20 %: ${before} -> ${afterLoss}`);
  assert.ok(last < first, 'training loss falls');
  assert.equal(heldOutLoss(learner.weights), afterLoss, 'the model holds the learner weights after the last frame boundary');
  learner.dispose();
  model.dispose();
});

test('pause, resume and reset are one call each', async () => {
  const model = SimpleIR.create('tiny');
  const shipped = model.getWeights();
  const learner = new OnlineLearner(model, BASE);
  const events: LearnerEvent[] = [];
  learner.listen({ next: (e) => events.push(e) });
  await train(learner, 3);
  learner.pause();
  assert.equal(learner.paused, true);
  learner.frameBoundary();
  learner.addCleanFrame(frames[0]!, haze, 1, 2);
  assert.equal(learner.stepDue, false);
  assert.equal(await learner.step(), null, 'no step while paused');
  learner.resume();
  assert.ok(await learner.step(), 'steps again after resume');
  learner.frameBoundary();
  assert.notDeepEqual(model.getWeights().get('head.w'), shipped.get('head.w'));
  assert.ok(learner.memory.tasks().includes('haze'));
  learner.reset();
  const last = events.at(-1)!;
  assert.equal(last.type, 'swap');
  assert.equal(last.type === 'swap' && last.reason, 'reset');
  for (const [name, v] of shipped) {
    assert.deepEqual(model.getWeights().get(name), v, `model ${name} back to shipped`);
    assert.deepEqual(learner.weights.get(name)!.dataSync(), v, `learner ${name} back to shipped`);
  }
  assert.deepEqual(learner.memory.tasks(), ['rain', 'snow', 'lowlight', 'blur'], 'domains learnt online are forgotten, the seeds stay');
  learner.dispose();
  model.dispose();
});

test('save and load round-trip through a folder; the saved weights ship a bounded pixel memory', async () => {
  const model = SimpleIR.create('tiny');
  const learner = new OnlineLearner(model, BASE);
  await train(learner, 9);
  const store = folderLearnerStore(join(dir, 'adapted'));
  await learner.save(store);

  const model2 = SimpleIR.create('tiny');
  const learner2 = new OnlineLearner(model2, BASE);
  const swaps: LearnerEvent[] = [];
  learner2.listen({ next: (e) => swaps.push(e) });
  await learner2.load(store);
  assert.equal(swaps.at(-1)?.type === 'swap' && swaps.at(-1)?.type, 'swap');
  for (const [name, v] of learner.weights) {
    assert.deepEqual(learner2.weights.get(name)!.dataSync(), v.dataSync(), name);
    assert.deepEqual(model2.getWeights().get(name), v.dataSync(), `published ${name}`);
  }
  assert.deepEqual([...learner2.memory].map((e) => [e.task, e.id, e.score]), [...learner.memory].map((e) => [e.task, e.id, e.score]));
  const a = [...learner.memory].at(-1)!;
  assert.deepEqual(learner2.memory.get(a.task, a.id)!.sample, a.sample);
  assert.equal(learner2.domain, 'haze');
  assert.equal(learner2.steps, learner.steps);
  await assert.rejects(learner2.load(folderLearnerStore(join(dir, 'nothing'))), { code: 'WEIGHTS_NOT_FOUND' });

  const shipped = await SimpleIR.load(join(dir, 'adapted', 'weights.json'));
  assert.ok(isReplayMemoryJSON(shipped.metadata.memory));
  const learner3 = new OnlineLearner(shipped, BASE);
  assert.equal(learner3.seeded, 'shipped');
  assert.deepEqual(learner3.memory.tasks(), learner.memory.tasks());
  for (const e of learner3.memory) assert.ok(e.sample.width <= 64 && e.sample.height <= 64);
  assert.ok([...learner3.memory.sizeByTask().values()].every((n) => n <= 8));
  for (const l of [learner, learner2, learner3]) l.dispose();
  for (const m of [model, model2, shipped]) m.dispose();
});

test('events: domain, step, hard-sample and swap, with memory sizes', async () => {
  const model = SimpleIR.create('tiny');
  const learner = new OnlineLearner(model, BASE);
  const events: LearnerEvent[] = [];
  let completed = false;
  learner.listen({ next: (e) => events.push(e), complete: () => (completed = true) });
  await train(learner, 6);
  const types = new Set(events.map((e) => e.type));
  assert.deepEqual([...types].sort(), ['domain', 'hard-sample', 'step', 'swap']);
  const step = events.find((e) => e.type === 'step')!;
  assert.ok(step.type === 'step' && step.loss > 0 && step.reviewed === 2 && step.memorySize === 16 && step.memoryByDomain.rain === 4);
  const swaps = events.filter((e) => e.type === 'swap');
  assert.deepEqual(swaps.map((e) => e.type === 'swap' && e.version), [1, 2, 3, 4, 5, 6]);
  learner.dispose();
  assert.ok(completed, 'listeners complete on dispose');
  model.dispose();
});

test("review targets: earlier domains replay the shipped weights' outputs (reviewTarget 'shipped', the default) or their clean crops", async () => {
  const firstStep = async (options: OnlineLearnerOptions): Promise<{ fresh: number; review: number }> => {
    const model = SimpleIR.create('tiny', { seed: 5 });
    const learner = new OnlineLearner(model, { ...BASE, ...options });
    const steps: LearnerEvent[] = [];
    learner.listen({ next: (e) => e.type === 'step' && steps.push(e) });
    await train(learner, 1);
    const e = steps[0]!;
    assert.ok(e.type === 'step' && e.reviewed === 2 && e.reviewLoss !== null);
    learner.dispose();
    model.dispose();
    return { fresh: e.freshLoss, review: e.reviewLoss };
  };
  const shipped = await firstStep({});
  const clean = await firstStep({ reviewTarget: 'clean' });
  // At the first step the variables are the shipped weights: their output on the reviewed crops is the target itself.
  assert.ok(shipped.review < 1e-4, `review loss against the shipped outputs ${shipped.review}`);
  assert.ok(clean.review > 0.01, `review loss against the clean crops ${clean.review}`);
  assert.ok(Math.abs(shipped.fresh - clean.fresh) < 1e-6, 'fresh crops train against their clean images either way');
  assert.throws(() => new OnlineLearner(SimpleIR.create('tiny'), { reviewTarget: 'teacher' as 'clean' }), /reviewTarget/);
});

test('replay synthesis: earlier domains are synthesised from the clean frames, reviewed, and refill the memory (replaySynthesis 0 turns it off)', async () => {
  const run = async (replaySynthesis: number): Promise<{ synthesized: number[]; entered: { domain: string; id: string }[]; leaked: number }> => {
    const model = SimpleIR.create('tiny', { seed: 5 });
    const before = tf.memory().numTensors;
    const learner = new OnlineLearner(model, { ...BASE, replaySynthesis });
    const synthesized: number[] = [];
    const entered: { domain: string; id: string }[] = [];
    learner.listen({
      next: (e) => {
        if (e.type === 'step') synthesized.push(e.synthesized);
        if (e.type === 'hard-sample') entered.push({ domain: e.domain, id: e.id });
      },
    });
    await train(learner, 12);
    learner.dispose();
    const leaked = tf.memory().numTensors - before;
    model.dispose();
    return { synthesized, entered, leaked };
  };
  const on = await run(1);
  const off = await run(0);
  assert.equal(on.synthesized.length, 12);
  assert.ok(on.synthesized.every((n) => n >= 1 && n <= 2), `synthesised crops per step ${on.synthesized}`);
  const synthEntered = on.entered.filter((e) => e.id.startsWith('s'));
  assert.ok(synthEntered.length > 0, 'synthesised crops enter the memory after their visits');
  assert.ok(synthEntered.every((e) => ['rain', 'snow', 'lowlight', 'blur'].includes(e.domain)), JSON.stringify(synthEntered));
  assert.equal(on.leaked, 0, 'no tensor left after dispose');
  assert.deepEqual(off.synthesized, Array(12).fill(0));
  assert.ok(!off.entered.some((e) => e.id.startsWith('s')));
  assert.throws(() => new OnlineLearner(SimpleIR.create('tiny'), { replaySynthesis: -1 }), /replaySynthesis/);
});

test('weight averaging: the learner publishes, reports and saves the moving average of the trained weights (weightAveraging 0 publishes them raw)', async () => {
  /** Weights after each of `steps` steps (the learner's `weights` and the model's), with `weightAveraging`. */
  const run = async (weightAveraging: number, steps: number): Promise<{ learner: Map<string, Float32Array>[]; model: Map<string, Float32Array>[] }> => {
    const model = SimpleIR.create('tiny', { seed: 5 });
    const learner = new OnlineLearner(model, { ...BASE, weightAveraging });
    const out = { learner: [] as Map<string, Float32Array>[], model: [] as Map<string, Float32Array>[] };
    for (let i = 0; learner.needsSeedFrames; i++) await learner.seedFrom(frames[i % frames.length]!);
    learner.setDomain('haze');
    for (let i = 0; i < steps; i++) {
      learner.frameBoundary();
      learner.addCleanFrame(frames[i % frames.length]!, haze, i / 25, learner.cropsWanted());
      assert.ok(await learner.step(), `step ${i + 1} ran`);
      learner.frameBoundary();
      out.learner.push(new Map([...learner.weights].map(([n, t]) => [n, t.dataSync() as Float32Array])));
      out.model.push(model.getWeights());
    }
    learner.dispose();
    model.dispose();
    return out;
  };
  const shipped = SimpleIR.create('tiny', { seed: 5 });
  const w0 = shipped.getWeights();
  shipped.dispose();
  const raw = await run(0, 2);
  const avg = await run(0.5, 2);
  let moved = 0;
  for (const [name, v0] of w0) {
    const [r1, r2] = [raw.learner[0]!.get(name)!, raw.learner[1]!.get(name)!];
    const [a1, a2] = [avg.learner[0]!.get(name)!, avg.learner[1]!.get(name)!];
    for (let i = 0; i < v0.length; i++) {
      // The trained weights follow the same steps either way; the published ones are their average.
      assert.ok(Math.abs(a1[i]! - (0.5 * v0[i]! + 0.5 * r1[i]!)) < 1e-6, `${name}[${i}] after one step`);
      assert.ok(Math.abs(a2[i]! - (0.25 * v0[i]! + 0.25 * r1[i]! + 0.5 * r2[i]!)) < 1e-6, `${name}[${i}] after two steps`);
      if (Math.abs(r1[i]! - v0[i]!) > 1e-6) moved++;
    }
    assert.deepEqual(avg.model[1]!.get(name), a2, `the model holds the average (${name})`);
    assert.deepEqual(raw.model[1]!.get(name), r2, `without averaging the model holds the trained weights (${name})`);
  }
  assert.ok(moved > 1000, `the first step moved ${moved} weights`);
  assert.equal(new OnlineLearner(SimpleIR.create('tiny'), {}).options.weightAveraging, 0.99, 'on by default');
  assert.throws(() => new OnlineLearner(SimpleIR.create('tiny'), { weightAveraging: 1 }), /weightAveraging/);
});

test('the learner checks its model and options once, naming the call that created it', () => {
  const model = SimpleIR.create('tiny');
  const noSetWeights = { config: model.config, metadata: {}, getWeights: () => model.getWeights() };
  const refused = (fn: () => unknown, call: RegExp): void =>
    assert.throws(fn, (e) => isSimpleIRError(e, 'INVALID_ARGUMENT') && call.test((e as Error).message) && /SimpleIR model|options object/.test((e as Error).message));
  refused(() => new OnlineLearner(noSetWeights as never), /^new OnlineLearner\(model\)/);
  refused(() => new OnlineLearner(null as never), /^new OnlineLearner\(model\)/);
  refused(() => new OnlineLearner(model, 42 as never), /^new OnlineLearner\(model, options\)/);
  refused(() => createOnlineLearner(noSetWeights as never), /^createOnlineLearner\(model\)/);
  refused(() => createOnlineLearner(model, [] as never), /^createOnlineLearner\(model, options\)/);
});
