/** Tests of the Review Learning schedules, stage plans and task order. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSimpleIRError } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import {
  batchComposition,
  cosineLr,
  entropyDifference,
  orderTasksByDifficulty,
  planStages,
  reviewShare,
  STRATEGY_NAMES,
  validateTaskOrder,
} from '../src/core/review/index.js';

const invalid = (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT');
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('reviewShare: 0 for the first stage, rho0/(t-1) after; constant and linear-decay', () => {
  assert.deepEqual([0, 1, 2, 3].map((s) => reviewShare(s, 0.5)), [0, 0.5, 0.25, 0.5 / 3]);
  assert.deepEqual([0, 1, 2].map((s) => reviewShare(s, 0.3, 'constant')), [0, 0.3, 0.3]);
  const linear = [0, 1, 2, 3].map((s) => reviewShare(s, 0.6, 'linear-decay', 4));
  assert.equal(linear[0], 0);
  close(linear[1] as number, 0.6);
  close(linear[2] as number, 0.4);
  close(linear[3] as number, 0.2);
  assert.throws(() => reviewShare(1, 0.5, 'linear-decay'), invalid);
  assert.throws(() => reviewShare(1, 1.5), invalid);
  assert.throws(() => reviewShare(-1, 0.5), invalid);
  assert.throws(() => reviewShare(1, 0.5, 'bogus' as never), invalid);
});

test('batchComposition rounds, keeps one review sample and one task sample, respects memory size', () => {
  assert.deepEqual(batchComposition(8, 0.25, 100), { fromMemory: 2, fromTask: 6 });
  assert.deepEqual(batchComposition(8, 0, 100), { fromMemory: 0, fromTask: 8 });
  assert.deepEqual(batchComposition(8, 0.01, 100), { fromMemory: 1, fromTask: 7 }, 'at least one when share > 0');
  assert.deepEqual(batchComposition(8, 0.25, 0), { fromMemory: 0, fromTask: 8 }, 'empty memory');
  assert.deepEqual(batchComposition(8, 0.5, 3), { fromMemory: 3, fromTask: 5 }, 'capped by memory size');
  assert.deepEqual(batchComposition(8, 0.99, 100), { fromMemory: 7, fromTask: 1 }, 'task keeps one');
  assert.deepEqual(batchComposition(8, 1, 100), { fromMemory: 8, fromTask: 0 });
  assert.deepEqual(batchComposition(1, 0.3, 10), { fromMemory: 0, fromTask: 1 });
  assert.deepEqual(batchComposition(1, 1, 10), { fromMemory: 1, fromTask: 0 });
  assert.deepEqual(batchComposition(2, 0.5, 10), { fromMemory: 1, fromTask: 1 });
  const rng = new Random(4);
  for (let i = 0; i < 500; i++) {
    const b = rng.int(1, 64);
    const share = rng.next();
    const mem = rng.int(0, 10);
    const { fromMemory, fromTask } = batchComposition(b, share, mem);
    assert.equal(fromMemory + fromTask, b);
    assert.ok(fromMemory >= 0 && fromMemory <= mem && fromTask >= 0);
  }
  assert.throws(() => batchComposition(0, 0.5, 1), invalid);
  assert.throws(() => batchComposition(4, 2, 1), invalid);
  assert.throws(() => batchComposition(4, 0.5, -1), invalid);
});

test('cosineLr: lr0 at start, half-way at the middle, minLr at the end, linear warm-up', () => {
  close(cosineLr(0, 100, 2e-3), 2e-3);
  close(cosineLr(50, 100, 2e-3), 1e-3);
  close(cosineLr(100, 100, 2e-3), 0);
  close(cosineLr(500, 100, 2e-3, { minLr: 1e-5 }), 1e-5);
  close(cosineLr(50, 100, 2e-3, { minLr: 2e-4 }), 1.1e-3);
  close(cosineLr(0, 110, 1, { warmup: 10 }), 0.1);
  close(cosineLr(9, 110, 1, { warmup: 10 }), 1);
  close(cosineLr(10, 110, 1, { warmup: 10 }), 1);
  close(cosineLr(60, 110, 1, { warmup: 10 }), 0.5);
  let previous = Infinity;
  for (let s = 0; s <= 100; s++) {
    const lr = cosineLr(s, 100, 1);
    assert.ok(lr <= previous);
    previous = lr;
  }
  assert.throws(() => cosineLr(0, 10, 1, { warmup: 10 }), invalid);
  assert.throws(() => cosineLr(0, 10, 1, { minLr: 2 }), invalid);
  assert.throws(() => cosineLr(-1, 10, 1), invalid);
});

test('planStages: review fills memory with difficult samples and shrinks the share', () => {
  const plan = planStages(['lowlight', 'rain', 'snow', 'blur'], 'review', { rho0: 0.5, stepsTotal: 1002 });
  assert.deepEqual(plan.map((p) => p.tasks), [['lowlight'], ['rain'], ['snow'], ['blur']]);
  assert.deepEqual(plan.map((p) => p.steps), [251, 251, 250, 250]);
  assert.deepEqual(plan.map((p) => p.reviewShare), [0, 0.5, 0.25, 0.5 / 3]);
  assert.deepEqual(plan.map((p) => p.reviewFrom), [[], ['lowlight'], ['lowlight', 'rain'], ['lowlight', 'rain', 'snow']]);
  assert.ok(plan.every((p) => p.memorySelection === 'difficult'));
  assert.deepEqual(plan.map((p) => p.stage), [0, 1, 2, 3]);
  const linear = planStages(['a', 'b', 'c'], 'review', { rho0: 0.4, stepsTotal: 3, shareKind: 'linear-decay' });
  assert.deepEqual(linear.map((p) => p.reviewShare), [0, 0.4, 0.2]);
});

test('planStages: random-review, sequential and mixed', () => {
  const tasks = ['rain', 'snow', 'blur'];
  const random = planStages(tasks, 'random-review', { rho0: 0.5, stepsTotal: 300 });
  assert.ok(random.every((p) => p.memorySelection === 'random'));
  assert.deepEqual(random.map((p) => p.reviewShare), [0, 0.5, 0.25]);
  const sequential = planStages(tasks, 'sequential', { rho0: 0.5, stepsTotal: 300 });
  assert.equal(sequential.length, 3);
  assert.ok(sequential.every((p) => p.reviewShare === 0 && p.memorySelection === 'none' && p.reviewFrom.length === 0));
  assert.deepEqual(sequential.map((p) => p.steps), [100, 100, 100]);
  const mixed = planStages(tasks, 'mixed', { rho0: 0.5, stepsTotal: 300 });
  assert.deepEqual(mixed, [{ stage: 0, tasks, steps: 300, reviewShare: 0, reviewFrom: [], memorySelection: 'none' }]);
  assert.deepEqual([...STRATEGY_NAMES].sort(), ['mixed', 'random-review', 'review', 'sequential']);
  assert.throws(() => planStages([], 'review', { rho0: 0.5, stepsTotal: 10 }), invalid);
  assert.throws(() => planStages(['a', 'a'], 'review', { rho0: 0.5, stepsTotal: 10 }), invalid);
  assert.throws(() => planStages(tasks, 'bogus' as never, { rho0: 0.5, stepsTotal: 10 }), invalid);
  assert.throws(() => planStages(tasks, 'review', { rho0: 0.5, stepsTotal: 2 }), invalid);
});

test('entropyDifference: histogram entropies of 8-bit luma', () => {
  const flat = new Uint8Array(256).fill(128); // entropy 0
  const ramp = Uint8Array.from({ length: 256 }, (_, i) => i); // entropy 8 bits
  const two = Uint8Array.from({ length: 256 }, (_, i) => (i % 2 ? 255 : 0)); // entropy 1 bit
  close(entropyDifference(ramp, flat), -8);
  close(entropyDifference(flat, ramp), 8);
  close(entropyDifference(flat, two), 1);
  close(entropyDifference(ramp, ramp), 0);
  assert.throws(() => entropyDifference(new Uint8Array(0), flat), invalid);
});

test('orderTasksByDifficulty: easiest first by mean |difference|, ties by name', () => {
  const order = orderTasksByDifficulty([
    { task: 'blur', entropyDiffs: [-0.2, 0.2] },
    { task: 'rain', entropyDiffs: [0.9, 1.1] },
    { task: 'lowlight', entropyDiffs: [-3, -2.5] },
    { task: 'haze', entropyDiffs: [0.1, -0.3] },
  ]);
  assert.deepEqual(order, ['blur', 'haze', 'rain', 'lowlight']);
  // Mean of magnitudes, not magnitude of the mean: [-1, 1] is hard, not easy.
  assert.deepEqual(orderTasksByDifficulty([{ task: 'a', entropyDiffs: [-1, 1] }, { task: 'b', entropyDiffs: [0.5] }]), ['b', 'a']);
  assert.throws(() => orderTasksByDifficulty([{ task: 'a', entropyDiffs: [] }]), invalid);
  assert.throws(() => orderTasksByDifficulty([{ task: 'a', entropyDiffs: [1] }, { task: 'a', entropyDiffs: [2] }]), invalid);
});

test('validateTaskOrder: accepts a known order, rejects unknown and duplicate tasks helpfully', () => {
  const known = ['rain', 'snow', 'blur', 'lowlight'];
  assert.deepEqual(validateTaskOrder(['snow', 'rain'], known), ['snow', 'rain']);
  assert.throws(() => validateTaskOrder(['rain', 'fog'], known), (e) => invalid(e) && /fog/.test((e as Error).message) && /known tasks/.test((e as Error).message));
  assert.throws(() => validateTaskOrder(['rain', 'snow', 'rain'], known), (e) => invalid(e) && /more than once.*rain/.test((e as Error).message));
  assert.throws(() => validateTaskOrder([], known), invalid);
});

test('Random.shuffle: a permutation in place, the same for the same seed, drawing int(0, i) from the end', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const a = new Random(7).shuffle([...items]);
  assert.deepEqual([...a].sort((x, y) => x - y), items, 'every item once');
  assert.notDeepEqual(a, items, 'the order changed');
  assert.deepEqual(new Random(7).shuffle([...items]), a, 'same seed, same order');
  assert.notDeepEqual(new Random(8).shuffle([...items]), a, 'another seed, another order');
  const inPlace = [...items];
  assert.equal(new Random(7).shuffle(inPlace), inPlace, 'returns the array it shuffled');
  // Fisher-Yates from the end with j = int(0, i): the draws the online learner's batches are reproducible by.
  const rng = new Random(7);
  const draws = Array.from({ length: 49 }, (_, k) => rng.int(0, 49 - k));
  const expected = [...items];
  draws.forEach((j, k) => {
    const i = 49 - k;
    [expected[i], expected[j]] = [expected[j]!, expected[i]!];
  });
  assert.deepEqual(a, expected);
  assert.deepEqual(new Random(1).shuffle([]), []);
  assert.deepEqual(new Random(1).shuffle(['x']), ['x']);
});
