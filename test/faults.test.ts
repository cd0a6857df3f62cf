/**
 * Reliability, faults in Node: unsubscribing at random points of a restore stream (lossless with a
 * pull source, live with a pushing one, and a y4m file source) leaves every frame closed, no tensor
 * behind and the source released; NaN or infinity in the weights or in the model's output ends a
 * lossless stream with NON_FINITE and is reported and skipped in live mode; a non-finite input cannot
 * enter through the built-in frame types. Seeds are fixed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, Observable, toArray } from 'rxjs';
import { fromY4m } from '../src/adapters/node/y4m-source.js';
import { createY4mWriter } from '../src/adapters/node/y4m.js';
import { SimpleIRError, isSimpleIRError } from '../src/core/errors.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { Random } from '../src/core/random.js';
import type { NodeFrame } from '../src/streams/frames.js';
import type { RestoreMetrics } from '../src/streams/metrics.js';
import { restore, type FramePredictor } from '../src/streams/restore.js';
import { countingSource, FRAME_US, makeFrame, sleep, slowConverter, waitUntil, type SourceStats } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

let model: SimpleIR;

before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny');
  // Warm up: kernels and backend-held tensors exist before the counts below.
  await lastValueFrom(from([makeFrame(0)]).pipe(restore(model), toArray()));
});
after(() => model.dispose());

function emptyStats(): SourceStats {
  return { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
}

describe('faults: unsubscribe at random points', () => {
  test('lossless, pull source: 40 runs, random converter delays and unsubscribe times', async () => {
    const tensors = tf.memory().numTensors;
    const rng = new Random(80_001);
    let unsubscribedEarly = 0;
    for (let run = 0; run < 40; run++) {
      const delay = rng.int(0, 8);
      const conv = slowConverter(delay);
      const { source, stats } = countingSource(30, { width: 16, height: 12 });
      const received: NodeFrame[] = [];
      let done = false;
      const sub = source.pipe(restore(model, { maxInFlight: rng.int(1, 3), converter: conv.converter })).subscribe({
        next: (f) => received.push(f),
        error: (e) => assert.fail(`run ${run}: ${String(e)}`),
        complete: () => (done = true),
      });
      // Unsubscribe before the first frame, mid-stream, or (rarely) after the end.
      await sleep(rng.pick([0, 0, rng.int(1, 10), rng.int(5, 60), rng.int(40, 200)]));
      if (!done) unsubscribedEarly++;
      sub.unsubscribe();
      await waitUntil(() => stats.closed === stats.emitted && conv.stats.outputs - received.length === conv.stats.outputsClosed, 5000, `run ${run}: frames released`);
      assert.equal(stats.doubleClosed, 0, `run ${run}: a frame closed twice`);
      assert.ok(stats.tornDown, `run ${run}: the source was not released`);
      await waitUntil(() => tf.memory().numTensors === tensors, 5000, `run ${run}: tensors released (${tf.memory().numTensors} vs ${tensors})`);
    }
    assert.ok(unsubscribedEarly >= 30, `only ${unsubscribedEarly} of 40 runs were cut mid-stream`);
    console.log(`# lossless: 40 runs, ${unsubscribedEarly} cut mid-stream; every frame closed once, tensors back to ${tensors}`);
  });

  test('live, pushing source: 40 runs, random frame rates and unsubscribe times', async () => {
    const tensors = tf.memory().numTensors;
    const rng = new Random(80_002);
    for (let run = 0; run < 40; run++) {
      const conv = slowConverter(rng.int(0, 15));
      const stats = emptyStats();
      const period = rng.int(1, 6);
      const source = new Observable<NodeFrame>((s) => {
        let i = 0;
        const timer = setInterval(() => {
          stats.emitted++;
          s.next(makeFrame(i++, 16, 12, stats));
        }, period);
        return () => {
          stats.tornDown = true;
          clearInterval(timer);
        };
      });
      let final: RestoreMetrics | undefined;
      const received: NodeFrame[] = [];
      const sub = source.pipe(restore(model, { mode: 'live', maxInFlight: rng.int(1, 2), converter: conv.converter, onMetrics: (m) => (final = m) })).subscribe((f) => received.push(f));
      await sleep(rng.int(0, 80));
      sub.unsubscribe();
      assert.ok(stats.tornDown, `run ${run}: source still running`);
      await waitUntil(() => stats.closed === stats.emitted && conv.stats.outputs - received.length === conv.stats.outputsClosed, 5000, `run ${run}: frames released`);
      assert.equal(stats.doubleClosed, 0);
      assert.ok(final?.done, `run ${run}: no final metrics report`);
      assert.equal(final!.framesIn, final!.framesOut + final!.dropped + final!.errors, `run ${run}: counts do not add up`);
      await waitUntil(() => tf.memory().numTensors === tensors, 5000, `run ${run}: tensors released`);
    }
  });

  test('y4m file source: 20 runs cut at random frames close the reader', async () => {
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    const writer = createY4mWriter(sink, { width: 16, height: 12, fps: { num: 25, den: 1 } });
    for (let t = 0; t < 40; t++) await writer.write({ y: new Uint8Array(192).fill(t), u: new Uint8Array(48).fill(128), v: new Uint8Array(48).fill(128) });
    await writer.close();
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const tensors = tf.memory().numTensors;
    const rng = new Random(80_003);
    for (let run = 0; run < 20; run++) {
      // An iterable of small chunks that records whether the reader returned it (closed the source).
      let returned = false;
      let pulled = 0;
      const chunked = {
        [Symbol.asyncIterator]() {
          let o = 0;
          return {
            next: async () => {
              if (o >= bytes.length) return { done: true as const, value: undefined };
              pulled++;
              const c = bytes.subarray(o, o + 100);
              o += 100;
              return { done: false as const, value: c };
            },
            return: async () => {
              returned = true;
              return { done: true as const, value: undefined };
            },
          };
        },
      };
      const cutAfter = rng.int(1, 30);
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        const sub = fromY4m(chunked)
          .pipe(restore(model))
          .subscribe({
            next: () => {
              if (++received === cutAfter) {
                sub.unsubscribe();
                resolve();
              }
            },
            error: reject,
            complete: () => reject(new Error('the stream ended before the cut')),
          });
      });
      await waitUntil(() => returned, 5000, `run ${run}: the y4m source was not closed`);
      const pulledAtClose = pulled;
      await sleep(20);
      assert.equal(pulled, pulledAtClose, 'the source was read after the unsubscribe');
      await waitUntil(() => tf.memory().numTensors === tensors, 5000, `run ${run}: tensors released`);
    }
  });
});

describe('faults: NaN and infinity', () => {
  /** A copy of the tiny model with `value` written into one weight. */
  function brokenModel(tensor: string, value: number): SimpleIR {
    const m = SimpleIR.create('tiny');
    const w = m.getWeights();
    const values = w.get(tensor)!;
    values[values.length - 1] = value;
    m.setWeights(w);
    return m;
  }

  for (const backend of ['wasm', 'cpu'] as const) {
    test(`${backend}: NaN or infinity in the weights ends a lossless stream with NON_FINITE naming the tensor; frames closed, no tensor left`, async () => {
      await useBackend(backend);
      try {
        for (const [tensor, value] of [['head.b', NaN], ['hab1.ffn2.w', Infinity], ['ldam.out.b', -Infinity]] as const) {
          const broken = brokenModel(tensor, value);
          const tensors = tf.memory().numTensors;
          const { source, stats } = countingSource(6, { width: 16, height: 12 });
          const err = await lastValueFrom(source.pipe(restore(broken), toArray())).catch((e: unknown) => e);
          assert.ok(isSimpleIRError(err, 'NON_FINITE'), `${tensor}=${value}: expected NON_FINITE, got ${String(err)}`);
          assert.match(err.message, new RegExp(tensor.replace('.', '\\.')));
          assert.equal(err.details.timestamp, 0, 'reported at the first frame');
          await waitUntil(() => stats.closed === stats.emitted, 5000, 'frames closed');
          await waitUntil(() => tf.memory().numTensors === tensors, 5000, 'tensors released');
          broken.dispose();
        }
      } finally {
        await useBackend('wasm');
      }
    });
  }

  test('assertFiniteWeights: resolves for sound weights, names the broken tensor, checks again after setWeights; restore asks the model', async () => {
    const m = SimpleIR.create('tiny');
    try {
      await m.assertFiniteWeights();
      const sound = m.getWeights();
      const broken = m.getWeights();
      const values = broken.get('hab1.ffn2.w')!;
      values[3] = NaN;
      m.setWeights(broken);
      const err = await m.assertFiniteWeights().catch((e: unknown) => e);
      assert.ok(isSimpleIRError(err, 'NON_FINITE'), String(err));
      assert.equal(err.details.tensor, 'hab1.ffn2.w');
      m.setWeights(sound);
      await m.assertFiniteWeights();
      const tensors = tf.memory().numTensors;
      await m.assertFiniteWeights();
      assert.equal(tf.memory().numTensors, tensors);
    } finally {
      m.dispose();
    }
    // The operator leaves the check to the model: a predictor that says its weights are broken ends the stream.
    const refusing: FramePredictor = {
      predict: (x) => tf.clone(x),
      assertFiniteWeights: () => Promise.reject(new SimpleIRError('NON_FINITE', 'synthetic: weight w holds NaN', { tensor: 'w' })),
    };
    const stats = emptyStats();
    const err = await lastValueFrom(from([makeFrame(0, 16, 12, stats), makeFrame(1, 16, 12, stats)]).pipe(restore(refusing))).catch((e: unknown) => e);
    assert.ok(isSimpleIRError(err, 'NON_FINITE') && err.details.tensor === 'w', String(err));
    assert.equal(stats.closed, 2);
  });

  test('live mode: frames with a non-finite output are reported to onFrameError and skipped; the stream goes on', async () => {
    // A predictor (not a SimpleIR, so no weights to check) whose output is NaN for every third frame.
    let calls = 0;
    const nanEveryThird: FramePredictor = {
      predict: (x) => tf.tidy(() => (calls++ % 3 === 2 ? tf.mul(x, NaN) : tf.mul(x, 1)) as tf.Tensor4D),
    };
    const stats = emptyStats();
    const frames = Array.from({ length: 9 }, (_, i) => makeFrame(i, 16, 12, stats));
    const errors: SimpleIRError[] = [];
    const source = new Observable<NodeFrame>((s) => {
      let i = 0;
      const next = (): void => {
        if (i === frames.length) return s.complete();
        s.next(frames[i++]!);
        setTimeout(next, 15);
      };
      next();
    });
    const out = await lastValueFrom(source.pipe(restore(nanEveryThird, { mode: 'live', onFrameError: (e) => errors.push(e) }), toArray()));
    assert.deepEqual(out.map((f) => f.timestamp / FRAME_US), [0, 1, 3, 4, 6, 7]);
    assert.deepEqual(errors.map((e) => [e.code, (e.details.timestamp as number) / FRAME_US]), [['NON_FINITE', 2], ['NON_FINITE', 5], ['NON_FINITE', 8]]);
    assert.equal(stats.closed, 9);
  });

  test('lossless mode: a non-finite output ends the stream with NON_FINITE (the output check, on any backend)', async () => {
    const inf: FramePredictor = { predict: (x) => tf.tidy(() => tf.div(x, 0) as tf.Tensor4D) };
    const err = await lastValueFrom(from([makeFrame(0, 16, 12)]).pipe(restore(inf))).catch((e: unknown) => e);
    assert.ok(isSimpleIRError(err, 'NON_FINITE'), String(err));
  });

  test('a frame cannot carry NaN in: float samples are refused with a typed error naming the 8-bit types', async () => {
    const f = makeFrame(0, 8, 8);
    const floats = { ...f, data: new Float32Array(f.data.length).fill(NaN) } as unknown as NodeFrame;
    const err = await lastValueFrom(from([floats]).pipe(restore(model))).catch((e: unknown) => e);
    assert.ok(isSimpleIRError(err), String(err));
    assert.match(err.message, /Uint8Array/);
  });

  test('weights with NaN are refused at load time (NON_FINITE) naming the tensor', async () => {
    const files = model.toWeightFiles({ dtype: 'float16' });
    const data = files.data.slice();
    new DataView(data.buffer).setUint16(files.manifest.tensors[5]!.offset, 0x7e00, true); // a half NaN
    const { checksum } = await import('../src/core/weights.js');
    const manifest = { ...files.manifest, checksum: checksum(data) };
    await assert.rejects(SimpleIR.load({ manifest, data }), (e: unknown) => isSimpleIRError(e, 'NON_FINITE') && e.message.includes(files.manifest.tensors[5]!.name));
  });
});
