/**
 * `npm run import-torch-weights -- RUN.json --name base [--out weights] [--parity test/fixtures/torch-parity.json]`:
 * turns a run of the PyTorch training mirror (scripts/gpu/train_gpu.py, used on borrowed GPUs) into a
 * SimpleIR weight file: weights/NAME.json + NAME.bin in float16, with the run's replay memory as
 * `metadata.memory` (docs/online-learning.md) and its plan, validation log and (runs with issue 15's
 * options) its report of the initial and final weights (`reportTorch`) as metadata. With
 * `--parity`, also records the run's parity fixture (a fixed input and the PyTorch output on the
 * float16-rounded weights), which test/torch-parity.test.ts checks against the TypeScript network.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { paramSpecs, validateConfig } from '../src/core/config.js';
import { importReplayMemory, isReplayMemoryJSON } from '../src/core/review/replay.js';
import { encodeWeights } from '../src/core/weights.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, out: { type: 'string' }, parity: { type: 'string' }, note: { type: 'string' } },
});
const runFile = positionals[0];
if (!runFile || !args.name) throw new Error('usage: import-torch-weights RUN.json --name NAME [--out weights] [--parity FILE] [--note TEXT]');

interface Encoded { shape: number[]; data: string }
interface TorchRun {
  format: string; name: string; preset: string; config: unknown; args: Record<string, unknown>; device: string; torch: string;
  plan: unknown[]; steps: number; seconds: number; curve: unknown[]; validation: unknown[];
  weights: Record<string, Encoded>; memory: unknown; parity: { input: Encoded; output: Encoded }; report?: unknown;
  /** Set by scripts/gpu/average_runs.py: the run is (1 - alpha) a + alpha b. */
  average?: { a: string; b: string; alpha: number };
}
const run = JSON.parse(await readFile(runFile, 'utf8')) as TorchRun;
if (run.format !== 'simpleir-torch-run') throw new Error(`${runFile} is not a run of scripts/gpu/train_gpu.py`);
const config = validateConfig(run.config);
const floats = (e: Encoded): Float32Array => {
  const bytes = Buffer.from(e.data, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const tensors = new Map<string, Float32Array>();
for (const spec of paramSpecs(config)) {
  const e = run.weights[spec.name];
  if (!e || e.shape.join(',') !== spec.shape.join(',')) throw new Error(`${spec.name}: shape ${e?.shape} in the run, [${spec.shape}] expected`);
  const v = floats(e);
  if (!v.every(Number.isFinite)) throw new Error(`${spec.name} holds NaN or Inf`);
  tensors.set(spec.name, v);
}
if (!isReplayMemoryJSON(run.memory)) throw new Error('the run has no valid replay memory');
const memoryEntries = importReplayMemory(run.memory).length;
const a = run.args;
const metadata = {
  preset: run.preset,
  strategy: a.strategy,
  tasks: String(a.tasks).split(','),
  steps: run.steps,
  batchSize: a.batch,
  cropSize: a.crop,
  poolSize: a.pool,
  reviewQuantity: a.q,
  rho0: a.rho0,
  reviewShare: a.share_kind,
  learningRate: a.lr,
  stageWeights: a.stage_weights,
  plan: run.plan,
  trainedWith: `scripts/gpu/train_gpu.py (PyTorch ${run.torch} mirror of the TypeScript trainer) on ${run.device}`,
  trainingSeconds: Math.round(run.seconds),
  validationTorch: run.validation,
  curve: run.curve,
  memory: run.memory,
  ...(run.report ? { reportTorch: run.report } : {}),
  ...(run.average ? { averagedFrom: run.average } : {}),
  ...(args.note ? { note: args.note } : {}),
};
const outDir = args.out ?? 'weights';
await mkdir(outDir, { recursive: true });
const files = encodeWeights(config, tensors, { dtype: 'float16', weightsFile: `${args.name}.bin`, metadata });
await writeFile(join(outDir, `${args.name}.bin`), files.data);
await writeFile(join(outDir, `${args.name}.json`), JSON.stringify(files.manifest));
// The presets built into the package are generated from weights/: keep them in step.
if (resolve(outDir) === resolve('weights')) execFileSync(process.execPath, ['scripts/embed-weights.mjs'], { stdio: 'inherit' });
console.log(`wrote ${join(outDir, args.name)}.{json,bin}: ${run.preset}, ${run.steps} steps, ${memoryEntries} replay crops`);
if (args.parity) {
  let fixtures: Record<string, unknown> = {};
  try {
    fixtures = JSON.parse(await readFile(args.parity, 'utf8')) as Record<string, unknown>;
  } catch {
    // a new fixture file
  }
  fixtures[args.name] = { weights: `${args.name}`, checksum: files.manifest.checksum, input: run.parity.input, output: run.parity.output };
  await mkdir(dirname(args.parity), { recursive: true });
  await writeFile(args.parity, JSON.stringify(fixtures));
  console.log(`parity fixture for ${args.name} written to ${args.parity}`);
}
