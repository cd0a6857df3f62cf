/**
 * Browser frames for the restore operator, in headless Chromium: colour conversion of I420 (BT.601,
 * BT.709 and BT.2020, limited range), RGBA and BGRA VideoFrames on the gpu and cpu paths; the gpu path equals the
 * cpu path; output frames keep timestamp and duration; a tiny SimpleIR runs on the gpu path with no
 * CPU readback and closes every frame; the cpu path also runs on the wasm backend.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { Block, ConvertResult, FrameCase } from './pages/video-frame-entry';

let fx: BrowserFixture | undefined;
let page: TestPage;

before(async () => {
  fx = await createBrowserFixture();
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/video-frame-entry.ts' });
  const backend = await runInPage(page, () => window.useBackend('webgpu'), undefined);
  assert.equal(backend, 'webgpu');
});

after(async () => {
  await fx?.close();
});

/** Limited-range YUV to 8-bit RGB by the standard matrices (kr, kb): BT.601 (0.299, 0.114), BT.709 (0.2126, 0.0722). */
function yuvToRgb(b: Block, kr: number, kb: number): [number, number, number] {
  const kg = 1 - kr - kb;
  const y = (b.y! - 16) / 219;
  const pb = (b.u! - 128) / 224;
  const pr = (b.v! - 128) / 224;
  const r = y + 2 * (1 - kr) * pr;
  const bl = y + 2 * (1 - kb) * pb;
  const g = (y - kr * r - kb * bl) / kg;
  return [r, g, bl].map((c) => Math.min(255, Math.max(0, c * 255))) as [number, number, number];
}

const YUV_BLOCKS: FrameCase['blocks'] = [
  { y: 81, u: 90, v: 240 }, // a red
  { y: 145, u: 54, v: 34 }, // a green
  { y: 41, u: 240, v: 110 }, // a blue
  { y: 120, u: 110, v: 150 }, // a skin tone
];
const RGB_BLOCKS: FrameCase['blocks'] = [{ rgb: [250, 10, 20] }, { rgb: [5, 200, 30] }, { rgb: [40, 60, 230] }, { rgb: [128, 128, 128] }];

