/**
 * The README's browser snippet, copied byte for byte into a fresh Vite 7 app of the packed package, runs
 * in headless Chromium with a fake webcam: the camera's frames reach the canvas restored, `download`
 * gets the restored MP4 of a file (every frame, audio kept), and the long-file part reads
 * `https://example.com/long.mp4` (answered here with range support) into a file of the origin private
 * file system and logs its summary. A prelude module only defines the names the snippet takes from its app.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { ConsoleMessage, Route } from 'playwright-core';
import { startServer } from '../../scripts/serve';
import { launchBrowser, openPage, runInPage } from '../browser/harness';
import { probeFrames } from './browser-app';
import { readmeTsBlocks } from './readme';
import { scratchApp, type ScratchApp } from './scratch';

const run = promisify(execFile);

/** `npm run test:node` (SIMPLEIR_SKIP_BROWSER=1) skips the browser tests, this one included; it says so. */
const skip = /^(1|true|yes)$/i.test(process.env.SIMPLEIR_SKIP_BROWSER ?? '') ? 'SIMPLEIR_SKIP_BROWSER=1: README snippet in Vite not run' : false;

/** The fixture MP4 (H.264 with an AAC track), the "long" file (noisy, ~200 KB: several range requests) and the fake webcam's clip. */
const CLIP = { width: 64, height: 48, frames: 8 };
const LONG = { width: 128, height: 96, frames: 16 };
const CAMERA = { width: 96, height: 64 };
/** The URL the snippet's long-file part reads; the page cannot reach the internet, so the test answers it. */
const LONG_URL = 'https://example.com/long.mp4';

/**
 * The app around the snippet: the names it uses without defining them, as window properties so that the
 * snippet's free names resolve to them. `file` is the fixture MP4 fetched from the server; `download`
 * keeps the Blobs it is given.
 */
const PRELUDE_JS = `window.canvas = document.getElementById('view');
const response = await fetch('/media/clip.mp4');
if (!response.ok) throw new Error('prelude: GET /media/clip.mp4 answered ' + response.status);
window.file = new File([await response.blob()], 'clip.mp4', { type: 'video/mp4' });
window.downloads = [];
window.download = (blob) => { window.downloads.push(blob); };
`;

const INDEX_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>README snippet</title></head><body>
<canvas id="view"></canvas>
<script type="module" src="./prelude.js"></script>
<script type="module" src="./readme.ts"></script>
</body></html>
`;

let app: ScratchApp;
let media: string;

before(async () => {
  if (skip) return;
  app = await scratchApp();
  media = await mkdtemp(join(tmpdir(), 'simpleir-readme-vite-'));
  const lavfi = (graph: string): string[] => ['-f', 'lavfi', '-i', graph];
  await run('ffmpeg', ['-v', 'error', '-y', ...lavfi(`testsrc2=size=${CLIP.width}x${CLIP.height}:rate=8`), ...lavfi('sine=frequency=440:sample_rate=44100'),
    '-frames:v', String(CLIP.frames), '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', join(media, 'clip.mp4')]);
  await run('ffmpeg', ['-v', 'error', '-y', ...lavfi(`testsrc2=size=${LONG.width}x${LONG.height}:rate=8`), '-vf', 'noise=alls=60:allf=t',
    '-frames:v', String(LONG.frames), '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', join(media, 'long.mp4')]);
  await run('ffmpeg', ['-v', 'error', '-y', ...lavfi(`testsrc2=size=${CAMERA.width}x${CAMERA.height}:rate=10`), '-frames:v', '20', '-pix_fmt', 'yuv420p', join(media, 'camera.y4m')]);
});

after(async () => {
  if (media) await rm(media, { recursive: true, force: true });
});

/** The codec of each audio stream of a file, by ffprobe. */
async function audioCodecs(file: string): Promise<string[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=codec_name', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: { codec_name: string }[] }).streams.map((s) => s.codec_name);
}

/** Answers a GET of {@link LONG_URL} from `bytes` as a server with range support and CORS would. */
async function answerWithRanges(route: Route, bytes: Buffer, log: number[]): Promise<void> {
  const request = route.request();
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges', 'Cross-Origin-Resource-Policy': 'cross-origin' };
  if (request.method() === 'OPTIONS') {
    await route.fulfill({ status: 204, headers: { ...cors, 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Allow-Methods': 'GET' } });
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec((await request.headerValue('range')) ?? '');
  if (!range) {
    log.push(200);
    await route.fulfill({ status: 200, body: bytes, headers: { ...cors, 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes' } });
    return;
  }
  const from = Number(range[1]);
  const to = Math.min(bytes.length - 1, range[2] ? Number(range[2]) : bytes.length - 1);
  if (from >= bytes.length) {
    log.push(416);
    await route.fulfill({ status: 416, headers: { ...cors, 'Content-Range': `bytes */${bytes.length}` } });
    return;
  }
  log.push(206);
  await route.fulfill({ status: 206, body: bytes.subarray(from, to + 1), headers: { ...cors, 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${from}-${to}/${bytes.length}` } });
}

