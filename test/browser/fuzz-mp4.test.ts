/**
 * Reliability: 1200 mutated MP4 files through `fromMp4` in headless Chromium (mp4box demuxing,
 * WebCodecs decoding). Bases made by ffmpeg: H.264 with AAC (an edit list, B-frames), H.264 with the
 * moov at the end, fragmented H.264, and the first frames of examples/assets/sample-rain.mp4
 * (640x360). Mutations: bit flips, byte runs, truncation, insertions, deletions, and box-aware
 * ones (box sizes, types, duplicated and removed boxes, extreme values in box fields). Every input
 * must decode or end with CORRUPT_INPUT / UNSUPPORTED_FORMAT / UNSUPPORTED_CODEC within 5 s, leave
 * no VideoFrame open and no decoder unclosed, and raise no uncaught error in the page.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { failureLines, summary, type FuzzReport } from '../helpers/fuzz';
import { createBrowserFixture, REPO_ROOT, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { Mp4FuzzResult } from './pages/fuzz-mp4-entry';
import { ffmpeg, fixtureDir, type FixtureDir } from './video-fixtures';

const COUNT = 1200;
const BATCH = 300;
const SEED = 73_000;

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;

before(async () => {
  media = await fixtureDir();
  const pattern = ['-f', 'lavfi', '-i', 'testsrc2=size=48x32:rate=30', '-t', '0.2'];
  const h264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
  await Promise.all([
    ffmpeg([...pattern, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.2', ...h264, '-c:a', 'aac', '-t', '0.2', '-movflags', '+faststart', join(media.dir, 'h264-aac.mp4')]),
    ffmpeg([...pattern, ...h264, join(media.dir, 'moov-end.mp4')]),
    ffmpeg([...pattern, ...h264, '-g', '2', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', join(media.dir, 'fragmented.mp4')]),
    ffmpeg(['-i', join(REPO_ROOT, 'examples/assets/sample-rain.mp4'), '-frames:v', '3', '-t', '0.125', '-c', 'copy', '-movflags', '+faststart', join(media.dir, 'sample-rain-3.mp4')]),
  ]);
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  // mp4box logs what it finds wrong to the console; those lines are expected. Uncaught errors are not.
  page = await fx.open('/blank.html', {
    entry: 'test/browser/pages/fuzz-mp4-entry.ts',
    ignoreErrors: [/\[(BoxParser|ISOFile|MultiBufferStream|DataStream|BoxParser\.\w+)\]/, /^console\.error: \[/],
  });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

test(`fuzz: ${COUNT} mutated MP4 files through fromMp4: decoded or a typed error, nothing left open, never a hang`, async () => {
  const urls = ['h264-aac', 'moov-end', 'fragmented', 'sample-rain-3'].map((n) => `/media/${n}.mp4`);
  const reports: FuzzReport[] = [];
  const leaks: string[] = [];
  let frames = 0;
  for (let start = 0; start < COUNT; start += BATCH) {
    const r = await runInPage(page, (a) => window.fuzzMp4(a.urls, a.seed, a.count, a.timeoutMs), { urls, seed: SEED + start, count: BATCH, timeoutMs: 5000 }, { timeoutMs: 600_000 });
    const shifted: Mp4FuzzResult['report'] = { ...r.report, failures: r.report.failures.map((f) => ({ ...f, index: f.index + start })) };
    reports.push(shifted);
    leaks.push(...r.leaks);
    frames += r.frames;
    console.log(`# batch ${start / BATCH + 1}: ${summary(shifted)}`);
  }
  const all: FuzzReport = {
    name: 'mp4 (fromMp4)',
    tried: reports.reduce((n, r) => n + r.tried, 0),
    decoded: reports.reduce((n, r) => n + r.decoded, 0),
    codes: mergeCounts(reports.map((r) => r.codes)),
    kinds: mergeCounts(reports.map((r) => r.kinds)),
    failures: reports.flatMap((r) => r.failures),
    slowestMs: Math.max(...reports.map((r) => r.slowestMs)),
    totalMs: reports.reduce((n, r) => n + r.totalMs, 0),
  };
  console.log(`# ${summary(all)}; ${frames} frames decoded`);
  console.log(`# mp4 mutation kinds: ${JSON.stringify(all.kinds)}`);
  assert.equal(all.tried, COUNT);
  assert.equal(all.failures.length, 0, `fuzz failures:\n${failureLines(all)}`);
  assert.deepEqual(leaks, [], 'inputs that left frames or decoders open');
  assert.ok(all.decoded > 0 && (all.codes.CORRUPT_INPUT ?? 0) > 0, 'the mutants should both decode and fail');
  page.assertNoErrors();
});

/**
 * Inputs that crashed or blocked the page before the fixes, found by the wider sweep
 * (test/fuzz/mp4-demux-sweep.ts): a 64-bit box size of 0 on an stsz, and an esds renamed stsz inside
 * the audio sample entry, each made V8 build an array of billions (a fatal "invalid size" error).
 */
const REGRESSIONS: { seed: number; base: number; what: string }[] = [
  { seed: 100_774, base: 2, what: 'stsz with a 64-bit size of 0 (fragmented base)' },
  { seed: 208_344, base: 0, what: 'esds renamed stsz in the mp4a entry (H.264 + AAC base)' },
];

test('regressions from the wider demuxer sweep: typed errors, no crash', async () => {
  const urls = ['h264-aac', 'moov-end', 'fragmented', 'sample-rain-3'].map((n) => `/media/${n}.mp4`);
  for (const r of REGRESSIONS) {
    const out = await runInPage(page, (a) => window.fuzzMp4(a.urls, a.seed, 1, 5000), { urls: [urls[r.base]!], seed: r.seed });
    console.log(`# seed ${r.seed} (${r.what}): ${out.report.decoded ? 'decoded' : JSON.stringify(out.report.codes)}`);
    assert.equal(out.report.failures.length, 0, `seed ${r.seed}: ${failureLines(out.report)}`);
    assert.deepEqual(out.leaks, []);
  }
  page.assertNoErrors();
});

function mergeCounts(list: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of list) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
  return out;
}
