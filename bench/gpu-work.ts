/**
 * `npm run bench:gpu-work`: the WebGPU work of restoring one frame already on the GPU (compute
 * dispatches, buffers created, bytes written to the GPU, bytes read back), per preset and frame size,
 * in headless Chromium (WebGPU on SwiftShader here: the counts are deterministic, the times are not
 * meaningful). One warm-up frame, then `--frames` counted frames. Prints a table and writes
 * bench/results/gpu-work-<date>[-label].json. Unless `--compute`, a dry run: every dispatch is counted
 * but issued with zero workgroups (the same counts, checked by test/browser/gpu-work.test.ts; a 1080p
 * frame of `tiny` computed on SwiftShader takes over ten minutes here).
 *
 * Options: --presets tiny,base  --sizes 1920x1080,1280x720  --frames 1  --compute  --out bench/results  --label NAME
 *          --tile-size auto|N (the restore's `tileSize`)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBrowserFixture, runInPage } from '../test/browser/harness';
import type { FrameWork } from './gpu-work-page';
import type { PresetName } from '../src/core/config';
import { freshResultBase, resultDate } from './result-file.js';

const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'tiny,base' },
    sizes: { type: 'string', default: '1920x1080,1280x720' },
    frames: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench/results' },
    label: { type: 'string' },
    compute: { type: 'boolean', default: false },
    'tile-size': { type: 'string', default: 'auto' },
  },
});
const presets = args.presets.split(',') as PresetName[];
const sizes = args.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const frames = Number(args.frames);

const fx = await createBrowserFixture();
const results: FrameWork[] = [];
try {
  const page = await fx.open('/blank.html', { entry: 'bench/gpu-work-page.ts' });
  for (const preset of presets) {
    for (const [width, height] of sizes) {
      process.stderr.write(`# ${preset} ${width}x${height}...\n`);
      const r = await runInPage(page, (a) => window.countFrameWork(a), { preset, width, height, frames, dryRun: !args.compute, tileSize: args['tile-size'] === 'auto' ? ('auto' as const) : Number(args['tile-size']) }, { timeoutMs: 1_800_000 });
      results.push(r);
      process.stderr.write(`#   warm-up ${(r.warmMs / 1000).toFixed(1)} s, counted frames ${r.ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s\n`);
    }
  }
} finally {
  await fx.close();
}

console.log(`adapter: ${results[0]?.adapter ?? '?'}${results[0]?.fallbackAdapter ? ' (fallback adapter)' : ''}`);
console.log(`\n| preset | size | tileSize | dispatches | buffers created | bytes written | bytes read back | submits | s/frame${args.compute ? '' : ' (dry run)'} |\n|---|---|---|---:|---:|---:|---:|---:|---:|`);
for (const r of results) {
  const w = r.frames[r.frames.length - 1]!;
  console.log(`| ${r.preset} | ${r.width}x${r.height} | ${r.tileSize} | ${w.dispatches} | ${w.buffersCreated} | ${w.bytesWritten} | ${w.bytesRead} | ${w.submits} | ${(r.ms[r.ms.length - 1]! / 1000).toFixed(1)} |`);
}
const date = resultDate();
await mkdir(args.out, { recursive: true });
const file = `${freshResultBase(args.out, `gpu-work-${date}${args.label ? `-${args.label}` : ''}`)}.json`;
await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), label: args.label, results }, null, 2)}\n`);
console.log(`\nwrote ${file}`);
