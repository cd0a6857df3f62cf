/** The Review Learning trainer: learning happens, memory and review behave per strategy, checkpoints resume exactly. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { PRESETS } from '../src/core/config.js';
import { forward } from '../src/core/model/forward.js';
import { initialWeights } from '../src/core/model/simpleir.js';
import { nativeOps } from '../src/core/model/ops.js';
import { reportHtml, validationTable } from '../src/core/review/report.js';
import { OfflineTrainer, type PairSource, type SampleRef, type StepRecord } from '../src/core/review/trainer.js';
import { loadCheckpoint, saveCheckpoint } from '../src/training/checkpoint.js';

const CROP = 32;
const config = PRESETS.tiny;

/** Smooth seeded images; task 'dim' darkens, task 'veil' adds a grey veil. Deterministic per sample. */
class SyntheticPairs implements PairSource {
  readonly poolSize = 24;
  pairs(samples: readonly SampleRef[]): { degraded: tf.Tensor4D; clean: tf.Tensor4D } {
    return tf.tidy(() => {
      const cleans = samples.map((s) => {
        const seed = (s.task === 'dim' ? 1000 : 2000) + s.index;
        const coarse = tf.randomUniform([1, 4, 4, 3], 0.15, 0.95, 'float32', seed) as tf.Tensor4D;
        return tf.image.resizeBilinear(coarse, [CROP, CROP], true);
      });
      const clean = tf.concat(cleans, 0) as tf.Tensor4D;
      const tasks = tf.tensor(samples.map((s) => (s.task === 'dim' ? 1 : 0)), [samples.length, 1, 1, 1]);
      const dim = tf.mul(clean, 0.4);
      const veil = tf.add(tf.mul(clean, 0.6), 0.35);
      const degraded = tf.add(tf.mul(dim, tasks), tf.mul(veil, tf.sub(1, tasks))) as tf.Tensor4D;
      return { degraded, clean };
    });
  }
}

const source = new SyntheticPairs();

function heldOutLoss(trainer: OfflineTrainer, task: string): number {
  const refs = Array.from({ length: 4 }, (_, i) => ({ task, index: 100 + i }));
  const { degraded, clean } = source.pairs(refs);
  const loss = tf.tidy(() => tf.mean(tf.abs(tf.sub(forward(config, nativeOps, trainer.weights, degraded), clean))).dataSync()[0]!);
  tf.dispose([degraded, clean]);
  return loss;
}

let dir: string;
before(async () => {
  await selectBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-trainer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a short run lowers the held-out loss, without leaking tensors', async () => {
  const trainer = new OfflineTrainer({ config, tasks: ['dim'], steps: 50, batchSize: 4, learningRate: 5e-3, seed: 3 }, initialWeights(config));
  const before = heldOutLoss(trainer, 'dim');
  await trainer.run(source);
  const tensors = tf.memory().numTensors;
  await trainer.run(source); // finished: no more steps
  assert.equal(tf.memory().numTensors, tensors);
  const afterLoss = heldOutLoss(trainer, 'dim');
  console.log(`# held-out L1 ${before.toFixed(4)} -> ${afterLoss.toFixed(4)}`);
  assert.ok(afterLoss < before * 0.6, `loss should fall by 40 %: ${before} -> ${afterLoss}`);
  assert.ok(trainer.finished);
  assert.equal(trainer.lossCurve.length, 5);
  trainer.dispose();
});

async function runStrategy(strategy: 'review' | 'sequential' | 'mixed' | 'random-review'): Promise<{ trainer: OfflineTrainer; records: StepRecord[] }> {
  const trainer = new OfflineTrainer(
    { config, tasks: ['dim', 'veil'], strategy, steps: 16, batchSize: 4, reviewQuantity: 3, rho0: 0.5, seed: 5, historyWindow: 4 },
    initialWeights(config),
  );
  const records: StepRecord[] = [];
  await trainer.run(source, { onStep: (r) => records.push(r) });
  return { trainer, records };
}

