/**
 * `npm run bench -- --peer`: the SDK (tfjs, wasm backend) against ONNX Runtime (onnxruntime-node, CPU)
 * on the same network, weights and frames: a validation photograph resized to 1280x720 (`tiny`) and
 * 1920x1080 (`base`), whole frames (no tiling). Both sides include the SDK's padding and cropping; ORT
 * runs weights/<preset>.onnx through the CLI's engine (src/adapters/node/ort-engine.ts) with 1 and 2
 * intra-op threads (tfjs's wasm backend runs 1 thread in Node). Runs alternate SDK / ORT 1 / ORT 2,
 * after a warm-up of each, and each figure is the median; the ratio SDK time / ORT time is taken
 * within the run. Also reports the largest output difference. Prints a table and writes
 * bench/results/peer-<date>-<host>.json. `--reps N` (default 5), `--quick` (3 reps, tiny only).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { selectBackend } from '../src/core/backend.js';
import type { PresetName } from '../src/core/config.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { OrtEngine } from '../src/adapters/node/ort-engine.js';
import { freshResultBase, resultDate } from './result-file.js';

const { values: args } = parseArgs({ options: { peer: { type: 'boolean' }, quick: { type: 'boolean' }, reps: { type: 'string' }, out: { type: 'string' } } });
const reps = Number(args.reps ?? (args.quick ? 3 : 5));
const PHOTO = '.cache/photos/val/mate-LadyBird.jpg';
if (!existsSync(PHOTO)) throw new Error(`${PHOTO} is missing: run npm run fetch-photos`);

const cases: { preset: PresetName; width: number; height: number }[] = [
  { preset: 'tiny', width: 1280, height: 720 },
  ...(args.quick ? [] : [{ preset: 'base' as const, width: 1920, height: 1080 }]),
];
const THREADS = [1, 2] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function frame(width: number, height: number): Promise<tf.Tensor4D> {
  const { data } = await sharp(PHOTO).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return tf.tidy(() => tf.div(tf.tensor4d(Int32Array.from(data), [1, height, width, 3], 'int32').toFloat(), 255) as tf.Tensor4D);
}

await selectBackend('wasm');
interface Row { preset: PresetName; size: string; sdkMs: number; ortMs: Record<number, number>; ratio: Record<number, number>; maxAbsDiff: number; sdkRuns: number[]; ortRuns: Record<number, number[]> }
const rows: Row[] = [];
for (const c of cases) {
  const x = await frame(c.width, c.height);
  const model = await SimpleIR.load(c.preset);
  const engines = new Map<number, OrtEngine>();
  for (const t of THREADS) engines.set(t, await OrtEngine.load(c.preset, { threads: t }));
  const sdk = async (): Promise<tf.Tensor4D> => {
    const y = model.predict(x, { tileSize: 0 });
    await y.data();
    return y;
  };
  const ort = async (t: number): Promise<tf.Tensor4D> => {
    const y = await engines.get(t)!.predict(x);
    await y.data();
    return y;
  };
  const timed = async (fn: () => Promise<tf.Tensor4D>): Promise<number> => {
    const t0 = performance.now();
    (await fn()).dispose();
    return performance.now() - t0;
  };
  // Warm-up, and the outputs compared.
  const a = await sdk();
  const b = await ort(1);
  const maxAbsDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  tf.dispose([a, b]);
  (await ort(2)).dispose();
  const sdkRuns: number[] = [];
  const ortRuns: Record<number, number[]> = { 1: [], 2: [] };
  for (let i = 0; i < reps; i++) {
    sdkRuns.push(await timed(sdk));
    for (const t of THREADS) ortRuns[t]!.push(await timed(() => ort(t)));
  }
  const sdkMs = median(sdkRuns);
  const ortMs = Object.fromEntries(THREADS.map((t) => [t, median(ortRuns[t]!)]));
  const ratio = Object.fromEntries(THREADS.map((t) => [t, sdkMs / ortMs[t]!]));
  rows.push({ preset: c.preset, size: `${c.width}x${c.height}`, sdkMs, ortMs, ratio, maxAbsDiff, sdkRuns, ortRuns });
  process.stderr.write(`${c.preset} ${c.width}x${c.height}: SDK ${sdkMs.toFixed(0)} ms, ORT 1 thr ${ortMs[1]!.toFixed(0)} ms, 2 thr ${ortMs[2]!.toFixed(0)} ms, max |diff| ${maxAbsDiff.toExponential(1)}\n`);
  x.dispose();
  model.dispose();
  for (const e of engines.values()) await e.dispose();
}

const load = loadavg()[0]!;
console.log(`\nmachine ${hostname()}, ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}, load average ${load.toFixed(2)}; medians of ${reps} alternating runs`);
console.log('\n| preset | frame | SDK tfjs-wasm (1 thread) ms | ORT 1 thread ms | ORT 2 threads ms | SDK/ORT 1 thr | SDK/ORT 2 thr | max abs diff |\n|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.preset} | ${r.size} | ${r.sdkMs.toFixed(0)} | ${r.ortMs[1]!.toFixed(0)} | ${r.ortMs[2]!.toFixed(0)} | ${r.ratio[1]!.toFixed(2)}x | ${r.ratio[2]!.toFixed(2)}x | ${r.maxAbsDiff.toExponential(1)} |`);
}
const date = resultDate();
const outDir = args.out ?? 'bench/results';
await mkdir(outDir, { recursive: true });
const file = `${freshResultBase(outDir, `peer-${date}-${hostname()}${args.quick ? '-quick' : ''}`)}.json`;
await writeFile(file, JSON.stringify({ date, machine: { host: hostname(), cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverage1m: load }, reps, sdk: 'tfjs 4.22 wasm backend (SIMD, 1 thread in Node)', ort: 'onnxruntime-node 1.31.1, CPU EP, graph optimisation all', rows }, null, 2));
console.log(`written ${file}`);
