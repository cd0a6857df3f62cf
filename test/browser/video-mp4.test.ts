/**
 * MP4 in and out, in headless Chromium: fixtures made by ffmpeg (H.264 with AAC audio, H.264 with the
 * moov at the end, VP9, AV1, fragmented H.264, HEVC) go through fromMp4 -> restore (tiny SimpleIR on
 * webgpu, identity weights) -> toMp4; ffprobe checks the output's frame count, timestamps and audio,
 * and ffmpeg its PSNR against the input. Also: typed errors
 * for corrupt and unsupported files, demand-driven decoding, and release of decoders and frames.
 */
import assert from 'node:assert/strict';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { Leaks, TranscodeResult } from './pages/video-mp4-entry';
import {
  decodesCleanly,
  DERIVED_MP4_FIXTURES,
  ffmpeg,
  fixtureDir,
  frameTimes,
  makeDerivedMp4,
  makeMp4,
  shownTimes,
  probePackets,
  probeRotation,
  probeStreams,
  psnr,
  writeBase64,
  type DerivedMp4Fixture,
  type FixtureDir,
  type Mp4Fixture,
} from './video-fixtures';

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;

const FIXTURES: Mp4Fixture[] = ['h264-aac', 'h264-moov-end', 'vp9', 'av1', 'fragmented', 'hevc', 'anamorphic', 'fragmented-late', 'vfr'];