test('review: difficult samples of stage 1 are kept (bounded by Q) and replayed in stage 2', async () => {
  const { trainer, records } = await runStrategy('review');
  const memory = trainer.reviewMemory;
  const byTask = memory.sizeByTask();
  assert.ok((byTask.get('dim') ?? 0) > 0 && (byTask.get('dim') ?? 0) <= 3, `dim samples in memory: ${byTask.get('dim')}`);
  for (const entry of memory) {
    assert.ok(trainer.lossHistory.visits(entry.id) >= 2, 'memory samples were seen at least twice (scored)');
  }
  const stage1 = records.filter((r) => r.stage === 0);
  const stage2 = records.filter((r) => r.stage === 1);
  assert.equal(stage1.length, 8);
  assert.ok(stage1.every((r) => r.reviewed === 0));
  assert.ok(stage2.every((r) => r.reviewed === 2), `stage 2 reviews rho0 * batch = 2 samples per step: ${stage2.map((r) => r.reviewed)}`);
  trainer.dispose();
});

test('sequential never reviews and keeps no memory; mixed is one stage over both tasks', async () => {
  const seq = await runStrategy('sequential');
  assert.equal(seq.trainer.reviewMemory.size, 0);
  assert.ok(seq.records.every((r) => r.reviewed === 0));
  seq.trainer.dispose();
  const mixed = await runStrategy('mixed');
  assert.equal(mixed.trainer.plan.length, 1);
  assert.ok(mixed.records.every((r) => r.stage === 0 && r.task === 'dim+veil'));
  mixed.trainer.dispose();
});

test('random-review fills memory with random rather than most-fluctuating samples', async () => {
  // Stop both at the end of stage 1: identical training so far, identical loss histories.
  const make = (strategy: 'review' | 'random-review') =>
    new OfflineTrainer({ config, tasks: ['dim', 'veil'], strategy, steps: 16, batchSize: 4, reviewQuantity: 3, seed: 5, historyWindow: 4 }, initialWeights(config));
  const review = make('review');
  await review.run(source, { maxSteps: 8 });
  const random = make('random-review');
  await random.run(source, { maxSteps: 8 });
  const ids = (t: OfflineTrainer) => [...t.reviewMemory].map((e) => e.id).sort();
  const total = (t: OfflineTrainer) => [...t.reviewMemory].reduce((a, e) => a + review.lossHistory.fluctuation(e.id), 0);
  assert.deepEqual(ids(review), [...review.lossHistory.topK(3, (id) => id.startsWith('dim#'))].sort());
  assert.equal(random.reviewMemory.size, 3);
  assert.notDeepEqual(ids(review), ids(random));
  assert.ok(total(review) > total(random), 'difficult selection has the highest total fluctuation');
  review.dispose();
  random.dispose();
});

test('stage weights split the step budget', () => {
  const t = new OfflineTrainer({ config, tasks: ['dim', 'veil'], steps: 30, stageWeights: { veil: 2 } }, initialWeights(config));
  assert.deepEqual(t.plan.map((s) => s.steps), [10, 20]);
  t.dispose();
});

test('stageLrDecay starts each later stage at a lower rate; reviewShareKind shapes the plan', async () => {
  const tasks = ['dim', 'veil', 'dim2'];
  const t = new OfflineTrainer(
    { config, tasks: ['dim', 'veil'], steps: 8, batchSize: 2, learningRate: 1e-3, warmupFraction: 0, stageLrDecay: 0.5, seed: 3 },
    initialWeights(config),
  );
  const records: StepRecord[] = [];
  await t.run(source, { onStep: (r) => records.push(r) });
  const first = (stage: number) => records.find((r) => r.stage === stage)!.lr;
  // warm-up of one step: the first step of a stage is at its peak rate
  assert.ok(Math.abs(first(0) - 1e-3) < 1e-12, `stage 0 starts at ${first(0)}`);
  assert.ok(Math.abs(first(1) - 5e-4) < 1e-12, `stage 1 starts at ${first(1)}`);
  t.dispose();
  const constant = new OfflineTrainer({ config, tasks, steps: 9, rho0: 0.4, reviewShareKind: 'constant' }, initialWeights(config));
  assert.deepEqual(constant.plan.map((s) => s.reviewShare), [0, 0.4, 0.4]);
  constant.dispose();
  const inverse = new OfflineTrainer({ config, tasks, steps: 9, rho0: 0.4 }, initialWeights(config));
  assert.deepEqual(inverse.plan.map((s) => s.reviewShare), [0, 0.4, 0.2]);
  inverse.dispose();
  assert.throws(() => new OfflineTrainer({ config, tasks, stageLrDecay: 0 }, initialWeights(config)), /stageLrDecay/);
});

