/** Self-test of the browser harness: error collection, timeouts, serialized functions, bundle cache. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, openPage, launchBrowser, runInPage, type BrowserFixture } from './harness';

let fx: BrowserFixture | undefined;

before(async () => {
  fx = await createBrowserFixture();
});

after(async () => {
  await fx?.close();
});

test('runInPage passes the argument and returns the result (nested named functions work)', async () => {
  const tp = await fx!.open();
  const out = await runInPage(
    tp,
    (n) => {
      const double = (v: number): number => v * 2;
      function inc(v: number): number {
        return v + 1;
      }
      return { value: inc(double(n)), isolated: self.crossOriginIsolated };
    },
    20,
  );
  assert.deepEqual(out, { value: 41, isolated: true });
  await tp.close();
});

test('console errors and uncaught page errors fail runInPage', async () => {
  const tp = await fx!.open();
  await assert.rejects(
    runInPage(tp, () => console.error('boom from the page'), undefined),
    /The page reported 1 error\(s\):\nconsole\.error: boom from the page/,
  );
  tp.errors.length = 0;
  await runInPage(tp, () => void setTimeout(() => { throw new Error('async kaboom'); }, 0), undefined);
  await runInPage(tp, () => new Promise((r) => setTimeout(r, 50)), undefined, { timeoutMs: 10_000 }).catch(() => undefined);
  assert.match(tp.errors.join('\n'), /pageerror: .*async kaboom/);
  await tp.close();
});

test('expected errors can be ignored, or collected without failing', async () => {
  const quiet = await fx!.open('/blank.html', { ignoreErrors: [/expected noise/] });
  await runInPage(quiet, () => console.error('expected noise'), undefined);
  assert.deepEqual(quiet.errors, []);
  await quiet.close();
  const lax = await fx!.open('/blank.html', { failOnErrors: false });
  await runInPage(lax, () => console.error('recorded'), undefined);
  assert.equal(lax.errors.length, 1);
  await lax.close();
});

test('runInPage times out with a clear message', async () => {
  const tp = await fx!.open();
  await assert.rejects(runInPage(tp, () => new Promise(() => undefined), undefined, { timeoutMs: 300 }), /timed out after 300 ms/);
  await tp.close();
});

test('openPage fails on a missing page', async () => {
  await assert.rejects(fx!.open('/no-such-page.html'), /answered 404/);
});

test('bundles are cached until an input changes', async () => {
  const first = await bundleForBrowser('test/browser/pages/smoke-entry.ts');
  const second = await bundleForBrowser('test/browser/pages/smoke-entry.ts');
  assert.equal(second.rebuilt, false);
  assert.equal(second.file, first.file);
  assert.match(second.url, /^\/bundles\/smoke-entry\.[0-9a-f]{8}\.js$/);
});

test('launchBrowser feeds the fake webcam from a y4m file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'simpleir-y4m-'));
  const clip = join(dir, 'clip.y4m');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-t', '1', '-pix_fmt', 'yuv420p', clip]);
  const context = await launchBrowser({ fakeVideo: clip });
  try {
    const tp = await openPage(context, fx!.server);
    const settings = await runInPage(
      tp,
      async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        const track = stream.getVideoTracks()[0]!;
        const { width, height } = track.getSettings();
        track.stop();
        return { width, height };
      },
      undefined,
    );
    assert.deepEqual(settings, { width: 64, height: 48 });
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
});
