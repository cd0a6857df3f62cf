/**
 * Backpressure through user operators: a y4m made by ffmpeg, read by `fromY4m`, passes `map`, `filter`
 * and `tap` before `restore` (and `reviewLearning`); decoding stays a few frames ahead of the output,
 * and every kept frame comes out in order with its pixels; a sink behind `map`/`filter` paces `restore`.
 * Also `pullFrom` on its own: filtered items, `take`, `merge` of two pull sources, and the documented
 * fallback behind an asynchronous operator.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { delay, filter, lastValueFrom, map, merge, take, tap, toArray, type Observable } from 'rxjs';
import { frameSink } from '../src/adapters/node/frame-sink.js';
import { fromY4m } from '../src/adapters/node/y4m-source.js';
import { createDegradation, type Degradation } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import type { RestoreMetrics } from '../src/streams/metrics.js';
import { isPullSource, pullFrom, pullSource, type PullSource } from '../src/streams/pull.js';
import { restore } from '../src/streams/restore.js';
import { createOnlineLearner, reviewLearning } from '../src/streams/review-learning.js';
import { sleep, slowConverter, waitUntil } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

const W = 320;
const H = 176;
const N = 40;
let dir: string;
let clip: string;
let model: SimpleIR;
/** The clip's frames as `fromY4m` decodes them, read once plainly: the expected pixels. */
let reference: NodeFrame[];

before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny');
  dir = mkdtempSync(join(tmpdir(), 'simpleir-backpressure-'));
  clip = join(dir, 'clip.y4m');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', String(N), '-pix_fmt', 'yuv420p', clip]);
  reference = await lastValueFrom(fromY4m(clip).pipe(toArray()));
  assert.equal(reference.length, N);
});
after(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts frames decoded, filtered and delivered, and the most decoded but not yet delivered or filtered. */
class InFlight {
  decoded = 0;
  filtered = 0;
  delivered = 0;
  max = 0;
  onDecoded(): void {
    this.decoded++;
    this.max = Math.max(this.max, this.decoded - this.filtered - this.delivered);
  }
}

/** Every third frame is dropped (and closed, as an app must). */
function keep(f: NodeFrame, count: InFlight): boolean {
  const kept = Math.round(f.timestamp / 40_000) % 3 !== 1;
  if (!kept) {
    count.filtered++;
    f.close?.();
  }
  return kept;
}

/** The indices of the frames `keep` lets through. */
const KEPT = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 1);

