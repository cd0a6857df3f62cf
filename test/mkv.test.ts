/** The Matroska pipe writer of the ffmpeg sink, read back by ffprobe: times, durations, colour tags, pixel aspect, field order, samples. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createMkvWriter } from '../src/adapters/node/mkv.js';
import { SimpleIRError } from '../src/core/errors.js';

const noFfmpeg = spawnSync('ffprobe', ['-version']).status === 0 ? false : 'ffprobe is not installed (apt-get install ffmpeg)';
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'simpleir-mkv-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const W = 34;
const H = 20;
const planes = (i: number) => ({
  y: new Uint8Array(W * H).map((_, k) => (k * 7 + i * 13) & 0xff),
  u: new Uint8Array(17 * 10).fill(100 + i),
  v: new Uint8Array(17 * 10).fill(150 - i),
});

test('ffprobe reads back each frame\'s time and duration, the tags, the pixel aspect, the field order and the samples', { skip: noFfmpeg }, async () => {
  const path = join(dir, 'a.mkv');
  const w = createMkvWriter(createWriteStream(path), {
    width: W, height: H, colour: { space: 'bt709', primaries: 'bt709', transfer: 'bt470bg', range: 'pc' }, interlace: 'bottom-first', aspect: { num: 16, den: 15 }, frameDuration: 40_000,
  });
  const times = [[0, 10_000], [10_000, 30_000], [40_000, 50_000], [90_000, 70_000], [160_000, 90_000], [250_123, 33_333]] as const;
  for (const [i, [timestamp, duration]] of times.entries()) await w.write(planes(i), { timestamp, duration });
  await w.close();
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries',
    'stream=codec_name,pix_fmt,width,height,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer,color_range,r_frame_rate:packet=pts,duration',
    '-of', 'json', path], { encoding: 'utf8' })) as { streams: Record<string, unknown>[]; packets: { pts: number; duration: number }[] };
  assert.deepEqual(probe.packets.map((p) => [p.pts, p.duration]), times.map(([t, d]) => [t, d]));
  assert.deepEqual(probe.streams[0], {
    codec_name: 'rawvideo', pix_fmt: 'yuv420p', width: W, height: H, sample_aspect_ratio: '16:15', field_order: 'bb',
    color_space: 'bt709', color_primaries: 'bt709', color_transfer: 'bt470bg', color_range: 'pc', r_frame_rate: '25/1',
  });
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 1 << 20 });
  const size = W * H + 2 * 17 * 10;
  assert.equal(raw.length, times.length * size);
  for (let i = 0; i < times.length; i++) {
    const p = planes(i);
    assert.deepEqual(raw.subarray(i * size, (i + 1) * size), Buffer.concat([p.y, p.u, p.v]), `frame ${i} samples`);
  }
});

test('timestamps must increase; planes must match the size', async () => {
  const w = createMkvWriter(createWriteStream(join(dir, 'b.mkv')), { width: W, height: H });
  await w.write(planes(0), { timestamp: 5 });
  await assert.rejects(w.write(planes(1), { timestamp: 5 }), (e: unknown) => e instanceof SimpleIRError && e.code === 'INVALID_ARGUMENT' && /increasing/.test(e.message));
  await assert.rejects(w.write(planes(1), { timestamp: -1 }), (e: unknown) => e instanceof SimpleIRError && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(w.write({ ...planes(1), u: new Uint8Array(3) }, { timestamp: 9 }), (e: unknown) => e instanceof SimpleIRError && e.code === 'INVALID_ARGUMENT' && /do not match/.test(e.message));
  await w.close();
});
