/** Tests of the Y4M reader and writer and of the YCbCr <-> RGB conversions. */

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PassThrough, Readable, Writable } from 'node:stream';
import { isSimpleIRError } from '../src/core/errors.js';
import type { RGBImage } from '../src/core/image.js';
import {
  createY4mWriter,
  defaultYuvMatrix,
  readY4m,
  rgbToYuv420,
  yuv420ToRgb,
  type Y4mFrame,
  type Yuv420Planes,
} from '../src/adapters/node/y4m.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simpleir-y4m-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic planes for frame `t` of a `w x h` video. */
function synthetic(w: number, h: number, t: number): Yuv420Planes {
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const y = new Uint8Array(w * h).map((_, i) => (i * 7 + t * 13) & 255);
  const u = new Uint8Array(cw * ch).map((_, i) => (i * 3 + t * 5 + 40) & 255);
  const v = new Uint8Array(cw * ch).map((_, i) => (i * 11 + t * 17 + 90) & 255);
  return { y, u, v, width: w, height: h };
}

/** A whole Y4M file in memory. */
function y4mBytes(header: string, frames: Yuv420Planes[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${header}\n`, 'latin1')];
  for (const f of frames) parts.push(Buffer.from('FRAME\n'), Buffer.from(f.y), Buffer.from(f.u), Buffer.from(f.v));
  return Buffer.concat(parts);
}

async function collect(frames: AsyncIterable<Y4mFrame>): Promise<Y4mFrame[]> {
  const out: Y4mFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

function rejectsWith(code: string, pattern?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(isSimpleIRError(e), `expected a SimpleIRError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

describe('y4m writer and reader', () => {
  test('round trip of an odd-size video keeps every plane; timestamps follow fps', async () => {
    const w = 33;
    const h = 17;
    const path = join(dir, 'odd.y4m');
    const frames = [0, 1, 2, 3, 4].map((t) => synthetic(w, h, t));
    const writer = createY4mWriter(path, { width: w, height: h, fps: { num: 30000, den: 1001 } });
    for (const f of frames) await writer.write(f);
    await writer.close();

    const bytes = await readFile(path);
    const header = 'YUV4MPEG2 W33 H17 F30000:1001 Ip A1:1 C420jpeg\n';
    assert.equal(bytes.subarray(0, header.length).toString('latin1'), header);
    assert.equal(bytes.length, header.length + 5 * (6 + 33 * 17 + 2 * 17 * 9));

    const reader = await readY4m(path);
    assert.deepEqual(reader.header, {
      width: 33,
      height: 17,
      fps: { num: 30000, den: 1001 },
      interlace: 'progressive',
      aspect: { num: 1, den: 1 },
      colorspace: '420jpeg',
      extensions: [],
    });
    const got = await collect(reader.frames());
    assert.equal(got.length, 5);
    got.forEach((f, i) => {
      assert.equal(f.index, i);
      assert.equal(f.width, w);
      assert.equal(f.height, h);
      assert.equal(f.u.length, 17 * 9);
      assert.deepEqual(f.y, frames[i]!.y);
      assert.deepEqual(f.u, frames[i]!.u);
      assert.deepEqual(f.v, frames[i]!.v);
      assert.equal(f.timestamp, Math.round((i * 1e6 * 1001) / 30000));
    });
    assert.deepEqual(got.map((f) => f.timestamp), [0, 33367, 66733, 100100, 133467]);
  });

  test('1x1 and 2x1 videos', async () => {
    for (const [w, h] of [[1, 1], [2, 1], [1, 3]] as const) {
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (c: Buffer) => chunks.push(c));
      const writer = createY4mWriter(sink, { width: w, height: h, fps: { num: 25, den: 1 } });
      await writer.write(synthetic(w, h, 1));
      await writer.close();
      const [frame] = await collect((await readY4m([Buffer.concat(chunks)])).frames());
      assert.deepEqual(frame!.y, synthetic(w, h, 1).y);
      assert.equal(frame!.u.length, Math.ceil(w / 2) * Math.ceil(h / 2));
    }
  });

  test('header tags: defaults, colorspaces, range extension, unknown tags ignored', async () => {
    const f = synthetic(4, 2, 0);
    const r1 = await readY4m([y4mBytes('YUV4MPEG2 W4 H2', [f])]);
    assert.deepEqual(r1.header.fps, { num: 25, den: 1 });
    assert.equal(r1.header.colorspace, '420jpeg');
    assert.equal(r1.header.interlace, 'unknown');
    for (const c of ['420jpeg', '420paldv', '420mpeg2', '420']) {
      const r = await readY4m([y4mBytes(`YUV4MPEG2 W4 H2 F24:1 It A10:11 C${c} XYSCSS=420JPEG XCOLORRANGE=FULL Zfoo`, [f, f])]);
      assert.equal(r.header.colorspace, c);
      assert.equal(r.header.interlace, 'top-first');
      assert.deepEqual(r.header.aspect, { num: 10, den: 11 });
      assert.equal(r.header.range, 'full');
      assert.deepEqual(r.header.extensions, ['YSCSS=420JPEG', 'COLORRANGE=FULL']);
      assert.equal((await collect(r.frames())).length, 2);
    }
  });

  test('frame markers with parameters are accepted', async () => {
    const f = synthetic(3, 3, 2);
    const bytes = Buffer.concat([Buffer.from('YUV4MPEG2 W3 H3 F10:1\nFRAME Ixyz\n'), Buffer.from(f.y), Buffer.from(f.u), Buffer.from(f.v)]);
    const [frame] = await collect((await readY4m([bytes])).frames());
    assert.deepEqual(frame!.v, f.v);
  });

  test('a truncated frame is CORRUPT_INPUT naming its index', async () => {
    const frames = [0, 1, 2].map((t) => synthetic(9, 5, t));
    const whole = y4mBytes('YUV4MPEG2 W9 H5 F25:1', frames);
    const path = join(dir, 'truncated.y4m');
    await writeFile(path, whole.subarray(0, whole.length - 10));
    const reader = await readY4m(path);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const f of reader.frames()) seen.push(f.index);
    }, rejectsWith('CORRUPT_INPUT', /frame 2 is truncated/));
    assert.deepEqual(seen, [0, 1]);

    // Cut inside the FRAME marker, and a wrong marker.
    const frameSize = 6 + 45 + 2 * 15;
    const headerSize = whole.indexOf(0x0a) + 1;
    const cutMarker = whole.subarray(0, headerSize + frameSize + 3);
    await assert.rejects(collect((await readY4m([cutMarker])).frames()), rejectsWith('CORRUPT_INPUT', /frame 1/));
    const wrong = Buffer.from(whole);
    wrong.write('FRAMX', headerSize + frameSize, 'latin1');
    await assert.rejects(collect((await readY4m([wrong])).frames()), rejectsWith('CORRUPT_INPUT', /frame 1: expected a FRAME marker/));
  });

  test('bad magic, empty input, missing file', async () => {
    await assert.rejects(readY4m([Buffer.from('\x89PNG\r\n\x1a\n....')]), rejectsWith('UNSUPPORTED_FORMAT', /not a YUV4MPEG2 stream/));
    await assert.rejects(readY4m([Buffer.alloc(10000, 65)]), rejectsWith('UNSUPPORTED_FORMAT', /not a YUV4MPEG2/));
    await assert.rejects(readY4m([]), rejectsWith('CORRUPT_INPUT', /empty/));
    await assert.rejects(readY4m(join(dir, 'nope.y4m')), rejectsWith('IO_ERROR', /file not found: .*nope\.y4m/));
  });

  test('unsupported colorspaces are UNSUPPORTED_FORMAT naming them', async () => {
    for (const c of ['444', '422', 'mono', '420p10', '444alpha']) {
      await assert.rejects(readY4m([Buffer.from(`YUV4MPEG2 W4 H4 F25:1 C${c}\n`)]), rejectsWith('UNSUPPORTED_FORMAT', new RegExp(`colorspace C${c} is not supported`)));
    }
  });

  test('garbage header parameters are CORRUPT_INPUT', async () => {
    for (const h of ['W0 H4', 'Wabc H4', 'W-3 H4', 'W4 H4.5', 'W4', 'H4', 'W4 H4 F30', 'W4 H4 Fx:1', 'W4 H4 Iq', 'W4 H4 A1', 'W99999999 H4']) {
      await assert.rejects(readY4m([Buffer.from(`YUV4MPEG2 ${h}\n`)]), rejectsWith('CORRUPT_INPUT'), h);
    }
    await assert.rejects(readY4m([Buffer.from(`YUV4MPEG2 W4 H4 ${'X'.repeat(5000)}`)]), rejectsWith('CORRUPT_INPUT', /unterminated/));
  });

  test('reads lazily: one frame consumed pulls about one frame from the source', async () => {
    const w = 64;
    const h = 48;
    const frameSize = 6 + w * h * 1.5;
    const whole = y4mBytes(`YUV4MPEG2 W${w} H${h} F25:1`, Array.from({ length: 200 }, (_, t) => synthetic(w, h, t)));
    let pulled = 0;
    let finished = false;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < whole.length; i += 1000) {
          const c = whole.subarray(i, i + 1000);
          pulled += c.length;
          yield c;
        }
      } finally {
        finished = true;
      }
    }
    const reader = await readY4m(chunks());
    assert.ok(pulled < 2000, `header read pulled ${pulled} bytes`);
    for await (const f of reader.frames()) {
      assert.equal(f.index, 0);
      break;
    }
    assert.ok(pulled <= 30 + frameSize + 1000, `pulled ${pulled} bytes for one frame of ${frameSize}`);
    assert.ok(pulled < whole.length / 100);
    assert.ok(finished, 'leaving the loop closes the source');

    // The same through a Node stream with a small buffer.
    let streamed = 0;
    let offset = 0;
    const stream = new Readable({
      highWaterMark: 4096,
      read() {
        const c = whole.subarray(offset, offset + 4096);
        offset += c.length;
        streamed += c.length;
        this.push(c.length ? c : null);
      },
    });
    const r2 = await readY4m(stream);
    const it = r2.frames()[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.index, 0);
    assert.equal((await it.next()).value?.index, 1);
    assert.ok(streamed < 3 * frameSize + 3 * 4096, `stream pulled ${streamed} bytes for two frames`);
    await it.return?.();
    assert.ok(stream.destroyed);
  });

  test('frames() can be iterated only once; close() is idempotent', async () => {
    const reader = await readY4m([y4mBytes('YUV4MPEG2 W2 H2 F1:1', [synthetic(2, 2, 0)])]);
    await collect(reader.frames());
    await assert.rejects(collect(reader.frames()), rejectsWith('INVALID_ARGUMENT'));
    await reader.close();
    await reader.close();
  });

  test('writer respects backpressure and reports bad planes', async () => {
    let writes = 0;
    let maxPending = 0;
    let pending = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(_chunk, _enc, cb) {
        writes++;
        pending++;
        maxPending = Math.max(maxPending, pending);
        setTimeout(() => {
          pending--;
          cb();
        }, 1);
      },
    });
    const writer = createY4mWriter(slow, { width: 40, height: 30, fps: { num: 25, den: 1 } });
    for (let t = 0; t < 10; t++) {
      await writer.write(synthetic(40, 30, t));
      assert.ok(slow.writableLength <= 6 + 40 * 30 * 1.5 + 100, `buffered ${slow.writableLength} bytes`);
    }
    await writer.close();
    assert.equal(writes, 11);
    assert.ok(slow.writableFinished);

    const w2 = createY4mWriter(new PassThrough().resume(), { width: 5, height: 3, fps: { num: 25, den: 1 } });
    await assert.rejects(w2.write({ y: new Uint8Array(15), u: new Uint8Array(4), v: new Uint8Array(5) }), rejectsWith('INVALID_ARGUMENT', /plane u must be a Uint8Array of 6 bytes/));
    await assert.rejects(w2.write(synthetic(4, 3, 0)), rejectsWith('INVALID_ARGUMENT', /4x3/));
    await w2.close();
    await assert.rejects(w2.write(synthetic(5, 3, 0)), rejectsWith('INVALID_ARGUMENT', /after close/));
    assert.throws(() => createY4mWriter(new PassThrough(), { width: 0, height: 3, fps: { num: 25, den: 1 } }), rejectsWith('INVALID_ARGUMENT'));
    assert.throws(() => createY4mWriter(new PassThrough(), { width: 4, height: 3, fps: { num: 25, den: 0 } }), rejectsWith('INVALID_ARGUMENT'));
    const fps = { num: 25, den: 1 };
    assert.throws(() => createY4mWriter(new PassThrough(), { width: 4, height: 3, fps, interlace: 'odd' as 'mixed' }), rejectsWith('INVALID_ARGUMENT', /interlace/));
    assert.throws(() => createY4mWriter(new PassThrough(), { width: 4, height: 3, fps, aspect: { num: 1.5, den: 1 } }), rejectsWith('INVALID_ARGUMENT', /aspect/));
  });

  test('writer reports a destination that fails as IO_ERROR', async () => {
    const failing = new Writable({
      write(_c, _e, cb) {
        cb(new Error('disk full'));
      },
    });
    const writer = createY4mWriter(failing, { width: 4, height: 4, fps: { num: 25, den: 1 } });
    await new Promise((r) => setImmediate(r));
    await assert.rejects(writer.write(synthetic(4, 4, 0)), rejectsWith('IO_ERROR', /disk full/));
  });

  test('reads files made by ffmpeg, and ffmpeg reads ours', async (t) => {
    if (!hasFfmpeg()) {
      t.skip('ffmpeg is not installed');
      return;
    }
    // testsrc2 may round the size to even (ffmpeg 5 makes 64x36); testsrc keeps 65x37.
    for (const source of ['testsrc2', 'testsrc']) {
      const path = join(dir, `${source}.y4m`);
      ffmpeg(['-f', 'lavfi', '-i', `${source}=size=65x37:rate=10`, '-frames:v', '3', '-pix_fmt', 'yuv420p', path]);
      const reader = await readY4m(path);
      const { width, height } = reader.header;
      assert.ok(width === 65 || width === 64, `width ${width}`);
      assert.ok(height === 37 || height === 36, `height ${height}`);
      if (source === 'testsrc') assert.deepEqual([width, height], [65, 37]);
      assert.deepEqual(reader.header.fps, { num: 10, den: 1 });
      const frames = await collect(reader.frames());
      assert.equal(frames.length, 3);
      assert.deepEqual(frames.map((f) => f.timestamp), [0, 100000, 200000]);
      const c = Math.ceil(width / 2) * Math.ceil(height / 2);
      for (const f of frames) assert.deepEqual([f.y.length, f.u.length, f.v.length], [width * height, c, c]);
      // ffmpeg decodes the file to the planes we read.
      const raw = ffmpeg(['-i', path, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
      assert.ok(raw.equals(Buffer.concat(frames.flatMap((f) => [f.y, f.u, f.v]))), `${source}: same planes as ffmpeg`);

      // Our writer's output is readable by ffmpeg, planes unchanged.
      const copy = join(dir, `${source}-copy.y4m`);
      const writer = createY4mWriter(copy, reader.header);
      for (const f of frames) await writer.write(f);
      await writer.close();
      assert.ok(ffmpeg(['-i', copy, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']).equals(raw), `${source}: ffmpeg reads our copy`);
    }
  });

  test('yuv420ToRgb agrees with ffmpeg for each matrix and range', async (t) => {
    if (!hasFfmpeg()) {
      t.skip('ffmpeg is not installed');
      return;
    }
    // Even size: for odd sizes swscale resamples chroma instead of repeating it.
    const path = join(dir, 'colours.y4m');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=96x54:rate=1', '-frames:v', '1', '-pix_fmt', 'yuv420p', path]);
    const [frame] = await collect((await readY4m(path)).frames());
    for (const matrix of ['bt601', 'bt709', 'bt2020'] as const) {
      for (const range of ['limited', 'full'] as const) {
        const scale = `scale=in_color_matrix=${matrix}:in_range=${range === 'limited' ? 'tv' : 'pc'}`;
        const theirs = ffmpeg(['-i', path, '-sws_flags', 'neighbor+accurate_rnd', '-vf', scale, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
        const ours = yuv420ToRgb(frame!, { matrix, range });
        let sum = 0;
        let worst = 0;
        theirs.forEach((v, i) => {
          const d = Math.abs(v - ours.data[i]!);
          sum += d;
          worst = Math.max(worst, d);
        });
        assert.ok(worst <= 3 && sum / theirs.length < 1.5, `${matrix}/${range}: worst ${worst}, mean ${sum / theirs.length}`);
      }
    }
  });
});

function hasFfmpeg(): boolean {
  const probe = spawnSync('ffmpeg', ['-version']);
  return !probe.error && probe.status === 0;
}

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout;
}

describe('yuv <-> rgb', () => {
  function patches(w: number, h: number, colours: number[][]): RGBImage {
    const data = new Uint8Array(w * h * 3);
    const pw = Math.ceil(w / colours.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) data.set(colours[Math.floor(x / pw)]!, (y * w + x) * 3);
    }
    return { data, width: w, height: h, channels: 3 };
  }
  const colours = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [128, 128, 128],
    [0, 0, 0],
    [255, 255, 255],
    [200, 120, 40],
    [30, 160, 220],
  ];

  test('known values: limited-range white is Y 235, black Y 16, grey chroma 128', () => {
    const img = patches(16, 2, [[255, 255, 255], [0, 0, 0]]);
    for (const matrix of ['bt601', 'bt709'] as const) {
      const { y, u, v } = rgbToYuv420(img, { matrix, range: 'limited' });
      assert.equal(y[0], 235);
      assert.equal(y[15], 16);
      assert.equal(u[0], 128);
      assert.equal(v[7], 128);
      const full = rgbToYuv420(img, { matrix, range: 'full' });
      assert.equal(full.y[0], 255);
      assert.equal(full.y[15], 0);
    }
    // BT.601 limited: pure red is Y 81, Cb 90, Cr 240.
    const red = rgbToYuv420(patches(2, 2, [[255, 0, 0]]), { matrix: 'bt601' });
    assert.deepEqual([red.y[0], red.u[0], red.v[0]], [81, 90, 240]);
    // BT.709 limited: pure red is Y 63, Cb 102, Cr 240.
    const red709 = rgbToYuv420(patches(2, 2, [[255, 0, 0]]), { matrix: 'bt709' });
    assert.deepEqual([red709.y[0], red709.u[0], red709.v[0]], [63, 102, 240]);
  });

  test('flat colour patches round trip within 2 levels, for each matrix and range, odd sizes', () => {
    for (const matrix of ['bt601', 'bt709'] as const) {
      for (const range of ['limited', 'full'] as const) {
        for (const [w, h] of [[64, 8], [63, 7], [17, 1]] as const) {
          const img = patches(w, h, colours.slice(0, Math.min(colours.length, Math.floor(w / 2))));
          const back = yuv420ToRgb(rgbToYuv420(img, { matrix, range }), { matrix, range });
          assert.equal(back.width, w);
          assert.equal(back.height, h);
          // Away from patch borders (chroma is shared by 2x2 blocks), every sample is within 2.
          const pw = Math.ceil(w / Math.min(colours.length, Math.floor(w / 2)));
          let worst = 0;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const border = x % pw === 0 || x % pw === pw - 1;
              if (border) continue;
              for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(back.data[(y * w + x) * 3 + c]! - img.data[(y * w + x) * 3 + c]!));
            }
          }
          assert.ok(worst <= 2, `${matrix}/${range} ${w}x${h}: worst error ${worst}`);
        }
      }
    }
  });

  test('yuv -> rgb -> yuv keeps chroma exactly and luma within 1 level', () => {
    const planes = synthetic(31, 15, 3);
    // Keep the samples inside the legal limited range so that RGB does not clip.
    planes.y = planes.y.map((v) => 16 + (v % 220));
    planes.u = planes.u.map(() => 128);
    planes.v = planes.v.map(() => 128);
    const back = rgbToYuv420(yuv420ToRgb(planes));
    let worst = 0;
    planes.y.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - back.y[i]!))));
    assert.ok(worst <= 1, `luma error ${worst}`);
    assert.deepEqual(back.u, planes.u);
  });

  test('odd sizes: edge chroma averages only the pixels that exist', () => {
    const img = patches(3, 3, [[0, 0, 255]]);
    img.data.set([255, 0, 0], (2 * 3 + 2) * 3); // bottom-right pixel red, alone in its 2x2 block
    const { u, v } = rgbToYuv420(img, { matrix: 'bt601' });
    assert.equal(u.length, 4);
    const red = rgbToYuv420(patches(2, 2, [[255, 0, 0]]), { matrix: 'bt601' });
    assert.equal(u[3], red.u[0]);
    assert.equal(v[3], red.v[0]);
    const rgb = yuv420ToRgb(rgbToYuv420(img, { matrix: 'bt601' }), { matrix: 'bt601' });
    assert.ok(rgb.data[(2 * 3 + 2) * 3]! >= 253);
  });

  test('default matrix: BT.601 below 720 lines, BT.709 from 720; rgba input accepted', () => {
    assert.equal(defaultYuvMatrix(480), 'bt601');
    assert.equal(defaultYuvMatrix(576), 'bt601');
    assert.equal(defaultYuvMatrix(720), 'bt709');
    assert.equal(defaultYuvMatrix(2160), 'bt709');
    const sd = patches(4, 2, [[255, 0, 0]]);
    assert.deepEqual(rgbToYuv420(sd).y, rgbToYuv420(sd, { matrix: 'bt601', range: 'limited' }).y);
    const rgba: RGBImage = { data: new Uint8Array(4 * 2 * 4).fill(255), width: 4, height: 2, channels: 4 };
    assert.equal(rgbToYuv420(rgba).y[0], 235);
  });

  test('bad planes and options are INVALID_ARGUMENT; bad images INVALID_IMAGE', () => {
    assert.throws(() => yuv420ToRgb({ ...synthetic(5, 5, 0), u: new Uint8Array(4) }), rejectsWith('INVALID_ARGUMENT', /plane u .* 9 bytes/));
    assert.throws(() => yuv420ToRgb(synthetic(4, 4, 0), { matrix: 'bt2100' as 'bt709' }), rejectsWith('INVALID_ARGUMENT', /matrix/));
    assert.throws(() => rgbToYuv420({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }), rejectsWith('INVALID_IMAGE'));
  });
});
