/** The `simpleir degrade` and `simpleir train` verbs, end to end through the CLI. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { syntheticScene } from '../src/core/degrade/index.js';
import { psnr } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { readImage, writeImage } from '../src/adapters/node/image-file.js';

const run = promisify(execFile);
let dir: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/simpleir.ts', ...args], { timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const toTensor = (img: { data: Uint8Array | Uint8ClampedArray; width: number; height: number }): tf.Tensor3D =>
  tf.tidy(() => tf.div(tf.cast(tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);

before(async () => {
  await selectBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-cli-'));
  for (let i = 0; i < 3; i++) {
    const scene = syntheticScene(96, 128, i + 1);
    const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(scene, 255)), 'int32'));
    await writeImage(join(dir, 'photos', `p${i}.png`), { data: Uint8Array.from(bytes.dataSync()), width: 128, height: 96, channels: 3 });
    tf.dispose([scene, bytes]);
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('degrade writes a degraded image whose PSNR against the clean one is moderate, and is deterministic', async () => {
  const input = join(dir, 'photos', 'p0.png');
  const a = await cli(['degrade', input, '-o', join(dir, 'rain-a.png'), '--kind', 'rain', '--seed', '3', '--strength', '0.8']);
  assert.equal(a.code, 0, a.stderr);
  const b = await cli(['degrade', input, '-o', join(dir, 'rain-b.png'), '--kind', 'rain', '--seed', '3', '--strength', '0.8']);
  assert.equal(b.code, 0, b.stderr);
  const clean = toTensor(await readImage(input));
  const ra = await readImage(join(dir, 'rain-a.png'));
  const rb = await readImage(join(dir, 'rain-b.png'));
  assert.deepEqual(ra.data, rb.data, 'same seed, same output');
  const p = psnr(toTensor(ra), clean);
  assert.ok(p > 8 && p < 38, `rain PSNR ${p}`);
});

test('degrade rejects an unknown kind and a bad strength with one error line and a non-zero exit', async () => {
  const input = join(dir, 'photos', 'p0.png');
  const bad = await cli(['degrade', input, '-o', join(dir, 'x.png'), '--kind', 'fog']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /simpleir: error.*--kind must be one of rain, snow/);
  const bad2 = await cli(['degrade', input, '-o', join(dir, 'x.png'), '--kind', 'rain', '--strength', '3']);
  assert.notEqual(bad2.code, 0);
  assert.match(bad2.stderr, /--strength 3 is not valid/);
});

test('train on a folder of photos writes checkpoints, a report and loadable weights, and resumes', async () => {
  const out = join(dir, 'run');
  const args = ['train', '--clean', join(dir, 'photos'), '-o', out, '--preset', 'tiny', '--tasks', 'rain,lowlight', '--order', 'given', '--steps', '4', '--batch', '2', '--crop', '32', '--pool', '8', '--val', join(dir, 'photos'), '--val-size', '64x48', '--checkpoint-every', '1'];
  const first = await cli([...args, '--max-steps', '2']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /stopped at step 2 of 4/);
  const second = await cli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resuming from .* at step 2/);
  assert.match(second.stderr, /done: 4 steps/);
  const state = JSON.parse(await readFile(join(out, 'state.json'), 'utf8'));
  assert.equal(state.step, 4);
  assert.deepEqual(state.options.tasks, ['rain', 'lowlight']);
  assert.equal(state.validation.length, 3, 'validated at start and after each stage');
  assert.ok((await stat(join(out, 'report.html'))).size > 1000);
  const model = await SimpleIR.load(join(out, 'model.json'));
  assert.equal(model.paramCount, 22356);
  assert.equal(model.metadata.strategy, 'review');
  model.dispose();
});

test('train rejects a bad strategy and an unknown task', async () => {
  const r = await cli(['train', '--clean', join(dir, 'photos'), '-o', join(dir, 'bad'), '--strategy', 'greedy']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--strategy must be one of review, sequential, mixed, random-review/);
  const t = await cli(['train', '--clean', join(dir, 'photos'), '-o', join(dir, 'bad'), '--tasks', 'rain,fog']);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /fog/);
});
