/**
 * The pipeline-overhead row of the browser bench (bench/pipeline-overhead.ts): medians, fps, overhead,
 * per-frame parts and the frame-count check, from fixed timings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, pipelineRow, type PipelineTiming } from '../bench/pipeline-overhead';

function timing(over: Partial<PipelineTiming> = {}): PipelineTiming {
  return {
    backend: 'wasm',
    preset: 'tiny',
    size: '640x360',
    codec: 'avc1.64001e',
    frames: 30,
    threads: 1,
    warmup: { pipelineMs: 20_000, restoreMs: 19_000 },
    // Pipeline 11 s / restore 10 s in the median run: 10 % overhead.
    pipelineMs: [11_000, 12_000, 10_500],
    restoreMs: [10_000, 10_500, 9_800],
    decodeMs: [150, 120, 180],
    encodeMs: [300, 200, 240],
    firstFrameMs: [20, 30, 25],
    tailMs: [60, 50, 70],
    framesOut: [30, 30, 30],
    restoredFrames: [30, 30, 30],
    pipelineMetrics: [1, 2, 3].map(() => ({ framesIn: 30, framesOut: 30, dropped: 0, errors: 0 })),
    outputBytes: 123_456,
    ...over,
  };
}

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('pipelineRow: fps from the medians, overhead = restore-only fps / pipeline fps - 1, paired overhead, per-frame parts', () => {
  const r = pipelineRow(timing());
  assert.equal(r.runs, 3);
  assert.equal(r.pipelineFps, 30 / 11);
  assert.equal(r.restoreFps, 3);
  assert.ok(Math.abs(r.overhead - 0.1) < 1e-12, `overhead ${r.overhead}`);
  assert.ok(Math.abs(r.overhead - (r.restoreFps / r.pipelineFps - 1)) < 1e-12);
  // Per-pair ratios 0.1, 0.142857, 0.071429: median 0.1.
  assert.ok(Math.abs(r.pairedOverhead - 0.1) < 1e-12, `paired ${r.pairedOverhead}`);
  assert.deepEqual(r.msPerFrame, { pipeline: 11_000 / 30, restore: 10_000 / 30, decode: 150 / 30, encode: 240 / 30 });
  assert.equal(r.startMs, 25);
  assert.equal(r.tailMs, 60);
  assert.ok(Math.abs(r.unaccountedMsPerFrame - (11_000 - 10_000 - 150 - 240) / 30) < 1e-9);
  assert.equal(r.framesMatch, true);
});

test('pipelineRow: a run that lost or gained a frame, dropped one, or failed one is a mismatch', () => {
  assert.equal(pipelineRow(timing({ framesOut: [30, 29, 30] })).framesMatch, false);
  assert.equal(pipelineRow(timing({ framesOut: [30, 30] })).framesMatch, false);
  assert.equal(pipelineRow(timing({ restoredFrames: [30, 30, 31] })).framesMatch, false);
  const dropped = timing().pipelineMetrics.map((m, i) => (i === 1 ? { ...m, framesOut: 29, dropped: 1 } : m));
  assert.equal(pipelineRow(timing({ pipelineMetrics: dropped })).framesMatch, false);
});

test('pipelineRow refuses a measurement without timed runs or frames', () => {
  assert.throws(() => pipelineRow(timing({ pipelineMs: [], restoreMs: [] })), /no timed runs/);
  assert.throws(() => pipelineRow(timing({ frames: 0 })), /no frames/);
});
