/**
 * `npm run evaluate -- --model tiny|base|PATH [--size 1920x1080] [--tasks ...] [--strengths 0,0.5,1]`:
 * quality of a model on the held-out validation photographs (seeds distinct from training): PSNR and
 * SSIM of degraded and restored frames per task at each strength (0 and 1 are the edges of the
 * training range) and over all, printed as Markdown tables and written to
 * bench/results/quality-<model>-<size>-<date>.json.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/core/backend.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { trainingPhotosOrExit } from '../src/cli/photos.js';
import { ValidationSet } from '../src/training/validation-set.js';

const { values: args } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string' }, tasks: { type: 'string' }, strengths: { type: 'string' }, out: { type: 'string' } } });
const modelSpec = args.model ?? 'tiny';
const [width, height] = (args.size ?? '1920x1080').split('x').map(Number) as [number, number];
const tasks = (args.tasks ?? 'rain,snow,lowlight,blur').split(',');
await selectBackend('wasm');
const model = await SimpleIR.load(modelSpec);
const set = await trainingPhotosOrExit();
const t0 = Date.now();
const strengths = (args.strengths ?? '0,0.5,1').split(',').map(Number);
const validation = await ValidationSet.create({ files: set.val, tasks, width, height, strengths });
const scores = validation.evaluate(model.config, model.params);
const byStrength = validation.evaluateByStrength(model.config, model.params, { ssim: false });
const seconds = (Date.now() - t0) / 1000;
const rows = tasks.map((t) => {
  const s = scores[t]!;
  return { task: t, psnrDegraded: s.psnrDegraded, psnr: s.psnr, gain: s.psnr - s.psnrDegraded, ssimDegraded: s.ssimDegraded!, ssim: s.ssim! };
});
const mean = rows.reduce((a, r) => a + r.gain, 0) / rows.length;
const name = ['tiny', 'base'].includes(modelSpec) ? modelSpec : basename(modelSpec);
console.log(`\n${name} on ${set.val.length} held-out photos at ${width}x${height} (backend ${tf.getBackend()}, ${seconds.toFixed(0)} s):\n`);
console.log('| task | PSNR degraded | PSNR restored | gain dB | SSIM degraded | SSIM restored |\n|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.task} | ${r.psnrDegraded.toFixed(2)} | ${r.psnr.toFixed(2)} | ${r.gain >= 0 ? '+' : ''}${r.gain.toFixed(2)} | ${r.ssimDegraded.toFixed(3)} | ${r.ssim.toFixed(3)} |`);
console.log(`| mean | | | ${mean >= 0 ? '+' : ''}${mean.toFixed(2)} | | |`);
console.log(`\nPSNR gain (dB) by degradation strength:\n\n| task | ${strengths.map((s) => `strength ${s}`).join(' | ')} |\n|---|${strengths.map(() => '---:').join('|')}|`);
for (const t of tasks) {
  console.log(`| ${t} | ${strengths.map((s) => { const v = byStrength[t]![String(s)]!; const g = v.psnr - v.psnrDegraded; return `${v.psnrDegraded.toFixed(1)} → ${v.psnr.toFixed(1)} (${g >= 0 ? '+' : ''}${g.toFixed(2)})`; }).join(' | ')} |`);
}
const outDir = args.out ?? 'bench/results';
await mkdir(outDir, { recursive: true });
const file = join(outDir, `quality-${name.replace(/\.json$/, '')}-${width}x${height}-${new Date().toISOString().slice(0, 10)}.json`);
await writeFile(file, JSON.stringify({ model: modelSpec, metadata: model.metadata.steps !== undefined ? { steps: model.metadata.steps, strategy: model.metadata.strategy, trainingHours: model.metadata.trainingHours } : {}, width, height, strengths, photos: set.val.map((f) => basename(f)), rows, meanGain: mean, byStrength }, null, 2));
console.log(`\nwritten ${file}`);
validation.dispose();
model.dispose();