describe('demand through map, filter and tap', () => {
  test('fromY4m -> map -> filter -> tap -> restore (slow): decoding stays within maxInFlight of the output; every kept frame, in order, exact', async () => {
    const count = new InFlight();
    const conv = slowConverter(15);
    const tapped: number[] = [];
    const out: NodeFrame[] = [];
    const tensors = tf.memory().numTensors;
    await new Promise<void>((resolve, reject) =>
      fromY4m(clip)
        .pipe(
          map((f) => {
            count.onDecoded();
            // A new object: the demand must survive operators that do not pass the frame itself.
            return { ...f, timestamp: f.timestamp + 1 };
          }),
          filter((f) => keep(f, count)),
          tap((f) => tapped.push(f.timestamp)),
          restore(model, { maxInFlight: 2, converter: conv.converter }),
        )
        .subscribe({
          next: (f) => {
            count.delivered++;
            out.push(f);
          },
          error: reject,
          complete: resolve,
        }),
    );
    process.stderr.write(`fromY4m ${W}x${H} -> map -> filter -> tap -> restore: at most ${count.max} frames decoded and not yet restored\n`);
    assert.equal(count.decoded, N);
    assert.deepEqual(out.map((f) => f.timestamp), KEPT.map((i) => i * 40_000 + 1));
    assert.deepEqual(tapped, KEPT.map((i) => i * 40_000 + 1));
    out.forEach((f, k) => assert.deepEqual(f.data, reference[KEPT[k]!]!.data, `frame ${KEPT[k]} differs (tiny is the identity)`));
    // maxInFlight frames in restore, and the one the source emits unasked at subscription.
    assert.ok(count.max <= 3, `${count.max} frames decoded and not yet restored (maxInFlight 2)`);
    assert.equal(tf.memory().numTensors, tensors);
  });

  test('fromY4m -> map -> reviewLearning -> tap -> restore: the learner pulls the same way; frames pass unchanged', async () => {
    const learnt = SimpleIR.create('tiny');
    const rain: Degradation = createDegradation('rain', { seed: 3, strength: 1 });
    const learner = createOnlineLearner(learnt, { cropSize: 32, batchSize: 2, seedPerDomain: 2, stepBudgetMs: 0 });
    const count = new InFlight();
    const conv = slowConverter(15);
    const out: NodeFrame[] = [];
    // Its output is a pull source, as restore's: a pulling sink after it holds the chain back.
    assert.ok(isPullSource(fromY4m(clip).pipe(reviewLearning<NodeFrame>(learner, { domain: 'rain', pairs: 'synthesize', degrade: rain }))));
    try {
      await new Promise<void>((resolve, reject) =>
        fromY4m(clip)
          .pipe(
            map((f) => {
              count.onDecoded();
              return f;
            }),
            reviewLearning<NodeFrame>(learner, { domain: 'rain', pairs: 'synthesize', degrade: rain }),
            tap(() => undefined),
            restore(model, { maxInFlight: 2, converter: conv.converter }),
          )
          .subscribe({
            next: (f) => {
              count.delivered++;
              out.push(f);
            },
            error: reject,
            complete: resolve,
          }),
      );
    } finally {
      learner.dispose();
      learnt.dispose();
      rain.dispose();
    }
    process.stderr.write(`fromY4m -> map -> reviewLearning -> tap -> restore: at most ${count.max} frames decoded and not yet restored\n`);
    assert.equal(out.length, N);
    out.forEach((f, i) => {
      assert.equal(f.timestamp, reference[i]!.timestamp);
      assert.deepEqual(f.data, reference[i]!.data, `frame ${i} differs`);
    });
    // restore's 2, and one held by reviewLearning while it reads a frame for crops.
    assert.ok(count.max <= 4, `${count.max} frames decoded and not yet restored`);
  });

  test('restore -> map -> filter -> frameSink (slow writer): the sink paces restore and the source through the operators', async () => {
    let decoded = 0;
    let written = 0;
    let filtered = 0;
    let maxAhead = 0;
    const writtenTimestamps: number[] = [];
    const summary = await lastValueFrom(
      fromY4m(clip).pipe(
        tap(() => {
          decoded++;
          maxAhead = Math.max(maxAhead, decoded - written - filtered);
        }),
        restore(model, { maxInFlight: 2 }),
        map((f) => ({ ...f, timestamp: f.timestamp + 1 })),
        filter((f) => {
          const kept = Math.round(f.timestamp / 40_000) % 3 !== 1;
          if (!kept) {
            filtered++;
            f.close?.();
          }
          return kept;
        }),
        frameSink(() => ({
          write: async (f) => {
            await sleep(15);
            assert.deepEqual(f.data, reference[Math.round(f.timestamp / 40_000)]!.data);
            writtenTimestamps.push(f.timestamp);
            written++;
          },
          finish: async () => written,
          abort: () => undefined,
        })),
      ),
    );
    process.stderr.write(`fromY4m -> restore -> map -> filter -> frameSink: at most ${maxAhead} frames decoded and not yet written\n`);
    assert.equal(summary, KEPT.length);
    assert.deepEqual(writtenTimestamps, KEPT.map((i) => i * 40_000 + 1));
    // restore's 2 in flight, the one being written and the one emitted unasked at subscription.
    assert.ok(maxAhead <= 4, `${maxAhead} frames decoded and not yet written`);
  });

  test('behind an asynchronous operator (delay) demand is lost: the source runs at a plain subscriber pace, restore buffers in order and reports it as queued', async () => {
    const count = new InFlight();
    const conv = slowConverter(15);
    const reports: RestoreMetrics[] = [];
    const out = await lastValueFrom(
      fromY4m(clip).pipe(
        tap(() => count.onDecoded()),
        delay(0),
        restore(model, { maxInFlight: 2, converter: conv.converter, onMetrics: (m) => reports.push(m), metricsIntervalMs: 0 }),
        tap(() => count.delivered++),
        toArray(),
      ),
    );
    process.stderr.write(`fromY4m -> delay(0) -> restore: at most ${count.max} frames decoded and not yet restored, restore queued up to ${Math.max(...reports.map((m) => m.queued))}\n`);
    assert.equal(out.length, N);
    out.forEach((f, i) => assert.deepEqual(f.data, reference[i]!.data, `frame ${i} differs`));
    assert.ok(Math.max(...reports.map((m) => m.queued)) > 0, 'the buffered frames are reported');
  });
});

