/**
 * The GPU work counter of `npm run bench:gpu-work` (bench/gpu-work-page.ts), at 128x128 on webgpu
 * (SwiftShader): its counts are positive, equal between two frames, and the GPU path reads nothing back.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture } from './harness';
import type { FrameWork, GpuWork } from '../../bench/gpu-work-page';

let fx: BrowserFixture | undefined;
let result: FrameWork;
let known: { upload: GpuWork; readback: GpuWork };
let dry: FrameWork;

before(async () => {
  fx = await createBrowserFixture();
  const page = await fx.open('/blank.html', { entry: 'bench/gpu-work-page.ts' });
  known = await runInPage(page, (n) => window.countKnownWork(n), 4096);
  result = await runInPage(page, (a) => window.countFrameWork(a), { preset: 'tiny' as const, width: 128, height: 128, frames: 3 }, { timeoutMs: 600_000 });
  dry = await runInPage(page, (a) => window.countFrameWork(a), { preset: 'tiny' as const, width: 128, height: 128, frames: 2, dryRun: true }, { timeoutMs: 600_000 });
});

after(async () => {
  await fx?.close();
});

test('the counter counts dispatches, uniform writes and submits of a frame on webgpu', () => {
  const [first] = result.frames;
  console.log(`# tiny 128x128 on ${result.adapter}: ${JSON.stringify(result.frames)}`);
  assert.equal(result.frames.length, 3);
  // tiny has 2 blocks + 1 shared block run twice, each of more than ten frame-sized operations.
  assert.ok(first!.dispatches > 40, `dispatches ${first!.dispatches}`);
  // Each dispatch writes its uniforms (shapes, strides) with queue.writeBuffer: at least 16 bytes each.
  assert.ok(first!.bytesWritten >= 16 * first!.dispatches, `bytes written ${first!.bytesWritten}`);
  assert.ok(first!.submits > 0);
});

test('the counter counts an upload of 4096 float32 values, one add, and their readback, in bytes', () => {
  console.log(`# known work: ${JSON.stringify(known)}`);
  assert.equal(known.upload.dispatches, 1);
  assert.ok(known.upload.bytesWritten >= 4096 * 4 && known.upload.bytesWritten < 4096 * 4 + 1024, `bytes written ${known.upload.bytesWritten}`);
  assert.equal(known.upload.bytesRead, 0);
  assert.equal(known.readback.dispatches, 0);
  assert.equal(known.readback.bytesRead, 4096 * 4);
});

test('frames of the same size do the same GPU work (buffers: once the pool has settled)', () => {
  const [a, b, c] = result.frames;
  const work = ({ buffersCreated: _, ...w }: GpuWork): Omit<GpuWork, 'buffersCreated'> => w;
  assert.deepEqual(work(b!), work(a!));
  assert.deepEqual(work(c!), work(a!));
  // tfjs's buffer pool may still grow by a buffer on the first counted frame.
  assert.equal(c!.buffersCreated, b!.buffersCreated);
});

test('restoring a frame already on the GPU reads nothing back and leaves no tensors', () => {
  for (const f of result.frames) assert.equal(f.bytesRead, 0);
  assert.equal(result.tensorsAfter, result.tensorsBefore);
});

test('a dry run (zero workgroups per dispatch, as the bench counts 1080p) counts the same work as a computed frame', () => {
  assert.equal(dry.dryRun, true);
  assert.equal(result.dryRun, false);
  for (const f of dry.frames) {
    assert.equal(f.dispatches, result.frames[2]!.dispatches);
    assert.equal(f.bytesWritten, result.frames[2]!.bytesWritten);
    assert.equal(f.bytesRead, 0);
    assert.equal(f.submits, result.frames[2]!.submits);
  }
});
