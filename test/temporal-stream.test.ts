/**
 * `restore(model, { temporal })`: temporal restoration in the stream operator, lossless (a y4m file
 * made by ffmpeg, a pull source) and live; every frame closed on every path, tensor counts flat.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import sharp from 'sharp';
import { loadPhotoSet } from '../src/training/photos.js';
import { fromY4m } from '../src/adapters/node/y4m-source.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { SimpleIRError } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import type { NodeFrame } from '../src/streams/frames.js';
import { restore, type FramePredictor } from '../src/streams/restore.js';
import { countingSource, FRAME_US, slowConverter, waitUntil, type SourceStats } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
const W = 96;
const H = 64;

let model: SimpleIR;
let clean: Uint8Array;
let dir: string;
let photoFile: string;

before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny'); // the identity: the output is the temporal stage's alone
  const set = await loadPhotoSet();
  photoFile = set.val[2]!;
  clean = new Uint8Array(await sharp(photoFile).resize(W, H, { fit: 'cover' }).removeAlpha().raw().toBuffer());
  dir = mkdtempSync(join(tmpdir(), 'temporal-stream-'));
});
after(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The clean photograph with bright vertical streaks at seeded places (new ones each frame). */
function rainyBytes(seed: number): Uint8Array {
  const rng = new Random(seed);
  const out = Uint8Array.from(clean);
  for (let k = 0; k < 25; k++) {
    const x = rng.int(0, W - 2);
    const y0 = rng.int(0, H - 6);
    const len = rng.int(6, 20);
    for (let y = y0; y < Math.min(H, y0 + len); y++) {
      for (let c = 0; c < 3; c++) out[3 * (y * W + x) + c] = Math.round(out[3 * (y * W + x) + c]! + 0.8 * (255 - out[3 * (y * W + x) + c]!));
    }
  }
  return out;
}

function psnrBytes(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length));
}

