/**
 * The `restore` operator: lossless order and backpressure, live dropping under overload, releasing
 * everything on unsubscribe, typed per-frame errors, and flat tensor counts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, Observable, toArray } from 'rxjs';
import { SimpleIRError } from '../src/core/errors.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import type { RestoreMetrics } from '../src/streams/metrics.js';
import { isPullSource, pullSource } from '../src/streams/pull.js';
import { restore } from '../src/streams/restore.js';
import { collectGarbage, countingSource, FRAME_US, makeFrame, sleep, slowConverter, waitUntil, type SourceStats } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

let model: SimpleIR;

before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny');
});
after(() => model.dispose());

describe('restore, lossless', () => {
  test('keeps every frame, in order, with timestamps and durations, and never pulls more than maxInFlight ahead', async () => {
    for (const maxInFlight of [1, 2, 3]) {
      let received = 0;
      const { source, stats } = countingSource(12, { consumed: () => received });
      const out: NodeFrame[] = [];
      await new Promise<void>((resolve, reject) =>
        source.pipe(restore(model, { maxInFlight })).subscribe({
          next: (f) => {
            received++;
            out.push(f);
          },
          error: reject,
          complete: resolve,
        }),
      );
      assert.equal(out.length, 12);
      out.forEach((f, i) => {
        assert.equal(f.timestamp, i * FRAME_US);
        assert.equal(f.duration, FRAME_US);
        assert.deepEqual(f.data, makeFrame(i).data, `frame ${i} differs (the tiny preset is the identity)`);
      });
      assert.ok(stats.maxAhead <= maxInFlight, `maxInFlight ${maxInFlight}: source ran ${stats.maxAhead} frames ahead`);
      assert.equal(stats.closed, 12);
      assert.equal(stats.doubleClosed, 0);
    }
  });

  test('the output is a pull source; a slow consumer keeps the source from running ahead', async () => {
    let consumed = 0;
    const { source, stats } = countingSource(10, { consumed: () => consumed });
    const restored = source.pipe(restore(model, { maxInFlight: 2 }));
    assert.ok(isPullSource(restored));
    await new Promise<void>((resolve, reject) => {
      const sub = restored.pull({
        next: () => {
          // A slow asynchronous consumer: it takes 30 ms per frame, then asks for the next.
          setTimeout(() => {
            consumed++;
            sub.request(1);
          }, 30);
        },
        error: reject,
        complete: resolve,
      });
      sub.request(1);
    });
    // The completion comes right after the last frame, while the consumer still works on it.
    await waitUntil(() => consumed === 10, 5000, 'the last frame consumed');
    // Frames pulled from the source but not yet consumed: the 2 in flight plus the 1 being consumed.
    assert.ok(stats.maxAhead <= 3, `source ran ${stats.maxAhead} frames ahead of a slow consumer`);
  });

  test('a slow synchronous subscriber holds the source back too', async () => {
    let consumed = 0;
    const { source, stats } = countingSource(8, { consumed: () => consumed });
    await new Promise<void>((resolve, reject) =>
      source.pipe(restore(model, { maxInFlight: 2 })).subscribe({
        next: () => {
          const t = Date.now();
          while (Date.now() - t < 10);
          consumed++;
        },
        error: reject,
        complete: resolve,
      }),
    );
    assert.equal(consumed, 8);
    assert.ok(stats.maxAhead <= 2, `ran ahead by ${stats.maxAhead}`);
  });

  test('a non-pull source is buffered in order and its queue is reported', async () => {
    const stats: SourceStats = { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
    const frames = Array.from({ length: 6 }, (_, i) => makeFrame(i, 32, 32, stats));
    const reports: RestoreMetrics[] = [];
    const out = await lastValueFrom(from(frames).pipe(restore(model, { onMetrics: (m) => reports.push(m), metricsIntervalMs: 0 }), toArray()));
    assert.deepEqual(out.map((f) => f.timestamp), frames.map((f) => f.timestamp));
    assert.equal(stats.closed, 6);
    assert.ok(Math.max(...reports.map((m) => m.queued)) >= 3, 'a synchronous source fills the queue');
  });

  test('a bad frame ends the stream with a SimpleIRError carrying its timestamp, after closing everything', async () => {
    const conv = slowConverter(5);
    const { source, stats } = countingSource(20, {
      frame: (i, s) => {
        const f = makeFrame(i, 32, 32, s);
        return i === 3 ? { ...f, data: f.data.subarray(0, 10) } : f;
      },
    });
    const out: NodeFrame[] = [];
    const err = await new Promise<unknown>((resolve) =>
      source.pipe(restore(model, { converter: conv.converter })).subscribe({ next: (f) => out.push(f), error: resolve, complete: () => resolve(null) }),
    );
    assert.ok(err instanceof SimpleIRError, `expected a SimpleIRError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_IMAGE');
    assert.equal(err.details.timestamp, 3 * FRAME_US);
    assert.deepEqual(out.map((f) => f.timestamp), [0, 1, 2].map((i) => i * FRAME_US), 'frames before the bad one are delivered in order');
    assert.ok(stats.tornDown, 'the source is unsubscribed');
    await waitUntil(() => conv.stats.outputs - out.length === conv.stats.outputsClosed, 5000, 'undelivered outputs closed');
    // The bad frame (a copy carrying the original's close) is closed too.
    assert.equal(stats.closed, stats.emitted);
    assert.equal(stats.doubleClosed, 0);
  });
});

describe('restore, live', () => {
  test('under overload drops frames, counts and closes them, and ends on the latest', async () => {
    const conv = slowConverter(25);
    const stats: SourceStats = { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
    const total = 300;
    const source = new Observable<NodeFrame>((sub) => {
      let i = 0;
      const timer = setInterval(() => {
        stats.emitted++;
        sub.next(makeFrame(i++, 32, 32, stats));
        if (i === total) {
          clearInterval(timer);
          sub.complete();
        }
      }, 1);
      return () => clearInterval(timer);
    });
    let final: RestoreMetrics | undefined;
    const out = await lastValueFrom(
      source.pipe(restore(model, { mode: 'live', maxInFlight: 1, converter: conv.converter, onMetrics: (m) => (final = m) }), toArray()),
    );
    assert.ok(final?.done);
    const m = final!;
    assert.equal(m.framesIn, total);
    assert.equal(m.framesIn, m.framesOut + m.dropped + m.errors);
    assert.equal(m.framesOut, out.length);
    assert.ok(m.dropped > total / 2, `expected most frames dropped, got ${m.dropped} of ${total}`);
    assert.equal(stats.closed, total, 'every input frame closed (dropped ones at once, the others after conversion)');
    assert.equal(stats.doubleClosed, 0);
    const ts = out.map((f) => f.timestamp);
    assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]!), 'outputs in order');
    assert.equal(ts[ts.length - 1], (total - 1) * FRAME_US, 'the last frame is the latest one');
    process.stderr.write(`live overload: ${total} in, ${m.framesOut} out, ${m.dropped} dropped (${((100 * m.dropped) / total).toFixed(0)}%), p50 ${m.latencyP50.toFixed(1)} ms\n`);
  });

  test('a bad frame is reported and skipped', async () => {
    const conv = slowConverter(0, (ts) => ts === 2 * FRAME_US);
    const stats: SourceStats = { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
    const source = new Observable<NodeFrame>((sub) => {
      let i = 0;
      const next = (): void => {
        if (i === 6) return sub.complete();
        stats.emitted++;
        const f = makeFrame(i, 32, 32, stats);
        sub.next(i === 4 ? { ...f, width: 31 } : f);
        i++;
        setTimeout(next, 20);
      };
      next();
    });
    const errors: SimpleIRError[] = [];
    let final: RestoreMetrics | undefined;
    const out = await lastValueFrom(
      source.pipe(restore(model, { mode: 'live', converter: conv.converter, onFrameError: (e) => errors.push(e), onMetrics: (m) => (final = m) }), toArray()),
    );
    assert.deepEqual(out.map((f) => f.timestamp / FRAME_US), [0, 1, 3, 5]);
    assert.deepEqual(errors.map((e) => e.details.timestamp), [2 * FRAME_US, 4 * FRAME_US]);
    assert.ok(errors.every((e) => e instanceof SimpleIRError && e.code === 'INVALID_IMAGE'));
    assert.match(errors[0]!.message, /synthetic conversion failure/);
    assert.equal(final!.errors, 2);
    assert.equal(final!.framesIn, final!.framesOut + final!.dropped + final!.errors);
    // Bad frames are closed too.
    assert.equal(stats.closed, 6);
  });

  test('a frame that is not a frame at all is closed, reported as UNSUPPORTED_FORMAT and skipped', async () => {
    let closed = 0;
    const odd = { timestamp: 7, close: () => void closed++ } as unknown as NodeFrame;
    const errors: SimpleIRError[] = [];
    const out = await lastValueFrom(
      from([odd, makeFrame(1)]).pipe(restore(model, { mode: 'live', maxInFlight: 2, onFrameError: (e) => errors.push(e) }), toArray()),
    );
    assert.deepEqual(out.map((f) => f.timestamp), [FRAME_US]);
    assert.equal(errors[0]?.code, 'UNSUPPORTED_FORMAT');
    assert.equal(errors[0]?.details.timestamp, 7);
    assert.equal(closed, 1);
  });

  test('a disposed model ends a live stream (not a per-frame error)', async () => {
    const m = SimpleIR.create('tiny');
    m.dispose();
    const err = await lastValueFrom(from([makeFrame(0), makeFrame(1)]).pipe(restore(m, { mode: 'live' }))).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'DISPOSED', String(err));
    assert.equal(err.details.timestamp, 0);
  });
});

describe('restore, unsubscribe', () => {
  test('lossless: closes frames in flight and pending, stops the source, disposes tensors', async () => {
    const before = tf.memory().numTensors;
    const conv = slowConverter(20);
    const { source, stats } = countingSource(1000);
    const out: NodeFrame[] = [];
    const sub = source.pipe(restore(model, { maxInFlight: 3, converter: conv.converter })).subscribe((f) => out.push(f));
    await waitUntil(() => out.length >= 3, 10_000, '3 outputs');
    sub.unsubscribe();
    assert.ok(stats.tornDown, 'source unsubscribed');
    const emitted = stats.emitted;
    await sleep(100);
    assert.equal(stats.emitted, emitted, 'the source stopped');
    assert.ok(emitted < 10);
    assert.equal(stats.closed, emitted, 'every frame taken from the source is closed');
    assert.equal(conv.stats.outputs - out.length, conv.stats.outputsClosed, 'outputs nobody received are closed');
    assert.equal(tf.memory().numTensors, before);
  });

  test('live: closes the pending frame and the one in work', async () => {
    const before = tf.memory().numTensors;
    const conv = slowConverter(30);
    const stats: SourceStats = { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
    let stopped = false;
    const source = new Observable<NodeFrame>((s) => {
      let i = 0;
      const timer = setInterval(() => {
        stats.emitted++;
        s.next(makeFrame(i++, 32, 32, stats));
      }, 2);
      return () => {
        stopped = true;
        clearInterval(timer);
      };
    });
    let final: RestoreMetrics | undefined;
    const out: NodeFrame[] = [];
    const sub = source.pipe(restore(model, { mode: 'live', converter: conv.converter, onMetrics: (m) => (final = m) })).subscribe((f) => out.push(f));
    await waitUntil(() => out.length >= 2, 10_000, '2 outputs');
    sub.unsubscribe();
    assert.ok(stopped);
    await sleep(100);
    assert.equal(stats.closed, stats.emitted);
    assert.equal(stats.doubleClosed, 0);
    assert.equal(conv.stats.outputs - out.length, conv.stats.outputsClosed);
    assert.ok(final?.done);
    assert.equal(final!.framesIn, final!.framesOut + final!.dropped + final!.errors);
    assert.equal(tf.memory().numTensors, before);
  });
});

test('soak: 1000 frames, tensor count and bytes flat, heap growth bounded, every input frame closed once', async () => {
  // Warm up (the first run may create backend-held tensors and compile kernels).
  await lastValueFrom(countingSource(20, { width: 48, height: 32 }).source.pipe(restore(model), toArray()));
  const gc = collectGarbage();
  const before = tf.memory();
  // The heap baseline is taken at frame 200: V8 and tfjs caches settle over the first few hundred
  // frames (measured: +1.5 MB by frame 500, then flat within 0.4 MB up to 5000 frames).
  let heapBefore = 0;
  const n = 1000;
  const { source, stats } = countingSource(n, { width: 48, height: 32 });
  const tensorCounts: number[] = [];
  let frames = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    source.pipe(restore(model)).subscribe({
      next: () => {
        // Outputs are dropped at once: whatever the heap keeps is the pipeline's.
        if (++frames % 100 === 0) tensorCounts.push(tf.memory().numTensors);
        if (frames === 200) {
          gc();
          heapBefore = process.memoryUsage().heapUsed;
        }
      },
      error: reject,
      complete: resolve,
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const growth = process.memoryUsage().heapUsed - heapBefore;
  assert.equal(frames, n);
  assert.equal(stats.closed, n);
  assert.equal(stats.doubleClosed, 0);
  // Between frames at most the frames in flight hold tensors; after the run, none.
  assert.ok(Math.max(...tensorCounts) - before.numTensors <= 2 * 2, `tensor count rose to ${Math.max(...tensorCounts)} from ${before.numTensors}`);
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numBytes, before.numBytes);
  // One leaked 48x32 output per frame would be 3.7 MB over the last 800 frames.
  assert.ok(growth < 1.5e6, `heap grew by ${(growth / 1e6).toFixed(2)} MB from frame 200 to frame ${n}`);
  process.stderr.write(`soak: ${n} frames, tiny 48x32 on ${tf.getBackend()}: ${(n / seconds).toFixed(0)} frames/s, ${seconds.toFixed(1)} s, heap ${growth >= 0 ? '+' : ''}${(growth / 1e6).toFixed(2)} MB from frame 200, tensors ${before.numTensors} -> ${tf.memory().numTensors} (max ${Math.max(...tensorCounts)} during)\n`);
});

test('pullSource: every pending waitForDemand() is woken, not only the last', async () => {
  let woken = 0;
  const source = pullSource<number>((p) => {
    void p.waitForDemand().then(() => woken++);
    void p.waitForDemand().then(() => woken++);
  });
  const sub = source.pull({});
  sub.request(1);
  await sleep(10);
  assert.equal(woken, 2);
  sub.unsubscribe();
});