/** A pull source of `n` numbers that records how far it ran ahead of `consumed()`. */
function numbers(n: number, consumed: () => number, stats: { emitted: number; maxAhead: number }): PullSource<number> {
  return pullSource<number>((p) => {
    void (async () => {
      for (let i = 0; i < n; i++) {
        await p.waitForDemand();
        if (p.closed) return;
        stats.emitted++;
        stats.maxAhead = Math.max(stats.maxAhead, stats.emitted - consumed());
        p.next(i);
      }
      p.complete();
    })();
  });
}

/** Takes everything from `source` with `pullFrom`, `ahead` requested at start, one more per item after `workMs`. */
async function consume<T>(source: Observable<T>, ahead: number, workMs: number, onItem: (v: T) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sub = pullFrom(source, {
      next: (v) => {
        onItem(v);
        setTimeout(() => sub.request(1), workMs);
      },
      error: reject,
      complete: resolve,
    });
    sub.request(ahead);
  });
}

describe('pullFrom', () => {
  test('a filter that drops most items neither stalls the source nor lets it run ahead', async () => {
    let got = 0;
    const stats = { emitted: 0, maxAhead: 0 };
    const kept: number[] = [];
    let dropped = 0;
    const src = numbers(60, () => got + dropped, stats).pipe(filter((v) => (v % 10 === 0 ? true : (dropped++, false))));
    await consume(src, 2, 5, (v) => {
      got++;
      kept.push(v);
    });
    assert.deepEqual(kept, [0, 10, 20, 30, 40, 50]);
    assert.ok(stats.maxAhead <= 2, `ran ${stats.maxAhead} ahead`);
  });

  test('take ends the source; merge of two pull sources paces the first and lets the second go at a plain pace without stalling', async () => {
    const stats = { emitted: 0, maxAhead: 0 };
    let got = 0;
    const taken: number[] = [];
    await consume(numbers(100, () => got, stats).pipe(take(5)), 1, 2, (v) => {
      got++;
      taken.push(v);
    });
    assert.deepEqual(taken, [0, 1, 2, 3, 4]);
    await waitUntil(() => stats.emitted === 5, 1000, 'the source to stop');
    await sleep(20);
    assert.equal(stats.emitted, 5, 'the source stopped at the fifth item');

    const a = { emitted: 0, maxAhead: 0 };
    const b = { emitted: 0, maxAhead: 0 };
    const seen: number[] = [];
    await consume(merge(numbers(10, () => 0, a), numbers(10, () => 0, b).pipe(map((v) => 100 + v))), 1, 1, (v) => seen.push(v));
    assert.deepEqual(seen.filter((v) => v < 100), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(seen.filter((v) => v >= 100), [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });

  test('a push source is subscribed as is: every item arrives, requests do nothing, paced stays false', async () => {
    const items: number[] = [];
    const sub = pullFrom(merge([1, 2, 3]), { next: (v) => items.push(v) });
    assert.deepEqual(items, [1, 2, 3]);
    assert.equal(sub.paced, false);
    sub.request(5);
    sub.unsubscribe();
  });
});
