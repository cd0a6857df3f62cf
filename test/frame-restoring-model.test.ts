/**
 * The stream side of the model in a worker, without a browser: `restore` with a `FrameRestoringModel`
 * (whole frames handed over, results awaited: order kept when they come back out of order, outputs of an
 * unsubscribed stream closed, `WORKER_FAILED` fatal in live mode, the model's runtime in the metrics,
 * temporal refused) and `reviewLearning` with a `RemoteLearner` (told the domain and degradation, frames
 * passed on unchanged, stopped on unsubscribe, its failure fails the stream). And the degradation a
 * worker learner rebuilds from `kind` and `params` equals the page's, value for value.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { createDegradation, type DegradationKind } from '../src/core/degrade/index.js';
import { SimpleIRError } from '../src/core/errors.js';
import type { NodeFrame } from '../src/streams/frames.js';
import type { ModelRuntime, RestoreMetrics } from '../src/streams/metrics.js';
import { restore, type FrameRestoringModel } from '../src/streams/restore.js';
import { reviewLearning, type RemoteLearner } from '../src/streams/review-learning.js';
import { countingSource, makeFrame, sleep, waitUntil } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

before(async () => {
  await useBackend('wasm');
});

const runtime: ModelRuntime = { backend: () => 'remote-test', memory: () => ({ numBytes: 123, numTensors: 4 }) };

/** A model "in a worker": each frame comes back inverted after `delay(timestamp)` ms; the input is closed at once. */
function fakeRemote(delay: (timestamp: number) => number, fail?: (timestamp: number) => SimpleIRError | undefined) {
  const outputs: { frame: NodeFrame; closed: boolean }[] = [];
  const model: FrameRestoringModel<NodeFrame> = {
    runtime,
    async restoreFrame(frame) {
      frame.close?.();
      await sleep(delay(frame.timestamp));
      const error = fail?.(frame.timestamp);
      if (error) throw error;
      const entry = { frame: { ...frame, data: frame.data.map((v) => 255 - v) } as NodeFrame, closed: false };
      entry.frame.close = () => (entry.closed = true);
      outputs.push(entry);
      return entry.frame;
    },
  };
  return { model, outputs };
}

describe('restore with a FrameRestoringModel', () => {
  test('keeps the order when results come back out of order; outputs are the model results; every input closed once; metrics carry its runtime', async () => {
    const { source, stats } = countingSource(8);
    // Even frames take longer than odd ones: with 3 in flight, results arrive out of order.
    const { model } = fakeRemote((t) => ((t / 40_000) % 2 === 0 ? 30 : 5));
    let last: RestoreMetrics | undefined;
    const out = await lastValueFrom(source.pipe(restore(model, { maxInFlight: 3, onMetrics: (m) => (last = m) }), toArray()));
    assert.deepEqual(out.map((f) => f.timestamp), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * 40_000));
    const want = makeFrame(5);
    assert.deepEqual(Array.from(out[5]!.data.subarray(0, 6)), Array.from(want.data.subarray(0, 6)).map((v) => 255 - v));
    assert.equal(stats.closed, 8);
    assert.equal(stats.doubleClosed, 0);
    assert.equal(last?.backend, 'remote-test');
    assert.equal(last?.tensorBytes, 123);
    assert.equal(last?.framesOut, 8);
  });

  test('unsubscribing closes the outputs that come back afterwards', async () => {
    const { source, stats } = countingSource(10);
    const { model, outputs } = fakeRemote(() => 20);
    await new Promise<void>((resolve) => {
      const sub = source.pipe(restore(model, { maxInFlight: 3 })).subscribe((f) => {
        f.close?.();
        sub.unsubscribe();
        resolve();
      });
    });
    await waitUntil(() => outputs.length >= 3, 2000, 'the frames in flight to come back');
    await sleep(20);
    assert.ok(outputs.every((o) => o.closed), `${outputs.filter((o) => !o.closed).length} output(s) left open`);
    assert.equal(stats.closed, stats.emitted, 'every input taken was closed');
  });

  test('live mode: a frame error is skipped, WORKER_FAILED ends the stream', async () => {
    // A camera-like push source, slower than the model: no frame is replaced while waiting.
    const source = new Subject<NodeFrame>();
    const errors: string[] = [];
    const { model } = fakeRemote(
      () => 1,
      (t) => (t === 40_000 ? new SimpleIRError('INVALID_IMAGE', 'bad frame') : t === 160_000 ? new SimpleIRError('WORKER_FAILED', 'the worker crashed') : undefined),
    );
    const got: number[] = [];
    const failure = new Promise<unknown>((resolve) =>
      source.pipe(restore(model, { mode: 'live', maxInFlight: 1, onFrameError: (e) => errors.push(e.code) })).subscribe({
        next: (f) => got.push(f.timestamp),
        error: resolve,
        complete: () => resolve(null),
      }),
    );
    for (let i = 0; i < 10; i++) {
      source.next(makeFrame(i));
      await sleep(15);
    }
    source.complete();
    await failure.then((e) => assert.ok(e instanceof SimpleIRError && e.code === 'WORKER_FAILED', String(e)));
    assert.deepEqual(errors, ['INVALID_IMAGE']);
    // Frames before the failure, less the one that failed (a busy machine may replace one more).
    assert.ok(got.includes(0) && !got.includes(40_000) && got.every((t) => t < 160_000), JSON.stringify(got));
  });

  test('temporal restoration with a model in a worker is refused', () => {
    const { model } = fakeRemote(() => 0);
    assert.throws(() => restore(model, { temporal: true }), (e: unknown) => e instanceof SimpleIRError && e.code === 'INVALID_ARGUMENT');
  });
});

