/**
 * A folder that holds a saved online learner (Node): `weights.json` + `weights.bin` (a weight file
 * `SimpleIR.load` reads, shipping a bounded pixel memory in its metadata), `memory.json` + `memory.bin`
 * (the whole memory) and `learner.json` (the state, written last: it marks the save complete).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SimpleIRError } from '../../core/errors.js';
import { checkPath, writeAtomic } from './files.js';
import type { LearnerSnapshot, LearnerState, LearnerStore } from '../../core/review/online/index.js';
import type { ReplayMemoryFiles } from '../../core/review/replay.js';
import type { WeightManifest } from '../../core/weights.js';

/**
 * A {@link LearnerStore} in folder `dir` (created on save). `learner.save(folderLearnerStore('adapted'))`,
 * later `learner.load(folderLearnerStore('adapted'))`; `SimpleIR.load('adapted/weights.json')` also works.
 */
export function folderLearnerStore(dir: string): LearnerStore {
  checkPath('folderLearnerStore(dir)', dir, 'a folder path');
  return {
    async write(snapshot: LearnerSnapshot): Promise<void> {
      await mkdir(dir, { recursive: true });
      const manifest = { ...snapshot.weights.manifest, weightsFile: 'weights.bin' };
      await writeAtomic(join(dir, 'weights.bin'), snapshot.weights.data);
      await writeAtomic(join(dir, 'weights.json'), JSON.stringify(manifest));
      await writeAtomic(join(dir, 'memory.bin'), snapshot.memory.data);
      await writeAtomic(join(dir, 'memory.json'), JSON.stringify(snapshot.memory.index));
      await writeAtomic(join(dir, 'learner.json'), JSON.stringify(snapshot.state, null, 1));
    },
    async read(): Promise<LearnerSnapshot | null> {
      let stateText: string;
      try {
        stateText = await readFile(join(dir, 'learner.json'), 'utf8');
      } catch {
        return null;
      }
      try {
        const state = JSON.parse(stateText) as LearnerState;
        const manifest = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8')) as WeightManifest;
        const data = new Uint8Array(await readFile(join(dir, 'weights.bin')));
        const index = JSON.parse(await readFile(join(dir, 'memory.json'), 'utf8')) as ReplayMemoryFiles['index'];
        const memoryData = new Uint8Array(await readFile(join(dir, 'memory.bin')));
        return { state, weights: { manifest, data }, memory: { index, data: memoryData } };
      } catch (e) {
        throw new SimpleIRError('CORRUPT_INPUT', `The saved learner in ${dir} is incomplete or damaged (${(e as Error).message}); save it again.`, { dir }, { cause: e });
      }
    },
  };
}