const CASES: FrameCase[] = [
  { name: 'I420 BT.601', format: 'I420', blocks: YUV_BLOCKS, colorSpace: { matrix: 'smpte170m', primaries: 'smpte170m', transfer: 'smpte170m', fullRange: false } },
  { name: 'I420 BT.601 (625)', format: 'I420', blocks: YUV_BLOCKS, colorSpace: { matrix: 'bt470bg', primaries: 'bt470bg', transfer: 'smpte170m', fullRange: false } },
  { name: 'I420 BT.709', format: 'I420', blocks: YUV_BLOCKS, colorSpace: { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709', fullRange: false } },
  // BT.2020 (SDR: the BT.709 curve): names missing from TypeScript's DOM types.
  { name: 'I420 BT.2020', format: 'I420', blocks: YUV_BLOCKS, colorSpace: { matrix: 'bt2020-ncl', primaries: 'bt2020', transfer: 'bt709', fullRange: false } as unknown as VideoColorSpaceInit },
  { name: 'RGBA', format: 'RGBA', blocks: RGB_BLOCKS },
  { name: 'BGRA', format: 'BGRA', blocks: RGB_BLOCKS },
];

function expected(c: FrameCase): number[][] {
  if (c.format !== 'I420') return c.blocks.map((b) => [...b.rgb!]);
  // bt470bg and smpte170m share the BT.601 matrix.
  const [kr, kb] = c.colorSpace?.matrix === 'bt709' ? [0.2126, 0.0722] : (c.colorSpace?.matrix as string) === 'bt2020-ncl' ? [0.2627, 0.0593] : [0.299, 0.114];
  return c.blocks.map((b) => yuvToRgb(b, kr, kb));
}

const results: Partial<Record<'gpu' | 'cpu', ConvertResult[]>> = {};

for (const path of ['gpu', 'cpu'] as const) {
  test(`${path} path: I420 (BT.601, BT.709, BT.2020 limited range), RGBA and BGRA frames give the right RGB`, async () => {
    const out = await runInPage(page, (a) => window.convertCases(a.cases, a.path), { cases: CASES, path });
    results[path] = out;
    for (const [i, c] of CASES.entries()) {
      const r = out[i]!;
      assert.deepEqual(r.shape, [1, 32, 32, 3]);
      const want = expected(c);
      const tolerance = c.format === 'I420' ? 2.5 : 0.5;
      for (let b = 0; b < 4; b++) {
        const got = r.centres[b]!;
        const diff = Math.max(...got.map((v, k) => Math.abs(v - want[b]![k]!)));
        assert.ok(diff <= tolerance, `${path} ${c.name} block ${b}: got [${got.map((v) => v.toFixed(1))}], want [${want[b]!.map((v) => v.toFixed(1))}] (±${tolerance})`);
      }
    }
  });
}

test('the gpu path equals the cpu path within 2/255 on every pixel', () => {
  assert.ok(results.gpu && results.cpu, 'both conversion tests must have run');
  for (const [i, c] of CASES.entries()) {
    const a = results.gpu[i]!.values;
    const b = results.cpu[i]!.values;
    let m = 0;
    for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
    console.log(`# ${c.name}: max |gpu - cpu| = ${(m * 255).toFixed(2)}/255`);
    assert.ok(m <= 2 / 255, `${c.name}: gpu and cpu paths differ by ${(m * 255).toFixed(2)}/255`);
  }
});

for (const path of ['gpu', 'cpu'] as const) {
  test(`${path} path: tensor -> VideoFrame keeps timestamp, duration, size and pixels`, async () => {
    const r = await runInPage(page, (p) => window.roundTrip(p), path);
    assert.equal(r.timestamp, 123_456);
    assert.equal(r.duration, 33_333);
    assert.equal(r.width, 32);
    assert.equal(r.height, 32);
    let m = 0;
    for (let k = 0; k < r.rgb.length; k++) m = Math.max(m, Math.abs(r.rgb[k]! - r.expected[k]!));
    assert.ok(m <= 1, `${path}: output frame pixels differ from the tensor by ${m}`);
  });
}

test('restore(SimpleIR tiny) on the gpu path: no CPU readback, timestamps kept, every frame closed, no tensor leak', async () => {
  const r = await runInPage(page, () => window.restoreFrames('gpu', 3), undefined);
  console.log(`# gpu path readbacks during restore of ${r.frames} frames: ${JSON.stringify(r.readbacks)}`);
  assert.equal(r.backend, 'webgpu');
  assert.equal(r.frames, 3);
  assert.deepEqual(r.timestamps, [1_000_000, 1_040_000, 1_080_000]);
  assert.deepEqual(r.durations, [40_000, 40_000, 40_000]);
  assert.ok(Object.keys(r.readbacks).length >= 7, 'the readback counters were not installed');
  for (const [name, n] of Object.entries(r.readbacks)) assert.equal(n, 0, `${name} was called ${n} time(s) on the gpu path`);
  assert.equal(r.openFrames, 0, 'VideoFrames left open');
  assert.equal(r.tensorsAfter, r.tensorsBefore, 'tensors leaked');
});

test('restore on the cpu path (wasm backend) gives the gpu path output within 2/255', async () => {
  const gpu = await runInPage(page, () => window.restoreFrames('gpu', 2), undefined);
  assert.equal(await runInPage(page, () => window.useBackend('wasm'), undefined), 'wasm');
  const cpu = await runInPage(page, () => window.restoreFrames('cpu', 2), undefined);
  await runInPage(page, () => window.useBackend('webgpu'), undefined);
  assert.equal(cpu.backend, 'wasm');
  assert.ok(cpu.readbacks['Tensor.data']! > 0, 'the cpu path reads back (sanity check of the counter)');
  assert.equal(cpu.openFrames, 0, 'VideoFrames left open');
  assert.deepEqual(cpu.timestamps, gpu.timestamps);
  for (let f = 0; f < 2; f++) {
    const a = gpu.pixels[f]!;
    const b = cpu.pixels[f]!;
    let m = 0;
    for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
    assert.ok(m <= 2, `frame ${f}: gpu and cpu restore outputs differ by ${m}/255`);
  }
});
