/** Node video sources and sinks: y4m (pull-based, round trip through `restore`), mp4 through ffmpeg, errors. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { fromFfmpeg } from '../src/adapters/node/ffmpeg-source.js';
import { toFfmpeg } from '../src/adapters/node/ffmpeg-sink.js';
import { probeVideoFile } from '../src/adapters/node/ffmpeg-misc.js';
import { fromImageFiles } from '../src/adapters/node/image-files-source.js';
import { toImageFiles } from '../src/adapters/node/image-files-sink.js';
import { fromY4m, probeY4m } from '../src/adapters/node/y4m-source.js';
import { rateFromDuration, toY4m } from '../src/adapters/node/y4m-sink.js';
import { SimpleIRError } from '../src/core/errors.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { NodeFrame } from '../src/streams/frames.js';
import { restore } from '../src/streams/restore.js';
import { countingSource } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

/** The mp4 tests need ffmpeg; without it they are skipped, saying so. */
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
let model: SimpleIR;
let dir: string;
const W = 48;
const H = 32;
const N = 8;

/** Smooth, moderately saturated frames (so that 4:2:0 conversion is nearly lossless). */
function frame(i: number, closes?: { n: number }): NodeFrame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      data[o] = 60 + x * 2 + i * 3;
      data[o + 1] = 80 + y * 2;
      data[o + 2] = 120 + ((x + y + i) % 16);
    }
  }
  const f: NodeFrame = { data, width: W, height: H, timestamp: i * 40_000, duration: 40_000 };
  if (closes) f.close = () => void closes.n++;
  return f;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Each frame's presentation time in ms, as ffprobe decodes the file. */
function framePtsMs(path: string): number[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'json', path], { encoding: 'utf8' });
  return (JSON.parse(out) as { frames: { best_effort_timestamp_time: string }[] }).frames.map((f) => Math.round(Number(f.best_effort_timestamp_time) * 1000));
}

before(async () => {
  await useBackend('wasm');
  model = SimpleIR.create('tiny');
  dir = mkdtempSync(join(tmpdir(), 'simpleir-video-'));
});
after(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('y4m', () => {
  test('toY4m writes every frame, closes them, and emits one summary', async () => {
    const closes = { n: 0 };
    const path = join(dir, 'a.y4m');
    const summaries = await lastValueFrom(from(Array.from({ length: N }, (_, i) => frame(i, closes))).pipe(toY4m(path), toArray()));
    assert.equal(summaries.length, 1);
    const s = summaries[0]!;
    assert.deepEqual({ frames: s.frames, width: s.width, height: s.height, fps: s.fps }, { frames: N, width: W, height: H, fps: { num: 25, den: 1 } });
    assert.equal(s.bytes, statSync(path).size);
    assert.equal(closes.n, N);
    const info = await probeY4m(path);
    assert.deepEqual(info, { width: W, height: H, fps: { num: 25, den: 1 }, frames: N, aspect: { num: 1, den: 1 }, interlace: 'progressive', colour: { range: 'tv' }, hasAudio: false });
  });

  test('fromY4m reads only what is requested', async () => {
    const path = join(dir, 'a.y4m');
    const got: NodeFrame[] = [];
    const source = fromY4m(path);
    let done = false;
    const sub = source.pull({ next: (f) => got.push(f), complete: () => (done = true) });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 0, 'nothing before a request');
    sub.request(3);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 3);
    sub.request(100);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, N);
    assert.ok(done);
    assert.deepEqual(got.map((f) => [f.timestamp, f.duration, f.width, f.height, f.channels]), got.map((_, i) => [i * 40_000, 40_000, W, H, 3]));
  });

  test('round trip through restore with the identity model stays within 2 levels, frames and times kept', async () => {
    const a = join(dir, 'a.y4m');
    const b = join(dir, 'nested', 'b.y4m');
    const before = tf.memory().numTensors;
    const [summary] = await lastValueFrom(fromY4m(a).pipe(restore(model), toY4m(b), toArray()));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(summary!.frames, N);
    // What a.y4m holds (already through 4:2:0 once) against what came back: colour conversion only.
    const original = await lastValueFrom(fromY4m(a).pipe(toArray()));
    const back = await lastValueFrom(fromY4m(b).pipe(toArray()));
    assert.equal(back.length, N);
    back.forEach((f, i) => {
      assert.equal(f.timestamp, i * 40_000);
      assert.equal(f.duration, 40_000);
      const d = maxDiff(f.data, original[i]!.data);
      assert.ok(d <= 2, `frame ${i}: max difference ${d}`);
    });
    // And against the frames first written: within what 4:2:0 chroma subsampling loses.
    const d0 = maxDiff(back[0]!.data, frame(0).data);
    assert.ok(d0 <= 16, `frame 0 against the source RGB: ${d0}`);
  });

  test('a corrupt file fails the pipeline with CORRUPT_INPUT; a missing one with IO_ERROR', async () => {
    const a = readFileSync(join(dir, 'a.y4m'));
    const cut = join(dir, 'cut.y4m');
    writeFileSync(cut, a.subarray(0, a.length - 100));
    const err = await lastValueFrom(fromY4m(cut).pipe(restore(model), toY4m(join(dir, 'cut-out.y4m')))).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'CORRUPT_INPUT', String(err));
    assert.match(err.message, /truncated/);
    const missing = await lastValueFrom(fromY4m(join(dir, 'nope.y4m'))).catch((e: unknown) => e);
    assert.ok(missing instanceof SimpleIRError && missing.code === 'IO_ERROR', String(missing));
  });

  test('a slow destination holds the whole chain back (source -> restore -> toY4m)', async () => {
    let written = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => {
          if (chunk.subarray(0, 5).toString('latin1') === 'FRAME') written++;
          done();
        }, 15);
      },
    });
    const { source, stats } = countingSource(12, { width: 32, height: 32, consumed: () => written });
    const [summary] = await lastValueFrom(source.pipe(restore(model, { maxInFlight: 2 }), toY4m(slow), toArray()));
    assert.equal(summary!.frames, 12);
    assert.equal(written, 12);
    // 2 in restore, 1 being written by the sink, 1 in the stream's buffer.
    assert.ok(stats.maxAhead <= 4, `the source ran ${stats.maxAhead} frames ahead of the destination`);
    assert.equal(stats.closed, 12);
  });

  test('a size change in the sink is an error', async () => {
    const frames = [frame(0), { ...frame(1), width: W - 2, data: new Uint8Array((W - 2) * H * 3) }];
    const err = await lastValueFrom(from(frames).pipe(toY4m(join(dir, 'sizes.y4m')))).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'INVALID_ARGUMENT', String(err));
  });

  test('frame rates come from durations, snapped to the usual ones', () => {
    assert.deepEqual(rateFromDuration(40_000), { num: 25, den: 1 });
    assert.deepEqual(rateFromDuration(33_367), { num: 30000, den: 1001 });
    assert.deepEqual(rateFromDuration(100_000), { num: 10, den: 1 });
    assert.equal(rateFromDuration(undefined), undefined);
  });
});

