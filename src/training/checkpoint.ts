/**
 * Training checkpoints in a folder (Node): trainer state as JSON, weights in the SimpleIR weight format
 * (fp32), Adam moments as one binary. Each file is written to a temporary name and renamed, so an
 * interrupted save never leaves a half-written checkpoint.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, SimpleIRError } from '../core/errors.js';
import { checkPath, writeAtomic } from '../adapters/node/files.js';
import type { Checkpoint, TrainerState } from '../core/review/trainer.js';
import { decodeWeights, encodeWeights } from '../core/weights.js';

/** Writes a checkpoint into `dir` (created if needed). */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  checkPath('saveCheckpoint(dir, checkpoint)', dir, 'a folder path');
  if (typeof ckpt?.state?.options !== 'object' || !(ckpt.weights instanceof Map) || !Array.isArray(ckpt.optimizer)) {
    throw invalidArgument('saveCheckpoint(dir, checkpoint)', 'a checkpoint { state, weights, optimizer } from trainer.checkpoint()', ckpt);
  }
  await mkdir(dir, { recursive: true });
  const { manifest, data } = encodeWeights(ckpt.state.options.config, ckpt.weights, { dtype: 'float32', weightsFile: 'weights.bin' });
  let offset = 0;
  const entries = ckpt.optimizer.map((o) => {
    const e = { name: o.name, shape: o.shape, offset, length: o.values.length };
    offset += o.values.length;
    return e;
  });
  const opt = new Float32Array(offset);
  ckpt.optimizer.forEach((o, i) => opt.set(o.values, entries[i]!.offset));
  await writeAtomic(join(dir, 'weights.bin'), data);
  await writeAtomic(join(dir, 'weights.json'), JSON.stringify(manifest));
  await writeAtomic(join(dir, 'optimizer.bin'), new Uint8Array(opt.buffer));
  await writeAtomic(join(dir, 'optimizer.json'), JSON.stringify(entries));
  // The state goes last: it is what marks the checkpoint complete.
  await writeAtomic(join(dir, 'state.json'), JSON.stringify(ckpt.state));
}

/** Reads the checkpoint in `dir`, or returns null when there is none. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | null> {
  checkPath('loadCheckpoint(dir)', dir, 'a folder path');
  let stateText: string;
  try {
    stateText = await readFile(join(dir, 'state.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    const state = JSON.parse(stateText) as TrainerState;
    const manifest = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8'));
    const decoded = decodeWeights(manifest, await readFile(join(dir, 'weights.bin')));
    const entries = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8')) as { name: string; shape: number[]; offset: number; length: number }[];
    const buf = await readFile(join(dir, 'optimizer.bin'));
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const optimizer = entries.map((e) => ({ name: e.name, shape: e.shape, values: all.slice(e.offset, e.offset + e.length) }));
    return { state, weights: new Map(decoded.tensors), optimizer };
  } catch (e) {
    if (e instanceof SimpleIRError) throw e;
    throw new SimpleIRError('CORRUPT_INPUT', `The checkpoint in ${dir} is damaged (${(e as Error).message}); delete it or pass --fresh.`, { dir }, { cause: e });
  }
}
