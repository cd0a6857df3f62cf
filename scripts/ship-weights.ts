/**
 * `npm run ship-weights -- --weights RUN/tiny.json --memory-from RUN/state.json --name tiny`: writes
 * weights/NAME.json + NAME.bin (fp16) from a training run's weights, with the run's memory of difficult
 * samples turned into pixel crops (`metadata.memory`, the replay format of docs/online-learning.md) so
 * that online learning can replay earlier domains from the first step.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/core/backend.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { materializeMemory } from '../src/core/review/replay.js';
import type { TrainerState } from '../src/core/review/trainer.js';
import { loadPhotoSet } from '../src/training/photos.js';
import { createPhotoPairSource } from '../src/training/photo-pairs.js';

const { values: args } = parseArgs({
  options: {
    weights: { type: 'string' },
    'memory-from': { type: 'string' },
    name: { type: 'string' },
    out: { type: 'string' },
    'crop-size': { type: 'string' },
    'per-domain': { type: 'string' },
    note: { type: 'string' },
  },
});
if (!args.weights || !args.name) throw new Error('usage: ship-weights --weights RUN/model.json --name tiny [--memory-from RUN/state.json]');
await selectBackend('wasm');
const model = await SimpleIR.load(args.weights);
const metadata: Record<string, unknown> = { ...model.metadata };
if (args['memory-from']) {
  const state = JSON.parse(await readFile(args['memory-from'], 'utf8')) as TrainerState;
  const set = await loadPhotoSet();
  // The pair source of `simpleir train` with its defaults, so the memory's sample references resolve to the same crops.
  const source = await createPhotoPairSource({ files: set.train, seed: state.options.seed });
  metadata.memory = await materializeMemory(state.memory, source, { cropSize: Number(args['crop-size'] ?? 48), perDomain: Number(args['per-domain'] ?? 4) });
  metadata.memoryFrom = args['memory-from'];
}
if (args.note) metadata.note = args.note;
const outDir = args.out ?? 'weights';
await mkdir(outDir, { recursive: true });
const files = model.toWeightFiles({ dtype: 'float16', weightsFile: `${args.name}.bin`, metadata });
await writeFile(join(outDir, `${args.name}.bin`), files.data);
await writeFile(join(outDir, `${args.name}.json`), JSON.stringify(files.manifest));
// The presets built into the package are generated from weights/: keep them in step.
if (resolve(outDir) === resolve('weights')) execFileSync(process.execPath, ['scripts/embed-weights.mjs'], { stdio: 'inherit' });
console.log(`wrote ${join(outDir, args.name)}.{json,bin}: ${files.data.length} bytes of fp16 weights, manifest ${JSON.stringify(files.manifest).length} bytes`);
model.dispose();