before(async () => {
  media = await fixtureDir();
  await Promise.all(FIXTURES.map((name) => makeMp4(media.dir, name)));
  await Promise.all((Object.keys(DERIVED_MP4_FIXTURES) as DerivedMp4Fixture[]).map((name) => makeDerivedMp4(media.dir, name)));
  // Corrupt files: a truncated H.264 file (half its bytes) and one with its header garbled.
  const good = await readFile(join(media.dir, 'h264-aac.mp4'));
  await writeFile(join(media.dir, 'truncated.mp4'), good.subarray(0, Math.floor(good.length / 2)));
  const garbled = Buffer.from(good);
  for (let i = 0; i < 400; i++) garbled[40 + i] = (i * 37) & 0xff;
  await writeFile(join(media.dir, 'garbled.mp4'), garbled);
  // Intact boxes, garbage media data: the decoder fails.
  const noise = Buffer.from(good);
  for (let i = noise.indexOf('mdat') + 4, s = 1; i < noise.length; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  await writeFile(join(media.dir, 'garbled-data.mp4'), noise);
  await writeFile(join(media.dir, 'not-mp4.mp4'), Buffer.from('this is not a video file at all, just text'.repeat(20)));
  // A faststart file cut inside its moov; a WebM and an MPEG-TS named .mp4; a file whose video track
  // has no frames (ffmpeg -frames:v 0, fragmented: the init segment only) and one with no track at all.
  await writeFile(join(media.dir, 'truncated-moov.mp4'), good.subarray(0, 300));
  const pattern = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30'];
  await Promise.all([
    ffmpeg([...pattern, '-t', '0.2', '-c:v', 'libvpx', '-f', 'webm', join(media.dir, 'webm.mp4')]),
    ffmpeg([...pattern, '-t', '0.2', '-c:v', 'libx264', '-f', 'mpegts', join(media.dir, 'mpegts.mp4')]),
    ffmpeg([...pattern, '-frames:v', '0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', 'frag_keyframe+empty_moov', join(media.dir, 'no-frames.mp4')]),
    ffmpeg([...pattern, '-frames:v', '0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(media.dir, 'no-track.mp4')]),
  ]);
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  // mp4box logs what it finds wrong in the corrupt files to the console; the SDK reports it as errors.
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/video-mp4-entry.ts', ignoreErrors: [/\[(BoxParser|ISOFile|MultiBufferStream)\]/] });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

function assertReleased(leaks: Leaks, what: string): void {
  assert.equal(leaks.openFrames, 0, `${what}: ${leaks.openFrames} VideoFrame(s) of ${leaks.framesMade} left open`);
  for (const s of leaks.decoders) assert.equal(s, 'closed', `${what}: a decoder was left ${s}`);
  for (const s of leaks.encoders) assert.equal(s, 'closed', `${what}: an encoder was left ${s}`);
}

/** Transcodes `name` in the page, writes the output next to the input, and checks it with ffprobe. */
async function transcodeAndCheck(name: Mp4Fixture | DerivedMp4Fixture, mode: 'restore' | 'identity', audio: boolean): Promise<TranscodeResult> {
  const r = await runInPage(page, (a) => window.transcode(a.url, a.mode, a.audio), { url: `/media/${name}.mp4`, mode, audio });
  const out = await writeBase64(media.dir, `${name}.out.mp4`, r.mp4);
  const input = join(media.dir, `${name}.mp4`);
  console.log(`# ${name} (${r.info.video.codec}, ${r.info.video.frameCount} frames, ${r.info.video.fps.toFixed(2)} fps) -> ${mode} -> ${r.bytes} bytes in ${r.ms.toFixed(0)} ms`);
  const [inStreams, outStreams] = await Promise.all([probeStreams(input), probeStreams(out)]);
  const inVideo = inStreams.find((s) => s.codec_type === 'video')!;
  const outVideo = outStreams.find((s) => s.codec_type === 'video');
  assert.ok(outVideo, 'the output has a video stream');
  assert.equal(outVideo.codec_name, 'h264');
  assert.equal(outVideo.width, inVideo.width);
  assert.equal(outVideo.height, inVideo.height);
  assert.equal(outVideo.nb_read_frames, inVideo.nb_read_frames, 'frame count differs from the input');
  assert.equal(Number(outVideo.nb_read_frames), r.info.video.frameCount, 'frame count differs from the track info');
  const [tIn, tOut] = await Promise.all([frameTimes(input), frameTimes(out)]);
  assert.equal(tOut.length, tIn.length);
  for (let i = 0; i < tIn.length; i++) assert.ok(Math.abs(tOut[i]! - tIn[i]!) < 1e-3, `frame ${i}: output at ${tOut[i]} s, input at ${tIn[i]} s`);
  await decodesCleanly(out);
  // The model starts as the identity: the output is the input, up to H.264 at a low bitrate and, on the
  // restore path, a YUV -> RGB -> YUV round trip (chroma of this sharp 64x48 pattern loses ~27 dB even
  // with ffmpeg's own lossless round trip). A wrong matrix or range costs luma ~10 dB: luma is checked.
  const db = await psnr(out, input);
  console.log(`#   PSNR against the input: y ${db.y.toFixed(1)} u ${db.u.toFixed(1)} v ${db.v.toFixed(1)} dB`);
  assert.ok(db.y > 35, `luma PSNR ${db.y.toFixed(1)} dB: the output's luma does not match the input's`);
  assert.ok(db.average > 30, `PSNR ${db.average.toFixed(1)} dB: the output does not look like the input`);
  assertReleased(r.leaks, name);
  if (mode === 'restore') {
    // fromMp4 -> restore -> toMp4 on webgpu: the pixels never come back to the CPU.
    assert.ok(Object.keys(r.readbacks).length >= 7, 'the readback counters were not installed');
    for (const [fn, n] of Object.entries(r.readbacks)) assert.equal(n, 0, `${fn} was called ${n} time(s)`);
  }
  return r;
}

test('H.264 + AAC -> restore -> MP4: same frames and timestamps, audio copied sample by sample', async () => {
  const r = await transcodeAndCheck('h264-aac', 'restore', true);
  assert.equal(r.info.audio?.codec, 'mp4a.40.2');
  const input = await probeStreams(join(media.dir, 'h264-aac.mp4'));
  const output = await probeStreams(join(media.dir, 'h264-aac.out.mp4'));
  const aIn = input.find((s) => s.codec_type === 'audio')!;
  const aOut = output.find((s) => s.codec_type === 'audio');
  assert.ok(aOut, 'the output has an audio stream');
  assert.equal(aOut.codec_name, 'aac');
  assert.equal(aOut.sample_rate, aIn.sample_rate);
  assert.equal(aOut.channels, aIn.channels);
  assert.equal(aOut.nb_read_packets, aIn.nb_read_packets, 'audio packet count differs');
  console.log(`# audio start ${aIn.start_time} -> ${aOut.start_time}, duration ${aIn.duration} -> ${aOut.duration}`);
  // The edit list is copied: the AAC priming samples sit before 0 (ffmpeg shows them at a negative
  // start in a fragmented file), and the audio ends where the input's does: A/V sync is kept.
  const end = (s: typeof aIn): number => Number(s.start_time) + Number(s.duration);
  assert.ok(Math.abs(end(aOut) - end(aIn)) < 1e-3, `audio ends at ${end(aOut)} s, the input's at ${end(aIn)} s`);
  assert.ok(Number(aOut.start_time) <= Number(aIn.start_time) + 1e-3, 'audio starts late');
});

test('H.264 with the moov at the end -> MP4 (pass-through)', async () => {
  await transcodeAndCheck('h264-moov-end', 'identity', false);
});

test('VP9 -> restore -> MP4', async () => {
  await transcodeAndCheck('vp9', 'restore', false);
});

test('AV1 -> MP4 (pass-through)', async () => {
  await transcodeAndCheck('av1', 'identity', false);
});

test('fragmented H.264 -> restore -> MP4: frame count over all fragments, timestamps kept', async () => {
  const r = await transcodeAndCheck('fragmented', 'restore', false);
  assert.equal(r.info.fragmented, true);
});

test('fragmented H.264 whose first frame is at 0.04 s -> MP4 -> MP4 again: no frame added, timestamps kept (the output, avc1.640c09, decodes)', async () => {
  const r = await transcodeAndCheck('fragmented-late', 'identity', false);
  const expected = await frameTimes(join(media.dir, 'fragmented-late.mp4'));
  console.log(`# fragmented-late: ffprobe ${expected.join(', ')} s; fromMp4 ${r.timestamps.map((t) => t / 1e6).join(', ')} s`);
  assert.ok(Math.abs(expected[0]! - 0.04) < 1e-6, 'the fixture starts at 0.04 s');
  assert.equal(r.timestamps.length, expected.length);
  // toMp4's own output (fragmented, a moof per frame, starting at 0.04 s) read back: the same frames.
  const again = await transcodeAndCheck('fragmented-late.out' as Mp4Fixture, 'identity', false);
  console.log(`# fragmented-late.out: fromMp4 ${again.timestamps.map((t) => t / 1e6).join(', ')} s`);
  assert.deepEqual(again.timestamps, r.timestamps);
});

test('variable frame rate (frames at 0, 10, 40, 90, 160, 250 ms) -> restore -> MP4: each frame keeps its timestamp and duration', async () => {
  const r = await transcodeAndCheck('vfr', 'restore', false);
  const input = join(media.dir, 'vfr.mp4');
  const tick = 1 / r.info.video.timescale;
  const shown = await frameTimes(input);
  const expected = await shownTimes(input);
  console.log(`# vfr: input ${expected.map((p) => `${p.pts}+${p.duration.toFixed(3)}`).join(', ')} s`);
  console.log(`# vfr: fromMp4 ${r.timestamps.map((t, i) => `${t / 1000}+${(r.durations[i] ?? NaN) / 1000}`).join(', ')} ms`);
  assert.deepEqual(shown.map((t) => Math.round(t * 1000)), [0, 10, 40, 90, 160, 250], 'the fixture');
  for (const [i, e] of expected.entries()) {
    assert.ok(Math.abs(r.timestamps[i]! / 1e6 - e.pts) <= tick, `frame ${i}: fromMp4 at ${r.timestamps[i]} us, ffprobe ${e.pts} s`);
    assert.ok(Math.abs(r.durations[i]! / 1e6 - e.duration) <= tick, `frame ${i}: fromMp4 lasts ${r.durations[i]} us, shown for ${e.duration} s`);
  }
  const out = await shownTimes(join(media.dir, 'vfr.out.mp4'));
  console.log(`# vfr: output ${out.map((p) => `${p.pts}+${p.duration.toFixed(3)}`).join(', ')} s`);
  assert.equal(out.length, expected.length);
  for (const [i, e] of expected.entries()) {
    assert.ok(Math.abs(out[i]!.pts - e.pts) <= tick, `output frame ${i} at ${out[i]!.pts} s, input ${e.pts} s`);
    assert.ok(Math.abs(out[i]!.duration - e.duration) <= tick, `output frame ${i} lasts ${out[i]!.duration} s, input ${e.duration} s`);
  }
});

test('edit list: a cut made by ffmpeg -ss 0.1 -c copy (B-frames, AAC) gives the frames and timestamps ffprobe shows, audio in sync', async () => {
  const r = await transcodeAndCheck('cut', 'identity', true);
  const input = join(media.dir, 'cut.mp4');
  const expected = await frameTimes(input);
  const tick = 1 / r.info.video.timescale;
  console.log(`# cut: ${r.info.video.sampleCount} samples, ${r.info.video.frameCount} shown; fromMp4 emitted ${r.timestamps.map((t) => t / 1000).join(', ')} ms`);
  assert.ok(r.info.video.sampleCount > expected.length, 'the cut keeps frames before the edit as references');
  assert.equal(r.info.video.frameCount, expected.length);
  assert.ok(Math.abs(r.info.video.durationUs - 400_000) <= 1e6 * tick, `durationUs ${r.info.video.durationUs}: the 0.4 s the edit list shows`);
  assert.equal(r.timestamps.length, expected.length, 'fromMp4 emits the frames ffprobe shows');
  for (const [i, t] of expected.entries()) assert.ok(Math.abs(r.timestamps[i]! / 1e6 - t) <= tick, `frame ${i}: fromMp4 at ${r.timestamps[i]} us, ffprobe at ${t} s`);
  // Audio against video: the audio ends at the same time after the first frame in the output as in the
  // input. (The cut audio's edit list is copied: in the fragmented output ffmpeg shows the audio before
  // the edit, kept for the decoder, at negative times, so the start times differ; the ends do not.)
  const [inStreams, outStreams] = await Promise.all([probeStreams(input), probeStreams(join(media.dir, 'cut.out.mp4'))]);
  const offset = (streams: typeof inStreams): number => {
    const a = streams.find((x) => x.codec_type === 'audio')!;
    return Number(a.start_time) + Number(a.duration) - Number(streams.find((x) => x.codec_type === 'video')!.start_time);
  };
  console.log(`# cut: audio ends ${offset(inStreams)} s after the first frame in, ${offset(outStreams)} s out`);
  assert.ok(Math.abs(offset(outStreams) - offset(inStreams)) <= 1e-3, `audio ends ${offset(outStreams)} s after the first frame in the output, ${offset(inStreams)} s in the input`);
});

test('rotation: 90, 180 and 270 degree display matrices made by ffmpeg are restored as stored and written back', async () => {
  for (const [name, degrees] of [['rot90', 90], ['rot180', 180], ['rot270', 270]] as const) {
    const r = await transcodeAndCheck(name, 'identity', false);
    assert.equal(r.info.video.rotation, degrees);
    assert.equal(r.info.video.width, 64, 'the stored size, not the rotated one');
    const [inVideo, outVideo] = await Promise.all([join(media.dir, `${name}.mp4`), join(media.dir, `${name}.out.mp4`)].map(async (f) => (await probeStreams(f)).find((x) => x.codec_type === 'video')!));
    console.log(`# ${name}: ffprobe rotation ${probeRotation(inVideo!)} in, ${probeRotation(outVideo!)} out; ${outVideo!.width}x${outVideo!.height}`);
    assert.notEqual(probeRotation(inVideo!), 0);
    assert.equal(probeRotation(outVideo!), probeRotation(inVideo!), `${name}: the output's display matrix`);
    assert.deepEqual([outVideo!.width, outVideo!.height], [64, 48]);
  }
});

test('anamorphic H.264 (16:15 pixels) -> restore -> MP4: encoded at the stored 64x48 with a 16:15 pasp', async () => {
  const r = await transcodeAndCheck('anamorphic', 'restore', false);
  assert.deepEqual(r.info.video.pixelAspectRatio, { h: 16, v: 15 });
  const [inVideo, outVideo] = await Promise.all(['anamorphic.mp4', 'anamorphic.out.mp4'].map(async (f) => (await probeStreams(join(media.dir, f))).find((x) => x.codec_type === 'video')!));
  console.log(`# anamorphic: sar ${inVideo!.sample_aspect_ratio} dar ${inVideo!.display_aspect_ratio} in, sar ${outVideo!.sample_aspect_ratio} dar ${outVideo!.display_aspect_ratio} out`);
  assert.equal(outVideo!.sample_aspect_ratio, '16:15');
  assert.equal(outVideo!.display_aspect_ratio, inVideo!.display_aspect_ratio);
  assert.deepEqual([outVideo!.width, outVideo!.height], [64, 48]);
});

test('streaming output: 600 frames written to a slow WritableStream as they are encoded, buffered bytes bounded, ffprobe reads every frame', async () => {
  const frames = 600;
  const limit = 4096;
  const r = await runInPage(page, (a) => window.streamToTarget(a.frames, a.limit), { frames, limit });
  const out = await writeBase64(media.dir, 'stream.out.mp4', r.mp4);
  const packets = await probePackets(out);
  const largest = Math.max(...packets.map((p) => p.size));
  console.log(
    `# stream: ${r.bytes} bytes in ${r.writes} writes; first write after ${r.producedAtFirstWrite} of ${r.produced} frames; peak buffered ${r.summary.peakBufferedBytes} bytes (limit ${limit}, largest frame ${largest})`,
  );
  assert.equal(r.summary.frames, frames);
  assert.equal(r.summary.bytes, r.bytes, 'the summary counts the bytes the target received');
  assert.ok(r.producedAtFirstWrite < frames / 10, `the first bytes reached the target after ${r.producedAtFirstWrite} frames: the file was not written progressively`);
  // Held at most: the limit, plus what was already asked for or in the encoder when it was reached
  // (2 requested + maxEncodeQueue 4 frames) and the fragment being written.
  assert.ok(r.summary.peakBufferedBytes <= limit + 7 * (largest + 200), `peak ${r.summary.peakBufferedBytes} bytes buffered`);
  assert.ok(r.summary.peakBufferedBytes < r.bytes / 20, 'the sink held a large part of the file');
  assert.equal(packets.length, frames, 'ffprobe reads every frame');
  for (const [i, p] of packets.entries()) assert.ok(Math.abs(p.pts - i * 0.04) <= 1e-3, `frame ${i} at ${p.pts} s`);
  await decodesCleanly(out);
  assertReleased(r.leaks, 'stream');
  // The limit is what holds it: without one (16 MiB by default), the same slow target lets the encoded bytes pile up.
  const free = await runInPage(page, (a) => window.streamToTarget(a.frames, a.limit), { frames, limit: 1 << 30 });
  console.log(`# stream without a limit: peak buffered ${free.summary.peakBufferedBytes} bytes; first write after ${free.producedAtFirstWrite} frames`);
  assert.ok(free.summary.peakBufferedBytes > 4 * r.summary.peakBufferedBytes, `peak ${free.summary.peakBufferedBytes} bytes without a limit`);
  assertReleased(free.leaks, 'stream without a limit');
});

/**
 * A server of the files in `dir` on its own port that answers `Range` requests (206), or ignores them
 * under `/whole/`, with CORS for the page's origin, and counts the bytes it sends per file.
 */
async function startRangeServer(dir: string): Promise<{ base: string; served: Map<string, number>; close(): Promise<void> }> {
  const served = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', 'Range');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      if (req.method === 'OPTIONS') return void res.writeHead(204).end();
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const name = path.split('/').pop()!;
      const size = (await stat(join(dir, name))).size;
      const m = path.startsWith('/whole/') ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const from = m ? Number(m[1]) : 0;
      const to = m ? Math.min(size - 1, m[2] ? Number(m[2]) : size - 1) : size - 1;
      if (m && from >= size) return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      const body = Buffer.alloc(to - from + 1);
      const file = await open(join(dir, name));
      await file.read(body, 0, body.length, from);
      await file.close();
      served.set(name, (served.get(name) ?? 0) + body.length);
      res.writeHead(m ? 206 : 200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes', ...(m ? { 'Content-Range': `bytes ${from}-${to}/${size}` } : {}) });
      res.end(body);
    })().catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, served, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('fromMp4(url) reads with range requests: the first frame of an 11 MB file (moov first or last) after a small part of it', async () => {
  // 240 frames of noise (incompressible): about 47 KB a frame.
  const noise = ['-f', 'lavfi', '-i', "nullsrc=s=256x144:r=30,geq=lum='random(1)*255':cb=128:cr=128", '-frames:v', '240', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '10', '-pix_fmt', 'yuv420p'];
  await Promise.all([ffmpeg([...noise, '-movflags', '+faststart', join(media.dir, 'big-start.mp4')]), ffmpeg([...noise, join(media.dir, 'big-end.mp4')])]);
  const server = await startRangeServer(media.dir);
  try {
    for (const name of ['big-start.mp4', 'big-end.mp4']) {
      const size = (await stat(join(media.dir, name))).size;
      const r = await runInPage(page, (url) => window.firstFrame(url), `${server.base}/${name}`);
      const served = server.served.get(name) ?? 0;
      console.log(`# ${name}: ${size} bytes; first frame (t=${r.timestamp}, ${r.frameCount} frames) after ${served} bytes served (${((100 * served) / size).toFixed(1)} %)`);
      assert.equal(r.timestamp, 0);
      assert.equal(r.frameCount, 240);
      assert.ok(served < size / 4, `${served} of ${size} bytes served before the first frame`);
      assertReleased(r.leaks, name);
      // Every frame through range requests, and through a server that ignores Range (the whole file at once).
      assert.equal(await runInPage(page, (url) => window.countFrames(url), `${server.base}/${name}`), 240);
      assert.equal(await runInPage(page, (url) => window.countFrames(url), `${server.base}/whole/${name}`), 240);
    }
  } finally {
    await server.close();
  }
});

test('streaming output: a failing target ends toMp4 with IO_ERROR, an unsubscribe aborts the target; nothing left open', async () => {
  const r = await runInPage(page, (url) => window.targetFailures(url), '/media/h264-moov-end.mp4');
  console.log(`# failing target: ${r.failing.code} ${r.failing.message}; unsubscribed: target aborted with ${r.aborted}`);
  assert.equal(r.failing.code, 'IO_ERROR');
  assert.match(r.failing.message, /target stream failed: disk full/);
  assertReleased(r.failing.leaks, 'failing target');
  assert.equal(r.aborted, 'ABORTED');
  assertReleased(r.leaks, 'unsubscribed target');
});

test('track info: codec, size, frame count, fps, audio', async () => {
  const info = await runInPage(page, (url) => window.mp4Info(url), '/media/h264-aac.mp4');
  assert.match(info.video.codec, /^avc1\./);
  assert.equal(info.video.width, 64);
  assert.equal(info.video.height, 48);
  assert.equal(info.video.frameCount, 15);
  assert.ok(Math.abs(info.video.fps - 30) < 0.01, `fps ${info.video.fps}`);
  assert.equal(info.audio?.sampleRate, 44100);
  const frag = await runInPage(page, (url) => window.mp4Info(url), '/media/fragmented.mp4');
  assert.equal(frag.video.frameCount, 15);
  assert.equal(frag.audio, null);
});

test('typed errors: HEVC is UNSUPPORTED_CODEC; truncated, garbled (header or data) and non-MP4 files are CORRUPT_INPUT; other containers and frameless tracks are UNSUPPORTED_FORMAT, each saying what the file is', async () => {
  const cases: [string, string, RegExp][] = [
    ['hevc', 'UNSUPPORTED_CODEC', /cannot decode hvc1.*re-encode/],
    ['truncated', 'CORRUPT_INPUT', /ends after \d+ of the 15 samples.*ends at byte \d+, inside its 'mdat' box.*cut off/],
    ['truncated-moov', 'CORRUPT_INPUT', /no movie header.*inside its 'moov' box.*cut off/],
    ['garbled', 'CORRUPT_INPUT', /corrupt or unreadable MP4/],
    ['garbled-data', 'CORRUPT_INPUT', /could not be decoded/],
    ['not-mp4', 'CORRUPT_INPUT', /not an MP4: .*begins with 74 68 69 73/],
    ['webm', 'UNSUPPORTED_FORMAT', /WebM \(Matroska\) file, not an MP4.*ffmpeg -i input -c copy output\.mp4/],
    ['mpegts', 'UNSUPPORTED_FORMAT', /MPEG transport stream.*not an MP4/],
    ['no-frames', 'UNSUPPORTED_FORMAT', /video track \(id 1, avc1\.[0-9a-f]+, 64x48\) has no frames/],
    ['no-track', 'UNSUPPORTED_FORMAT', /no video track/],
  ];
  for (const [name, code, pattern] of cases) {
    const r = await runInPage(page, (url) => window.mp4Error(url), `/media/${name}.mp4`);
    console.log(`# ${name}: ${r.frames} frame(s), then ${r.code} ${r.message}`);
    assert.equal(r.code, code, `${name}: ${r.message}`);
    assert.match(r.message, pattern, name);
    if (name === 'truncated') assert.ok(r.frames > 0, 'the frames before the cut are still decoded');
    assertReleased(r.leaks, name);
  }
});

test('decoding follows demand: 3 frames requested, at most 3 + decodeAhead + reorder depth decoded', async () => {
  const r = await runInPage(page, (url) => window.pullOnly(url, 3), '/media/h264-moov-end.mp4');
  console.log(`# requested ${r.requested}, emitted ${r.emitted}, decoded ${r.decoded} of 15`);
  assert.equal(r.emitted, 3);
  assert.ok(r.decoded < 15, `the decoder ran through the whole file (${r.decoded} frames) when 3 were asked for`);
  assert.ok(r.decoded <= 3 + 1 + 4, `decoded ${r.decoded} frames for 3 requested`);
  assertReleased(r.leaks, 'pull');
});

test('unsubscribing mid-stream closes the decoder and every frame', async () => {
  const leaks = await runInPage(page, (url) => window.unsubscribeMidStream(url, 4), '/media/vp9.mp4');
  assert.ok(leaks.decoders.length === 1, 'one decoder');
  assertReleased(leaks, 'unsubscribe');
});

test('unsubscribing fromMp4 -> restore -> toMp4 mid-stream closes the decoder, the encoder and every frame', async () => {
  const leaks = await runInPage(page, (url) => window.pipelineUnsubscribe(url, 3), '/media/h264-moov-end.mp4');
  assert.equal(leaks.decoders.length, 1);
  assertReleased(leaks, 'pipeline unsubscribe');
});

test('fromMp4 reads a Blob, an ArrayBuffer, a Uint8Array, a URL and a URL string', async () => {
  const counts = await runInPage(page, (url) => window.inputKinds(url), '/media/vp9.mp4');
  assert.deepEqual(counts, { blob: 15, arrayBuffer: 15, uint8Array: 15, url: 15, string: 15 });
});
