/** Tests of the Review Learning loss history, hard-sample memory and memory selection. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSimpleIRError } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import { HardSampleMemory, LossHistory, selectForMemory } from '../src/core/review/index.js';

function historyOf(series: Record<string, number[]>, options = {}): LossHistory {
  const h = new LossHistory(options);
  const longest = Math.max(...Object.values(series).map((s) => s.length));
  for (let v = 0; v < longest; v++) {
    for (const [id, losses] of Object.entries(series)) if (v < losses.length) h.record(id, losses[v] as number);
  }
  return h;
}

const CONSTRUCTED = {
  oscillating: [0.1, 0.5, 0.1, 0.5],
  steady: [0.5, 0.5, 0.5, 0.5],
  decreasing: [0.5, 0.4, 0.3, 0.2],
  once: [0.9],
};

test('LossHistory keeps the last m visits and counts all visits', () => {
  const h = new LossHistory({ window: 4 });
  for (const loss of [1, 2, 3, 4, 5, 6]) h.record('a', loss);
  assert.deepEqual(h.losses('a'), [3, 4, 5, 6]);
  assert.equal(h.visits('a'), 6);
  assert.equal(h.visits('unknown'), 0);
  assert.deepEqual(h.losses('unknown'), []);
});

test('fluctuation: fewer than two visits score 0; formula with documented weights', () => {
  const h = historyOf(CONSTRUCTED);
  assert.equal(h.fluctuation('once'), 0);
  assert.equal(h.isScored('once'), false);
  assert.equal(h.fluctuation('steady'), 0);
  // Detrended spread: residuals of 0.1,0.5,0.1,0.5 about their line are -.08,.24,-.24,.08.
  const spread = Math.sqrt((0.08 ** 2 + 0.24 ** 2 + 0.24 ** 2 + 0.08 ** 2) / 4) / 0.3;
  const rise = 0.4 / 0.3;
  assert.ok(Math.abs(h.fluctuation('oscillating') - (spread + rise)) < 1e-9);
  // A straight decrease has no detrended spread and no rise.
  assert.ok(h.fluctuation('decreasing') < 1e-9);
  // With 'cv' it is the coefficient of variation; weights scale each term.
  const cv = historyOf(CONSTRUCTED, { spread: 'cv', riseWeight: 0 });
  assert.ok(Math.abs(cv.fluctuation('oscillating') - 0.2 / 0.3) < 1e-9);
  const riseOnly = historyOf(CONSTRUCTED, { spreadWeight: 0, riseWeight: 2 });
  assert.ok(Math.abs(riseOnly.fluctuation('oscillating') - 2 * rise) < 1e-9);
});

test('topK picks the oscillating sample over steady and decreasing ones, under both spread measures', () => {
  for (const spread of ['detrended', 'cv'] as const) {
    const h = historyOf(CONSTRUCTED, { spread });
    assert.deepEqual(h.topK(1), ['oscillating']);
    const all = h.topK(10);
    assert.equal(all[0], 'oscillating');
    assert.ok(!all.includes('once'), 'unscored samples are not ranked');
    assert.equal(all.length, 3);
    assert.deepEqual(h.topK(5, (id) => id !== 'oscillating').length, 2);
  }
});

test('LossHistory stays bounded and evicts the least recently updated id', () => {
  const h = new LossHistory({ maxIds: 3 });
  h.record('a', 1);
  h.record('b', 1);
  h.record('c', 1);
  h.record('a', 2); // a is now the most recent
  h.record('d', 1); // evicts b
  assert.equal(h.size, 3);
  assert.deepEqual(h.ids(), ['c', 'a', 'd']);
  const rng = new Random(1);
  const big = new LossHistory({ maxIds: 50 });
  for (let i = 0; i < 5000; i++) big.record(`s${rng.int(0, 999)}`, rng.next());
  assert.equal(big.size, 50);
});

test('LossHistory JSON round trip keeps losses, visits, options and recency', () => {
  const h = historyOf(CONSTRUCTED, { window: 3, maxIds: 10, riseWeight: 0.5 });
  const back = LossHistory.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
  assert.deepEqual(back.toJSON(), h.toJSON());
  assert.equal(back.visits('oscillating'), 4);
  assert.equal(back.fluctuation('oscillating'), h.fluctuation('oscillating'));
  assert.throws(() => LossHistory.fromJSON({ version: 2 } as never), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
});

test('LossHistory rejects bad losses and options', () => {
  const h = new LossHistory();
  assert.throws(() => h.record('a', Number.NaN), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => h.record('a', -1), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => new LossHistory({ window: 1 }), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
});

test('memory never exceeds capacity nor Q per task under random add sequences', () => {
  for (const balance of [true, false]) {
    for (let seed = 0; seed < 30; seed++) {
      const rng = new Random(seed);
      const capacity = rng.int(0, 20);
      const perTask = rng.int(0, 8);
      const memory = new HardSampleMemory<number>({ capacity, perTask, balance });
      for (let i = 0; i < 300; i++) {
        const task = `t${rng.int(0, 5)}`;
        memory.add(task, `s${rng.int(0, 30)}`, i, rng.next());
        assert.ok(memory.size <= capacity, `size ${memory.size} > capacity ${capacity}`);
        let total = 0;
        for (const [t, n] of memory.sizeByTask()) {
          assert.ok(n <= perTask && n > 0, `task ${t} holds ${n}, Q ${perTask}`);
          total += n;
        }
        assert.equal(total, memory.size);
        assert.equal([...memory].length, memory.size);
      }
    }
  }
});

test('Q = 0 stores nothing (plain sequential)', () => {
  const memory = new HardSampleMemory<string>({ capacity: 10, perTask: 0 });
  assert.equal(memory.add('rain', 'a', 'x', 1), false);
  assert.equal(memory.size, 0);
  assert.deepEqual(memory.sample(4, new Random(0)), []);
});

test('a full task replaces its lowest score; dedup updates instead of duplicating', () => {
  const memory = new HardSampleMemory<string>({ capacity: 100, perTask: 2 });
  memory.add('rain', 'a', 'A', 0.1);
  memory.add('rain', 'b', 'B', 0.5);
  assert.equal(memory.add('rain', 'c', 'C', 0.05), false, 'lower than everything held');
  assert.equal(memory.add('rain', 'd', 'D', 0.3), true);
  assert.deepEqual([...memory].map((e) => e.id).sort(), ['b', 'd']);
  assert.equal(memory.add('rain', 'b', 'B2', 0.01), true);
  assert.equal(memory.size, 2);
  assert.deepEqual(memory.get('rain', 'b'), { task: 'rain', id: 'b', sample: 'B2', score: 0.01 });
  // Same id in another task is another sample.
  memory.add('snow', 'b', 'S', 0.2);
  assert.equal(memory.size, 3);
});

test('a new task shrinks all tasks evenly, keeping each task its highest scores', () => {
  const memory = new HardSampleMemory<number>({ capacity: 6, perTask: 6 });
  for (let i = 0; i < 6; i++) memory.add('rain', `r${i}`, i, i / 10);
  assert.equal(memory.size, 6);
  memory.add('snow', 's0', 0, 0.01);
  assert.deepEqual([...memory.sizeByTask()], [['rain', 3], ['snow', 1]]);
  assert.deepEqual([...memory].filter((e) => e.task === 'rain').map((e) => e.id).sort(), ['r3', 'r4', 'r5']);
  for (let i = 1; i < 6; i++) memory.add('snow', `s${i}`, i, i / 10);
  assert.deepEqual([...memory.sizeByTask()], [['rain', 3], ['snow', 3]]);
  memory.add('blur', 'b0', 0, 1);
  assert.deepEqual([...memory.sizeByTask()], [['rain', 2], ['snow', 2], ['blur', 1]]);
  assert.deepEqual([...memory].filter((e) => e.task !== 'blur').map((e) => e.id).sort(), ['r4', 'r5', 's4', 's5']);
  memory.remove('rain');
  assert.deepEqual(memory.tasks(), ['snow', 'blur']);
  assert.equal(memory.size, 3);
});

test('sampling is balanced over tasks and deterministic given the rng', () => {
  const memory = new HardSampleMemory<string>({ capacity: 30, perTask: 10 });
  const sizes = { rain: 10, snow: 3, blur: 1 };
  for (const [task, n] of Object.entries(sizes)) for (let i = 0; i < n; i++) memory.add(task, `${task}${i}`, `${task}:${i}`, i / 10);
  for (const n of [1, 2, 5, 7, 13, 40]) {
    for (let seed = 0; seed < 5; seed++) {
      const draw = memory.sample(n, new Random(seed));
      assert.equal(draw.length, n);
      const counts = memory.tasks().map((t) => draw.filter((d) => d.task === t).length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `counts ${counts} for n ${n}`);
      for (const d of draw) assert.equal(d.sample, `${d.task}:${d.id.slice(d.task.length)}`);
      // Without replacement within a task while it lasts.
      const rain = draw.filter((d) => d.task === 'rain').map((d) => d.id);
      if (rain.length <= 10) assert.equal(new Set(rain).size, rain.length);
      assert.deepEqual(memory.sample(n, new Random(seed)), draw);
    }
  }
  const first = memory.sample(6, new Random(1)).map((d) => d.id);
  const other = memory.sample(6, new Random(2)).map((d) => d.id);
  assert.notDeepEqual(first, other);
});

test('unbalanced memory evicts the lowest score of any task when full', () => {
  const memory = new HardSampleMemory<number>({ capacity: 3, perTask: 3, balance: false });
  memory.add('rain', 'a', 0, 0.5);
  memory.add('rain', 'b', 0, 0.1);
  memory.add('rain', 'c', 0, 0.4);
  assert.equal(memory.add('snow', 'x', 0, 0.05), false);
  assert.equal(memory.add('snow', 'y', 0, 0.3), true);
  assert.deepEqual([...memory].map((e) => `${e.task}/${e.id}`).sort(), ['rain/a', 'rain/c', 'snow/y']);
});

test('memory JSON round trip (with sample codec) preserves entries and options', () => {
  const memory = new HardSampleMemory<Float32Array>({ capacity: 8, perTask: 3 });
  const rng = new Random(3);
  for (let i = 0; i < 20; i++) memory.add(`t${i % 3}`, `s${i}`, new Float32Array([i, i + 0.5]), rng.next());
  const json = JSON.parse(JSON.stringify(memory.toJSON((s) => Array.from(s))));
  const back = HardSampleMemory.fromJSON<Float32Array, number[]>(json, (e) => Float32Array.from(e));
  assert.equal(back.capacity, 8);
  assert.equal(back.perTask, 3);
  assert.equal(back.balance, true);
  assert.deepEqual([...back], [...memory]);
  assert.deepEqual(back.sample(5, new Random(9)), memory.sample(5, new Random(9)));
  assert.throws(() => HardSampleMemory.fromJSON({} as never, (e) => e), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
});

test('clear empties the memory', () => {
  const memory = new HardSampleMemory<number>({ capacity: 4, perTask: 2 });
  memory.add('a', '1', 1, 1);
  memory.clear();
  assert.equal(memory.size, 0);
  assert.deepEqual(memory.tasks(), []);
});

test('selectForMemory: difficult takes top-Q by fluctuation, random differs and is seeded', () => {
  const rng = new Random(11);
  const series: Record<string, number[]> = { ...CONSTRUCTED };
  for (let i = 0; i < 40; i++) series[`calm${i}`] = [0.3, 0.3 - 0.001 * (i % 5), 0.29, 0.29];
  const h = historyOf(series);
  const candidates = Object.keys(series);
  const difficult = selectForMemory(h, candidates, 3, 'difficult', new Random(0));
  assert.equal(difficult[0], 'oscillating');
  assert.equal(difficult.length, 3);
  assert.deepEqual(selectForMemory(h, [...candidates, 'oscillating'], 1, 'difficult', rng), ['oscillating']);
  const random = selectForMemory(h, candidates, 3, 'random', new Random(5));
  assert.equal(random.length, 3);
  assert.equal(new Set(random).size, 3);
  assert.notDeepEqual(random, difficult);
  assert.deepEqual(selectForMemory(h, candidates, 3, 'random', new Random(5)), random);
  // Over many seeds the random baseline rarely picks the oscillating sample.
  let hits = 0;
  for (let s = 0; s < 200; s++) if (selectForMemory(h, candidates, 1, 'random', new Random(s))[0] === 'oscillating') hits++;
  assert.ok(hits < 30, `random picked the hardest sample ${hits}/200 times`);
  assert.equal(selectForMemory(h, ['a', 'b'], 5, 'random', rng).length, 2);
  assert.deepEqual(selectForMemory(h, candidates, 0, 'difficult', rng), []);
});

test('HardSampleMemory and LossHistory refuse missing or malformed options with INVALID_ARGUMENT', () => {
  assert.throws(() => new HardSampleMemory(undefined as never), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => new LossHistory(null as never), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => new LossHistory({ window: -1 }), (e) => isSimpleIRError(e, 'INVALID_ARGUMENT'));
});