describe('image files', () => {
  test('fromImageFiles -> restore -> toImageFiles keeps every frame exactly (PNG, identity model)', async () => {
    const frames = Array.from({ length: 4 }, (_, i) => frame(i));
    const [written] = await lastValueFrom(from(frames).pipe(toImageFiles(join(dir, 'seq-in')), toArray()));
    assert.equal(written!.frames, 4);
    assert.match(written!.paths[3]!, /frame-00003\.png$/);
    const [out] = await lastValueFrom(fromImageFiles(written!.paths, { fps: { num: 10, den: 1 } }).pipe(restore(model), toImageFiles(join(dir, 'seq-out'), { prefix: 'r' }), toArray()));
    assert.equal(out!.frames, 4);
    const back = await lastValueFrom(fromImageFiles(out!.paths).pipe(toArray()));
    back.forEach((f, i) => assert.deepEqual(f.data, frames[i]!.data));
    const timed = await lastValueFrom(fromImageFiles(out!.paths, { fps: { num: 10, den: 1 } }).pipe(toArray()));
    assert.deepEqual(timed.map((f) => f.timestamp), [0, 100_000, 200_000, 300_000]);
  });
});

describe('mp4 through ffmpeg', { skip: noFfmpeg }, () => {
  test('fromFfmpeg decodes, restore, toFfmpeg encodes: same frame count and size', async () => {
    const input = join(dir, 'in.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-frames:v', '6', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', input]);
    const info = await probeVideoFile(input);
    assert.deepEqual(info, {
      width: 64, height: 48, fps: { num: 10, den: 1 }, frames: 6, aspect: { num: 1, den: 1 }, interlace: 'progressive', colour: {}, hasAudio: false, timeBase: { num: 1, den: 10240 },
    });
    const frames = await lastValueFrom(fromFfmpeg(input).pipe(toArray()));
    assert.equal(frames.length, 6);
    assert.deepEqual(frames.map((f) => f.timestamp), [0, 1, 2, 3, 4, 5].map((i) => i * 100_000));
    const output = join(dir, 'out.mp4');
    const [summary] = await lastValueFrom(fromFfmpeg(input).pipe(restore(model), toFfmpeg(output), toArray()));
    assert.equal(summary!.frames, 6);
    assert.equal(summary!.bytes, statSync(output).size);
    const probed = await probeVideoFile(output);
    assert.equal(probed.frames, 6);
    assert.deepEqual([probed.width, probed.height, probed.fps], [64, 48, { num: 10, den: 1 }]);
  });

  test('variable frame rate: fromFfmpeg gives each frame its own time, and toFfmpeg (no fps) writes them back', async () => {
    const input = join(dir, 'vfr.mp4');
    // 6 frames at 0, 10, 40, 90, 160, 250 ms.
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=100', '-frames:v', '6', '-vf', 'setpts=N*N*0.01/TB', '-fps_mode', 'passthrough', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', input]);
    const frames = await lastValueFrom(fromFfmpeg(input).pipe(toArray()));
    assert.deepEqual(frames.map((f) => f.timestamp), [0, 10_000, 40_000, 90_000, 160_000, 250_000]);
    assert.deepEqual(frames.slice(0, 5).map((f) => f.duration), [10_000, 30_000, 50_000, 70_000, 90_000]);
    const output = join(dir, 'vfr-out.mp4');
    const before = tf.memory().numTensors;
    await lastValueFrom(fromFfmpeg(input).pipe(restore(model), toFfmpeg(output)));
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(framePtsMs(output), [0, 10, 40, 90, 160, 250]);
  });

  test('toFfmpeg with fps writes a constant rate; timestamps that do not increase are INVALID_ARGUMENT', async () => {
    const output = join(dir, 'cfr.mp4');
    const frames = [0, 1, 2].map((i) => ({ ...frame(i), timestamp: i * 7_000 }));
    await lastValueFrom(from(frames).pipe(toFfmpeg(output, { fps: { num: 20, den: 1 } })));
    assert.deepEqual(framePtsMs(output), [0, 50, 100]);
    const closes = { n: 0 };
    const backwards = [frame(0, closes), { ...frame(1, closes), timestamp: 0 }];
    const err = await lastValueFrom(from(backwards).pipe(toFfmpeg(join(dir, 'backwards.mp4')))).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'INVALID_ARGUMENT', String(err));
    assert.match(err.message, /timestamps must be >= 0 and increasing.*got 0 after 0/);
    assert.equal(closes.n, 2, 'both frames closed');
  });

  test('fromFfmpeg converts with the file\'s matrix and range (BT.601, BT.709, BT.2020, full range): RGB as ffmpeg decodes it, within 2 levels', async () => {
    const cases = [
      ['bt601', 'tv', 'smpte170m'],
      ['bt709', 'tv', 'bt709'],
      ['bt709', 'full', 'bt709'],
      ['bt601', 'full', 'bt470bg'],
      ['bt2020', 'tv', 'bt2020nc'],
    ] as const;
    for (const [matrix, range, tag] of cases) {
      const path = join(dir, `colour-${matrix}-${range}.mp4`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x3c78b4:s=64x48:r=10,drawbox=x=0:y=0:w=32:h=24:color=0xb4643c:t=fill', '-frames:v', '2',
        '-vf', `format=rgb24,scale=out_color_matrix=${matrix}:out_range=${range},format=yuv420p`, '-c:v', 'libx264', '-qp', '0',
        '-colorspace', tag, '-color_primaries', tag === 'bt2020nc' ? 'bt2020' : tag, '-color_range', range === 'full' ? 'pc' : 'tv', path]);
      const reference = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
      const [first] = await lastValueFrom(fromFfmpeg(path).pipe(take(1), toArray()));
      // Pixels well inside each quadrant: the corner box and the background.
      for (const [x, y] of [[8, 8], [48, 36]] as const) {
        const o = (y * 64 + x) * 3;
        const d = maxDiff(first!.data.subarray(o, o + 3), reference.subarray(o, o + 3));
        assert.ok(d <= 2, `${matrix} ${range} at ${x},${y}: ours ${Array.from(first!.data.subarray(o, o + 3))}, ffmpeg ${Array.from(reference.subarray(o, o + 3))}`);
      }
    }
  });

  test('toFfmpeg under a path whose folder is a regular file: IO_ERROR that says so', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const err = await lastValueFrom(from([frame(0)]).pipe(toFfmpeg(join(file, 'sub', 'out.mp4')))).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'IO_ERROR', String(err));
    assert.match(err.message, /cannot create the folder of .*out\.mp4: a part of the folder .* is a file, not a folder/);
  });

  test('unsubscribing stops ffmpeg early', async () => {
    const input = join(dir, 'long.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '100', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', input]);
    const first = await lastValueFrom(fromFfmpeg(input).pipe(restore(model), take(3), toArray()));
    assert.deepEqual(first.map((f) => f.timestamp), [0, 40_000, 80_000]);
    const children = (): string => {
      try {
        return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'comm='], { encoding: 'utf8' });
      } catch {
        return ''; // ps exits 1 when there is no child
      }
    };
    const t0 = Date.now();
    while (/ffmpeg/.test(children()) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.doesNotMatch(children(), /ffmpeg/, 'ffmpeg was stopped');
  });

  test('a file that is not a video gives CORRUPT_INPUT with ffmpeg\'s message; odd sizes are refused for H.264', async () => {
    const bad = join(dir, 'bad.mp4');
    writeFileSync(bad, 'not a video at all');
    const err = await lastValueFrom(fromFfmpeg(bad)).catch((e: unknown) => e);
    assert.ok(err instanceof SimpleIRError && err.code === 'CORRUPT_INPUT', String(err));
    assert.match(err.message, /cannot read .*bad\.mp4 as a video file: moov atom not found/);
    const odd = { data: new Uint8Array(33 * 20 * 3), width: 33, height: 20, timestamp: 0 };
    const e2 = await lastValueFrom(from([odd]).pipe(toFfmpeg(join(dir, 'odd.mp4')))).catch((e: unknown) => e);
    assert.ok(e2 instanceof SimpleIRError && e2.code === 'INVALID_ARGUMENT', String(e2));
  });
});
