/**
 * Replay crops: base64, the shippable pixel memory (bounds, top scores, central crops, round trip),
 * materialising an offline trainer's sample references, and the binary form used by learner stores.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { HardSampleMemory } from '../src/core/review/memory.js';
import {
  centerCrop,
  decodeReplayMemory,
  encodeReplayMemory,
  exportReplayMemory,
  importReplayMemory,
  isReplayMemoryJSON,
  materializeMemory,
  type ReplayCrop,
} from '../src/core/review/replay.js';
import { fromBase64, toBase64 } from '../src/core/base64.js';
import type { PairSource, SampleRef } from '../src/core/review/trainer.js';
import { tf, useBackend } from './helpers/tf.js';

before(async () => {
  await useBackend('wasm');
});

/** A crop whose bytes encode its position and a tag. */
function crop(side: number, tag: number): ReplayCrop {
  const degraded = new Uint8Array(side * side * 3);
  const clean = new Uint8Array(side * side * 3);
  for (let i = 0; i < degraded.length; i++) {
    degraded[i] = (i * 7 + tag) & 0xff;
    clean[i] = (i * 3 + tag) & 0xff;
  }
  return { width: side, height: side, degraded, clean };
}

test('base64 matches Node and round-trips every length', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.equal(toBase64(bytes), Buffer.from(bytes).toString('base64'));
    assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  }
  assert.throws(() => fromBase64('ab$d'), { code: 'INVALID_ARGUMENT' });
});

test('exportReplayMemory keeps the top crops per domain, cut to their central square, and reads back', () => {
  const memory = new HardSampleMemory<ReplayCrop>({ capacity: 40, perTask: 40, balance: true });
  for (let i = 0; i < 12; i++) memory.add('rain', `r${i}`, crop(96, i), i / 10);
  for (let i = 0; i < 3; i++) memory.add('haze', `h${i}`, crop(32, 50 + i), 1 + i);
  const json = exportReplayMemory(memory, { cropSize: 64, perDomain: 8 });
  assert.ok(isReplayMemoryJSON(json));
  assert.ok(isReplayMemoryJSON(JSON.parse(JSON.stringify(json))));
  assert.deepEqual(json.domains.map((d) => [d.domain, d.crops.length]), [['rain', 8], ['haze', 3]]);
  assert.deepEqual(json.domains[0]!.crops.map((c) => c.id), ['r11', 'r10', 'r9', 'r8', 'r7', 'r6', 'r5', 'r4']);
  const entries = importReplayMemory(JSON.parse(JSON.stringify(json)));
  const r11 = entries.find((e) => e.id === 'r11')!;
  assert.equal(r11.crop.width, 64);
  assert.deepEqual(r11.crop, centerCrop(crop(96, 11), 64));
  // The central square: row 16, column 16 of the original is the first pixel.
  assert.equal(r11.crop.degraded[0], crop(96, 11).degraded[(16 * 96 + 16) * 3]);
  assert.deepEqual(entries.find((e) => e.id === 'h2')!.crop, crop(32, 52), 'small crops are kept whole');
  const broken = JSON.parse(JSON.stringify(json));
  broken.domains[0].crops[0].clean = toBase64(new Uint8Array(5));
  assert.throws(() => importReplayMemory(broken), { code: 'WEIGHTS_INVALID' });
});

test('materializeMemory turns an offline memory of sample references into pixels', async () => {
  const refs = new HardSampleMemory<SampleRef>({ capacity: 64, perTask: 32, balance: true });
  for (const task of ['rain', 'snow']) for (let i = 0; i < 20; i++) refs.add(task, `${task}#${i}`, { task, index: i }, i);
  const asked: SampleRef[] = [];
  const source: PairSource = {
    poolSize: 20,
    pairs(samples) {
      asked.push(...samples);
      return tf.tidy(() => {
        const clean = tf.fill([samples.length, 128, 128, 3], samples[0]!.index / 40) as tf.Tensor4D;
        return { clean, degraded: tf.add(clean, 0.5) as tf.Tensor4D };
      });
    },
  };
  const tensors = tf.memory().numTensors;
  const json = await materializeMemory(refs.toJSON((s) => s), source, { cropSize: 64, perDomain: 8 });
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(json.domains.map((d) => [d.domain, d.crops.length]), [['rain', 8], ['snow', 8]]);
  assert.deepEqual(asked.filter((s) => s.task === 'rain').map((s) => s.index), [19, 18, 17, 16, 15, 14, 13, 12], 'the highest scores');
  const [first] = importReplayMemory(json);
  assert.equal(first!.crop.width, 64);
  assert.equal(first!.crop.clean[0], Math.round((19 / 40) * 255));
  assert.equal(first!.crop.degraded[0], Math.round((19 / 40 + 0.5) * 255));
  assert.ok(JSON.stringify(json).length < 2 * 8 * 2 * 64 * 64 * 3 * 1.4, 'bounded: about 8 crops of 64x64 per domain');
});

test('the binary form of a memory round-trips', () => {
  const memory = new HardSampleMemory<ReplayCrop>({ capacity: 10, perTask: 10, balance: true });
  memory.add('a', 'x', crop(16, 1), 0.5);
  memory.add('b', 'y', crop(8, 2), 0.25);
  const files = encodeReplayMemory(memory);
  assert.equal(files.data.length, (16 * 16 + 8 * 8) * 3 * 2);
  const back = decodeReplayMemory({ index: JSON.parse(JSON.stringify(files.index)), data: files.data });
  assert.deepEqual([...back], [...memory]);
  assert.throws(() => decodeReplayMemory({ index: files.index, data: files.data.subarray(0, 10) }), { code: 'CORRUPT_INPUT' });
});
