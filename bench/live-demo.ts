/**
 * `npx tsx bench/live-demo.ts`: the live demo's restored frames per second, measured as a user would see
 * them. The bundled sample clip (examples/assets/sample-rain.mp4, 640x360 at 24 fps, converted to y4m by
 * ffmpeg) feeds Chromium's fake webcam; the page (`/live/`, preset and backend from the options, default
 * `tiny` and `auto`) restores it in live mode; after a warm-up of 5 restored frames, output frames are
 * counted over `--seconds` (default 30) of wall clock. Prints one JSON line with the fps, the page's own
 * metrics and the backend choice it reported.
 *
 * Options: --preset tiny|base  --backend auto|wasm|webgpu|webgl|cpu  --seconds N
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startExamples } from '../scripts/start';
import { launchBrowser, openPage, REPO_ROOT, runInPage } from '../test/browser/harness';
import { ffmpeg } from '../test/browser/video-fixtures';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    backend: { type: 'string', default: 'auto' },
    seconds: { type: 'string', default: '30' },
  },
});
const seconds = Number(args.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${args.seconds}`);

const dir = await mkdtemp(join(tmpdir(), 'simpleir-live-bench-'));
const clip = join(dir, 'camera.y4m');
await ffmpeg(['-v', 'error', '-i', join(REPO_ROOT, 'examples/assets/sample-rain.mp4'), '-an', '-pix_fmt', 'yuv420p', '-y', clip]);
const server = await startExamples({ port: 0 });
const context = await launchBrowser({ fakeVideo: clip });
try {
  const page = await openPage(context, server, `/live/?preset=${args.preset}&backend=${args.backend}`);
  const read = () => runInPage(page, () => ({ status: window.simpleirDemo.status(), metrics: window.simpleirDemo.metrics(), size: [(document.getElementById('restored') as HTMLCanvasElement).width, (document.getElementById('restored') as HTMLCanvasElement).height] }), undefined);
  const started = Date.now();
  let s = await read();
  while ((s.metrics?.framesOut ?? 0) < 5 && s.status.error === null) {
    if (Date.now() - started > 300_000) throw new Error(`no 5 restored frames in 5 minutes: ${JSON.stringify(s.status)}`);
    await new Promise((r) => setTimeout(r, 500));
    s = await read();
  }
  if (s.status.error !== null) throw new Error(`the page stopped: ${s.status.error}`);
  const t0 = performance.now();
  const out0 = s.metrics!.framesOut;
  const in0 = s.metrics!.framesIn;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const e = await read();
  const dt = (performance.now() - t0) / 1000;
  const m = e.metrics!;
  const result = {
    preset: args.preset,
    backendAsked: args.backend,
    backend: e.status.backend,
    size: e.size,
    seconds: Number(dt.toFixed(1)),
    restoredFps: Number(((m.framesOut - out0) / dt).toFixed(2)),
    inputFps: Number(((m.framesIn - in0) / dt).toFixed(2)),
    latencyP50Ms: Math.round(m.latencyP50),
    latencyP95Ms: Math.round(m.latencyP95),
    dropped: m.dropped,
    errors: m.errors,
    splitMatches: e.status.split.original === e.status.split.restored,
    choice: e.status.backendChoice,
  };
  console.log(JSON.stringify(result));
  page.assertNoErrors();
} finally {
  await context.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
