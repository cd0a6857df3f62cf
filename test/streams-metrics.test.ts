/** Metrics of the restore operator: consistent counts, percentiles, throttled reports, the final report, metrics$. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { from, lastValueFrom, Observable, takeWhile, toArray } from 'rxjs';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import { MetricsRecorder, quantile, type RestoreMetrics } from '../src/streams/metrics.js';
import { createRestorer, restore } from '../src/streams/restore.js';
import { countingSource, makeFrame, sleep, slowConverter } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

let model: SimpleIR;
before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny');
});
after(() => model.dispose());

test('quantile is the nearest-rank percentile', () => {
  assert.equal(quantile([], 0.5), 0);
  assert.equal(quantile([5], 0.95), 5);
  const v = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(v, 0.5), 50);
  assert.equal(quantile(v, 0.95), 95);
  assert.equal(quantile(v, 1), 100);
});

test('the recorder reports at most once per interval, the last change at the interval end, and a final report', async () => {
  const reports: RestoreMetrics[] = [];
  const rec = new MetricsRecorder('lossless', (m) => reports.push(m), 50);
  const t0 = performance.now();
  while (performance.now() - t0 < 300) {
    rec.counters.framesIn++;
    rec.changed();
    await sleep(1);
  }
  const elapsed = performance.now() - t0;
  assert.ok(reports.length <= Math.ceil(elapsed / 50) + 1, `${reports.length} reports in ${elapsed.toFixed(0)} ms`);
  assert.ok(reports.length >= 3);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.elapsedMs - reports[i - 1]!.elapsedMs >= 49, `spaced by the interval: ${reports.map((m) => m.elapsedMs.toFixed(1)).join(' ')}`);
  await sleep(80);
  // The trailing report carries the last change.
  assert.equal(reports[reports.length - 1]!.framesIn, rec.counters.framesIn);
  rec.finish();
  rec.finish();
  assert.equal(reports.filter((m) => m.done).length, 1);
  assert.equal(reports[reports.length - 1]!.done, true);
});

test('a lossless run reports consistent numbers, throttled, with a final report', async () => {
  const reports: RestoreMetrics[] = [];
  const conv = slowConverter(10);
  const { source } = countingSource(30, { width: 32, height: 32 });
  const t0 = performance.now();
  const out = await lastValueFrom(source.pipe(restore(model, { converter: conv.converter, onMetrics: (m) => reports.push(m), metricsIntervalMs: 100 }), toArray()));
  const elapsed = performance.now() - t0;
  assert.equal(out.length, 30);
  const last = reports[reports.length - 1]!;
  assert.equal(last.done, true);
  assert.equal(reports.filter((m) => m.done).length, 1);
  assert.deepEqual(
    { in: last.framesIn, out: last.framesOut, dropped: last.dropped, errors: last.errors, queued: last.queued, inFlight: last.inFlight },
    { in: 30, out: 30, dropped: 0, errors: 0, queued: 0, inFlight: 0 },
  );
  assert.ok(reports.length <= Math.ceil(elapsed / 100) + 2, `${reports.length} reports in ${elapsed.toFixed(0)} ms`);
  for (const m of reports) {
    assert.equal(m.framesIn, m.framesOut + m.dropped + m.errors + m.queued + m.inFlight, 'every frame is somewhere');
    assert.ok(m.inFlight <= 2);
    assert.ok(m.latencyP50 <= m.latencyP95);
    assert.equal(m.mode, 'lossless');
  }
  assert.equal(last.backend, tf.getBackend());
  assert.ok(last.tensorBytes > 0 && last.numTensors > 0);
  assert.ok(last.fps > 0);
  assert.ok(last.latencyP50 >= 8, `latency includes the 10 ms conversion: ${last.latencyP50}`);
  assert.ok(last.elapsedMs > 0);
});

test('createRestorer exposes the same reports as an Observable; live drops are counted', async () => {
  const conv = slowConverter(20);
  const seen: RestoreMetrics[] = [];
  const restorer = createRestorer<NodeFrame>(model, { mode: 'live', maxInFlight: 1, converter: conv.converter, onMetrics: (m) => seen.push(m) });
  const all = lastValueFrom(restorer.metrics$.pipe(takeWhile((m) => !m.done, true), toArray()));
  const source = new Observable<NodeFrame>((sub) => {
    let i = 0;
    const timer = setInterval(() => {
      sub.next(makeFrame(i++));
      if (i === 100) {
        clearInterval(timer);
        sub.complete();
      }
    }, 1);
    return () => clearInterval(timer);
  });
  await lastValueFrom(source.pipe(restorer.operator, toArray()));
  const reports = await all;
  assert.deepEqual(reports, seen);
  const last = reports[reports.length - 1]!;
  assert.equal(last.mode, 'live');
  assert.equal(last.framesIn, 100);
  assert.ok(last.dropped > 0);
  assert.equal(last.framesIn, last.framesOut + last.dropped + last.errors);
  assert.ok(reports.every((m) => m.queued <= 1 && m.inFlight <= 1), 'live mode never queues');
});

test('metrics$ completes after the final report when the restored stream completes, fails or is unsubscribed', async () => {
  /** Subscribes metrics$ first; resolves with its reports once it completes. */
  const collect = (metrics$: Observable<RestoreMetrics>): { reports: RestoreMetrics[]; completed: Promise<void> } => {
    const reports: RestoreMetrics[] = [];
    const completed = new Promise<void>((resolve, reject) => metrics$.subscribe({ next: (m) => reports.push(m), error: reject, complete: resolve }));
    return { reports, completed };
  };
  // Completes.
  const done = createRestorer<NodeFrame>(model, { metricsIntervalMs: 0 });
  const a = collect(done.metrics$);
  const out = await lastValueFrom(countingSource(5).source.pipe(done.operator, toArray()));
  await a.completed;
  assert.equal(out.length, 5);
  assert.equal(a.reports.at(-1)!.done, true);
  assert.equal(a.reports.at(-1)!.framesOut, 5);
  assert.equal(a.reports.filter((m) => m.done).length, 1);

  // Fails: a frame of the wrong size ends a lossless stream.
  const failing = createRestorer<NodeFrame>(model, {});
  const b = collect(failing.metrics$);
  const bad = { ...makeFrame(1), data: new Uint8Array(10) };
  const err = await lastValueFrom(from([makeFrame(0), bad]).pipe(failing.operator, toArray())).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  await b.completed;
  assert.equal(b.reports.at(-1)!.done, true);
  assert.equal(b.reports.at(-1)!.errors, 1);

  // Unsubscribed while frames are in work.
  const conv = slowConverter(20);
  const stopped = createRestorer<NodeFrame>(model, { converter: conv.converter });
  const c = collect(stopped.metrics$);
  let completedEarly = false;
  void c.completed.then(() => (completedEarly = true));
  const received: NodeFrame[] = [];
  const sub = countingSource(100).source.pipe(stopped.operator).subscribe((f) => received.push(f));
  await new Promise<void>((resolve) => {
    const check = (): void => (received.length >= 2 ? resolve() : void setTimeout(check, 5));
    check();
  });
  await sleep(0);
  assert.equal(completedEarly, false, 'metrics$ is still open while the stream runs');
  sub.unsubscribe();
  await c.completed;
  assert.equal(c.reports.at(-1)!.done, true);
  assert.ok(c.reports.at(-1)!.framesOut >= 2);
});