test("the README's browser snippet runs as written in a Vite 7 app (camera to canvas, file to MP4, long URL to OPFS)", { skip }, async () => {
  const snippet = (await readmeTsBlocks()).find((s) => s.includes("from 'simpleir-stream/browser'") && /\bfromCamera\(/.test(s) && /\bfromMp4\(/.test(s) && /\btoMp4\(/.test(s));
  assert.ok(snippet, "README.md has no ```ts block importing from 'simpleir-stream/browser' that uses fromCamera, fromMp4 and toMp4");

  const dir = join(app.dir, 'readme-vite-app');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'readme.ts'), snippet);
  await writeFile(join(dir, 'prelude.js'), PRELUDE_JS);
  await writeFile(join(dir, 'index.html'), INDEX_HTML);
  await app.exec(join(app.dir, 'node_modules/.bin/vite'), ['build', '--outDir', 'out', '--emptyOutDir', '--logLevel', 'warn'], { cwd: dir });
  const out = join(dir, 'out');
  assert.equal(await readFile(join(dir, 'readme.ts'), 'utf8'), snippet, 'the snippet was not copied as written');

  const long = await readFile(join(media, 'long.mp4'));
  assert.ok(long.length > 2 * 64 * 1024, `long.mp4 is ${long.length} bytes: too small to need several range requests`);
  const server = await startServer({ root: out, routes: { '/media/': media } });
  const context = await launchBrowser({ fakeVideo: join(media, 'camera.y4m') });
  try {
    const answered: number[] = [];
    await context.route(LONG_URL, (route) => answerWithRanges(route, long, answered));
    const summary = new Promise<RegExpExecArray>((resolve) => {
      const onConsole = (msg: ConsoleMessage): void => {
        const m = /^(\d+) frames, (\d+) bytes$/.exec(msg.text());
        if (m) {
          context.off('console', onConsole);
          resolve(m);
        }
      };
      context.on('console', onConsole);
    });
    const tp = await openPage(context, server.url, '/index.html');
    const page = tp.page;

    // The camera: restored frames reach the canvas, which takes the camera's frame size.
    await page.waitForFunction(({ width, height }) => {
      const c = (window as unknown as { canvas: HTMLCanvasElement }).canvas;
      return c.width === width && c.height === height;
    }, CAMERA, { timeout: 600_000 });
    const pixels = await runInPage(tp, async () => {
      const bitmap = await createImageBitmap((window as unknown as { canvas: HTMLCanvasElement }).canvas);
      const copy = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = copy.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0);
      const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      let sum = 0;
      let sumSq = 0;
      let alpha = 0;
      for (let i = 0; i < data.length; i += 4) {
        const v = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
        sum += v;
        sumSq += v * v;
        alpha += data[i + 3]!;
      }
      const n = data.length / 4;
      return { width: bitmap.width, height: bitmap.height, mean: sum / n, std: Math.sqrt(sumSq / n - (sum / n) ** 2), alpha: alpha / n };
    }, undefined);
    console.log(`# canvas ${pixels.width}x${pixels.height}: mean ${pixels.mean.toFixed(1)}, std ${pixels.std.toFixed(1)}, alpha ${pixels.alpha.toFixed(1)}`);
    assert.deepEqual([pixels.width, pixels.height], [CAMERA.width, CAMERA.height], 'canvas size');
    assert.equal(pixels.alpha, 255, 'the canvas has transparent pixels: no frame was drawn over all of it');
    assert.ok(pixels.mean > 10 && pixels.std > 10, `the canvas is blank or flat (mean ${pixels.mean}, std ${pixels.std}); the camera's test pattern is not`);

    // The file: download() got the restored MP4, every frame, audio kept.
    await page.waitForFunction(() => (window as unknown as { downloads: Blob[] }).downloads.length > 0, undefined, { timeout: 600_000 });
    const downloaded = await runInPage(tp, async () => {
      const blobs = (window as unknown as { downloads: Blob[] }).downloads;
      return { count: blobs.length, type: blobs[0]!.type, bytes: Array.from(new Uint8Array(await blobs[0]!.arrayBuffer())) };
    }, undefined);
    assert.equal(downloaded.count, 1, 'download() called more than once');
    const restoredFile = join(media, 'downloaded.mp4');
    await writeFile(restoredFile, new Uint8Array(downloaded.bytes));
    assert.deepEqual(await probeFrames(restoredFile), { frames: CLIP.frames, width: CLIP.width, height: CLIP.height }, 'downloaded MP4: frames and size');
    assert.deepEqual(await audioCodecs(join(media, 'clip.mp4')), ['aac'], 'the fixture has its AAC track');
    assert.deepEqual(await audioCodecs(restoredFile), ['aac'], "the downloaded MP4 lost the file's audio");

    // The long file: read from the URL with range requests, written to OPFS, summary logged.
    // Its subscriber has no error callback: a failure is a page error, which ends the wait too.
    const failed = page.waitForEvent('pageerror', { timeout: 600_000 }).then(
      (e) => new Error(`the page failed before logging the long file's summary: ${e.message}`),
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    const m = await Promise.race([summary, failed]);
    if (m instanceof Error) throw m;
    const written = await runInPage(tp, async () => {
      const opfs = await navigator.storage.getDirectory();
      const f = await (await opfs.getFileHandle('restored.mp4')).getFile();
      return Array.from(new Uint8Array(await f.arrayBuffer()));
    }, undefined);
    console.log(`# summary "${m[0]}"; ${LONG_URL} answered ${answered.join(', ')}`);
    assert.equal(Number(m[1]), LONG.frames, 'frames in the summary line');
    assert.equal(Number(m[2]), written.length, "bytes in the summary line = size of OPFS's restored.mp4");
    assert.ok(answered.length >= 2 && answered.every((s) => s === 206), `${LONG_URL} was not read with range requests (answers ${answered.join(', ')})`);
    const opfsFile = join(media, 'opfs.mp4');
    await writeFile(opfsFile, new Uint8Array(written));
    assert.deepEqual(await probeFrames(opfsFile), { frames: LONG.frames, width: LONG.width, height: LONG.height }, "OPFS's restored.mp4: frames and size");

    assert.deepEqual(tp.errors, [], 'the page logged errors');
  } finally {
    await context.close().catch(() => undefined);
    await server.close();
  }
});