test('a checkpoint saved to disk resumes to exactly the same weights as an uninterrupted run', async () => {
  const opts = { config, tasks: ['dim', 'veil'], strategy: 'review' as const, steps: 8, batchSize: 4, reviewQuantity: 2, seed: 9, historyWindow: 3 };
  const straight = new OfflineTrainer(opts, initialWeights(config));
  await straight.run(source);
  const expected = (await straight.checkpoint()).weights;
  straight.dispose();

  const first = new OfflineTrainer(opts, initialWeights(config));
  await first.run(source, { maxSteps: 5, saveCheckpoint: (c) => saveCheckpoint(dir, c), checkpointEvery: 5 });
  assert.equal(first.step, 5);
  first.dispose();
  const ckpt = await loadCheckpoint(dir);
  assert.ok(ckpt, 'checkpoint written');
  assert.equal(ckpt.state.step, 5);
  const resumed = new OfflineTrainer(opts, new Map(), ckpt);
  await resumed.restoreOptimizer(ckpt);
  await resumed.run(source);
  assert.equal(resumed.step, 8);
  const got = (await resumed.checkpoint()).weights;
  for (const [name, v] of expected) {
    const w = got.get(name)!;
    let m = 0;
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]! - w[i]!));
    assert.ok(m <= 1e-6, `${name} differs by ${m} after resume`);
  }
  assert.equal(resumed.reviewMemory.size, (await loadCheckpoint(dir))!.state.memory.tasks.length > 0 ? resumed.reviewMemory.size : 0);
  resumed.dispose();
});

test('no checkpoint in an empty folder; a damaged one is a typed error', async () => {
  assert.equal(await loadCheckpoint(join(dir, 'nothing-here')), null);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'state.json'), '{ not json');
  await assert.rejects(loadCheckpoint(dir), (e: Error & { code?: string }) => e.code === 'CORRUPT_INPUT');
});

test('the report draws the loss curve over the stages and tabulates validation', async () => {
  const trainer = new OfflineTrainer({ config, tasks: ['dim', 'veil'], steps: 20, batchSize: 2 }, initialWeights(config));
  let calls = 0;
  await trainer.run(source, {
    validate: async () => {
      calls++;
      return { dim: { psnr: 20 + calls, psnrDegraded: 15 }, veil: { psnr: 18, psnrDegraded: 16 } };
    },
  });
  assert.equal(calls, 3, 'validated at start and after each of the 2 stages');
  const state = (await trainer.checkpoint()).state;
  const html = reportHtml(state, trainer.plan);
  assert.match(html, /<svg[^>]*>.*<path d="M/s);
  assert.match(html, />dim</);
  const table = validationTable(state);
  assert.match(table, /\| start \(step 0\) \| 6\.00 \| 2\.00 \| 4\.00 \|/);
  assert.equal(table.split('\n').length, 5);
  trainer.dispose();
});

test('a trainer leaves no tensors behind once disposed, and refuses weights that lack a parameter', () => {
  const tensors = tf.memory().numTensors;
  const trainer = new OfflineTrainer({ config, tasks: ['dim'], steps: 2 }, initialWeights(config));
  const firstName = [...trainer.weights.keys()][0]!;
  trainer.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'the initial values are not left behind');
  const partial = initialWeights(config);
  partial.delete(firstName);
  assert.throws(
    () => new OfflineTrainer({ config, tasks: ['dim'] }, partial),
    (e) => (e as { code?: string }).code === 'WEIGHTS_MISMATCH' && (e as Error).message.includes(`lack ${firstName}`),
  );
  assert.equal(tf.memory().numTensors, tensors, 'nothing is left behind by a refused trainer');
});