function newStats(): SourceStats {
  return { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
}

/** Frame `i` of the rainy clip, counting its closes in `stats`. */
function rainyFrame(i: number, stats: SourceStats): NodeFrame {
  let closed = false;
  const frame: NodeFrame = { data: rainyBytes(1000 + i), width: W, height: H, channels: 3, timestamp: i * FRAME_US, duration: FRAME_US };
  frame.close = () => {
    if (closed) stats.doubleClosed++;
    else stats.closed++;
    closed = true;
  };
  return frame;
}

describe('restore with temporal', () => {
  test('lossless from a pull source: every frame out, in order, closed once; rain streaks removed; tensors flat', async () => {
    const { source, stats } = countingSource(12, { frame: rainyFrame });
    const before = tf.memory().numTensors;
    const out = await lastValueFrom(source.pipe(restore(model, { temporal: true, maxInFlight: 3 }), toArray()));
    assert.equal(tf.memory().numTensors, before, 'tensors left after the run');
    assert.equal(out.length, 12);
    assert.deepEqual(out.map((f) => f.timestamp), Array.from({ length: 12 }, (_, i) => i * FRAME_US));
    assert.equal(stats.closed, 12);
    assert.equal(stats.doubleClosed, 0);
    // The first frame has no history: it is the per-frame output (the identity here).
    assert.deepEqual(out[0]!.data, rainyBytes(1000));
    let perFrame = 0;
    let temporal = 0;
    for (let i = 4; i < 12; i++) {
      perFrame += psnrBytes(rainyBytes(1000 + i), clean) / 8;
      temporal += psnrBytes(out[i]!.data as Uint8Array, clean) / 8;
    }
    assert.ok(temporal - perFrame > 8, `per-frame ${perFrame.toFixed(2)} dB, temporal ${temporal.toFixed(2)} dB`);
  });

  test('without temporal the same clip is left as it is (the gain above is the temporal stage)', async () => {
    const stats = newStats();
    const frames = Array.from({ length: 6 }, (_, i) => rainyFrame(i, stats));
    const out = await lastValueFrom(from(frames).pipe(restore(model), toArray()));
    out.forEach((f, i) => assert.deepEqual(f.data, rainyBytes(1000 + i)));
    assert.equal(stats.closed, 6);
  });

  test('live: dropped frames and skipped bad frames are closed, the stream goes on, tensors flat', async () => {
    const stats = newStats();
    const frames = Array.from({ length: 30 }, (_, i) => {
      const f = rainyFrame(i, stats);
      return i === 7 ? { ...f, data: f.data.subarray(0, 10) } : f; // a broken frame
    });
    const errors: unknown[] = [];
    const conv = slowConverter(2);
    const before = tf.memory().numTensors;
    const out = await lastValueFrom(
      from(frames).pipe(restore(model, { mode: 'live', temporal: { frames: 3 }, converter: conv.converter, onFrameError: (e) => errors.push(e) }), toArray()),
    );
    assert.equal(tf.memory().numTensors, before, 'tensors left after the run');
    assert.ok(out.length >= 2 && out.length < 30, `${out.length} frames out`);
    for (let i = 1; i < out.length; i++) assert.ok(out[i]!.timestamp > out[i - 1]!.timestamp);
    assert.equal(stats.closed, 30, 'every input closed, dropped and broken ones included');
    assert.equal(stats.doubleClosed, 0);
    assert.ok(out.every((f) => f.width === W && f.height === H));
  });

  test('live: a frame size wasm cannot hold the history of ends the stream once, before the network runs (was: an error per frame); every frame closed', async () => {
    const stats = newStats();
    const big = (i: number): NodeFrame => {
      let closed = false;
      return {
        data: new Uint8Array(3840 * 2160 * 3).fill(90),
        width: 3840,
        height: 2160,
        channels: 3,
        timestamp: (2 + i) * FRAME_US,
        duration: FRAME_US,
        close: () => {
          if (closed) stats.doubleClosed++;
          else stats.closed++;
          closed = true;
        },
      };
    };
    const frames = [rainyFrame(0, stats), rainyFrame(1, stats), big(0), big(1), big(2)];
    const errors: unknown[] = [];
    let predictions = 0;
    const counting: FramePredictor = { predict: (x, o) => (predictions++, model.predict(x, o)) };
    const before = tf.memory().numTensors;
    await assert.rejects(
      lastValueFrom(from(frames).pipe(restore(counting, { mode: 'live', temporal: true, onFrameError: (e) => errors.push(e) }), toArray())),
      (e: SimpleIRError) => {
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, /temporal restoration of 3840x2160 frames needs about 4\.9 GiB/);
        return true;
      },
    );
    await waitUntil(() => stats.closed === 5, 5_000, 'every frame closed');
    assert.deepEqual(errors, [], 'the refusal ends the stream instead of being reported per frame');
    assert.ok(predictions <= 2, `${predictions} predictions: none for a refused frame`);
    assert.equal(stats.doubleClosed, 0);
    assert.equal(tf.memory().numTensors, before, 'tensors left after the run');
  });

  test('unsubscribing mid-stream closes every frame and leaves no tensor', async () => {
    const conv = slowConverter(15);
    const { source, stats } = countingSource(40, { frame: rainyFrame });
    const before = tf.memory().numTensors;
    let received = 0;
    const sub = source.pipe(restore(model, { temporal: true, converter: conv.converter, maxInFlight: 3 })).subscribe((f) => {
      received++;
      f.close?.();
    });
    await waitUntil(() => received >= 6, 20_000, 'six frames');
    sub.unsubscribe();
    await waitUntil(() => conv.stats.outputs === conv.stats.outputsClosed && stats.closed === stats.emitted, 10_000, 'every frame closed');
    await waitUntil(() => tf.memory().numTensors === before, 10_000, `tensors back to ${before} (now ${tf.memory().numTensors})`);
    assert.equal(stats.doubleClosed, 0);
  });

  test('a clean panning clip made by ffmpeg (y4m file) comes out unchanged, frame for frame', { skip: noFfmpeg }, async () => {
    const file = join(dir, 'pan.y4m');
    // ffmpeg pans a 96x64 window over the photograph, 2 px right and 1 px down per frame.
    execFileSync('ffmpeg', ['-v', 'error', '-loop', '1', '-i', photoFile, '-vf', "scale=320:-2,crop=96:64:x='20+2*n':y='10+n'", '-frames:v', '12', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', file]);
    const plain = await lastValueFrom(fromY4m(file).pipe(restore(model), toArray()));
    const before = tf.memory().numTensors;
    const out = await lastValueFrom(fromY4m(file).pipe(restore(model, { temporal: true }), toArray()));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(out.length, 12);
    out.forEach((f, i) => {
      const p = psnrBytes(f.data as Uint8Array, plain[i]!.data as Uint8Array);
      assert.ok(p > 45, `frame ${i}: ${p.toFixed(2)} dB against the per-frame output`);
    });
  });

  test('temporal: { guide: true } gives the filter the degraded inputs: their detail comes back where a blurring model lost it', async () => {
    // A stand-in network that removes the streaks' light only in part and blurs the scene (a static error).
    const blurring: FramePredictor = {
      predict: (x) => tf.tidy(() => tf.avgPool(tf.add(tf.mul(x, 0.3), tf.mul(tf.minimum(x, tf.avgPool(x, 3, 1, 'same')), 0.7)) as tf.Tensor4D, 5, 1, 'same') as tf.Tensor4D),
    };
    const run = async (guide: boolean): Promise<number> => {
      const { source } = countingSource(10, { frame: rainyFrame });
      const out = await lastValueFrom(source.pipe(restore(blurring, { temporal: { guide } }), toArray()));
      let p = 0;
      for (let i = 4; i < 10; i++) p += psnrBytes(out[i]!.data as Uint8Array, clean) / 6;
      return p;
    };
    const before = tf.memory().numTensors;
    const [plain, guided] = [await run(false), await run(true)];
    assert.equal(tf.memory().numTensors, before, 'tensors left after the runs');
    assert.ok(guided - plain > 3, `outputs only ${plain.toFixed(2)} dB, guided by the inputs ${guided.toFixed(2)} dB`);
  });

  test('bad temporal options throw at once, naming the field', () => {
    assert.throws(() => restore(model, { temporal: { frames: 0 } }), { code: 'INVALID_ARGUMENT', message: /temporal: frames must be an integer from 2 to 16, got 0/ });
    assert.throws(() => restore(model, { temporal: 'yes' as never }), { code: 'INVALID_ARGUMENT', message: /temporal must be true, false or an options object/ });
    assert.throws(() => restore(model, { temporal: { maxGapMs: 0 } }), { code: 'INVALID_ARGUMENT', message: /maxGapMs/ });
  });
});