describe('reviewLearning with a RemoteLearner', () => {
  function fakeLearner() {
    const calls: { domain: string; kind: string; stopped: boolean; fail?: (e: SimpleIRError) => void }[] = [];
    const learner: RemoteLearner = {
      teach(lesson, onError) {
        const call = { domain: lesson.domain, kind: lesson.degrade.kind, stopped: false, fail: onError };
        calls.push(call);
        return () => (call.stopped = true);
      },
    };
    return { learner, calls };
  }

  test('frames pass unchanged and in order; the learner is told the domain and degradation, and stopped at the end', async () => {
    const { learner, calls } = fakeLearner();
    const degrade = createDegradation('rain', { seed: 1 });
    const { source } = countingSource(5);
    const out = await lastValueFrom(source.pipe(reviewLearning<NodeFrame>(learner, { domain: 'night-rain', pairs: 'synthesize', degrade }), toArray()));
    assert.deepEqual(out.map((f) => f.timestamp), [0, 1, 2, 3, 4].map((i) => i * 40_000));
    assert.deepEqual(Array.from(out[2]!.data.subarray(0, 6)), Array.from(makeFrame(2).data.subarray(0, 6)));
    assert.equal(calls.length, 1);
    assert.deepEqual([calls[0]!.domain, calls[0]!.kind, calls[0]!.stopped], ['night-rain', 'rain', true]);
    degrade.dispose();
  });

  test("a failure of the learner fails the stream; pairs from the app are refused", async () => {
    const { learner, calls } = fakeLearner();
    const degrade = createDegradation('snow', { seed: 2 });
    const frames = new Subject<NodeFrame>();
    const failed = new Promise<unknown>((resolve) => frames.pipe(reviewLearning<NodeFrame>(learner, { domain: 'd', pairs: 'synthesize', degrade })).subscribe({ error: resolve }));
    frames.next(makeFrame(0));
    calls[0]!.fail!(new SimpleIRError('NON_FINITE', 'the loss diverged'));
    const e = await failed;
    assert.ok(e instanceof SimpleIRError && e.code === 'NON_FINITE');
    assert.ok(calls[0]!.stopped, 'the learner is stopped when the stream fails');
    assert.throws(() => reviewLearning(learner, { domain: 'd', pairs: new Subject() }), (x: unknown) => x instanceof SimpleIRError && x.code === 'INVALID_ARGUMENT');
    degrade.dispose();
  });
});

test("a degradation rebuilt from its kind and params (as the worker learner does) gives the page's values", () => {
  const clean = tf.tidy(() => tf.randomUniform([1, 48, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D);
  for (const kind of ['rain', 'snow', 'lowlight', 'blur'] as DegradationKind[]) {
    const page = createDegradation(kind, { seed: 5, strength: 0.7 });
    const worker = createDegradation(kind, page.params as never);
    const [a, b] = [page.apply(clean, { time: 0.4 }), worker.apply(clean, { time: 0.4 })];
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()), `${kind}: rebuilt from params differs`);
    tf.dispose([a, b]);
    page.dispose();
    worker.dispose();
  }
  clean.dispose();
});
