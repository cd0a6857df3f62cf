/** What a saved online learner is made of, and where it is kept (the contract of the adapters' learner stores); writing and reading its snapshot. */
import type * as tf from '@tensorflow/tfjs';
import type { SimpleIRConfig } from '../../config.js';
import { SimpleIRError } from '../../errors.js';
import { decodeWeights, encodeWeights, type WeightFiles } from '../../weights.js';
import type { HardSampleMemory } from '../memory.js';
import { decodeReplayMemory, encodeReplayMemory, exportReplayMemory, type ReplayCrop, type ReplayExportOptions, type ReplayMemoryFiles } from '../replay.js';
import type { SeedSource } from './events.js';

/** The learner's facts in a snapshot (plain JSON). */
export interface LearnerState {
  readonly format: 'simpleir-online-learner';
  readonly version: 1;
  readonly domain: string | null;
  readonly steps: number;
  readonly weightVersion: number;
  readonly seeded: SeedSource;
  /** Domains present before online learning (kept by `reset`). */
  readonly baseDomains: readonly string[];
  readonly savedAt: string;
}

/** Everything `save` writes: weights (a loadable weight file whose metadata ships a bounded pixel memory), the full memory, the state. */
export interface LearnerSnapshot {
  readonly state: LearnerState;
  readonly weights: WeightFiles;
  readonly memory: ReplayMemoryFiles;
}

/** Where a learner is saved and loaded: IndexedDB in the browser, a folder in Node (see the adapters). */
export interface LearnerStore {
  /** Writes a snapshot, replacing the previous one. */
  write(snapshot: LearnerSnapshot): Promise<void>;
  /** The stored snapshot, or `null` when there is none. */
  read(): Promise<LearnerSnapshot | null>;
}

/**
 * A learner's snapshot: its `weights` of `config` as a loadable weight file whose metadata (the model's
 * `metadata` plus the state) ships a bounded pixel memory (`exportOptions`), the full `memory`, and the
 * state: the learner's `facts`, stamped with the format, version and time.
 */
export async function createSnapshot(
  config: SimpleIRConfig,
  metadata: Readonly<Record<string, unknown>>,
  weights: ReadonlyMap<string, tf.Tensor>,
  memory: HardSampleMemory<ReplayCrop>,
  facts: Omit<LearnerState, 'format' | 'version' | 'savedAt'>,
  exportOptions: ReplayExportOptions,
): Promise<LearnerSnapshot> {
  const state: LearnerState = { format: 'simpleir-online-learner', version: 1, ...facts, savedAt: new Date().toISOString() };
  const values = new Map<string, Float32Array>();
  for (const [name, v] of weights) values.set(name, (await v.data()) as Float32Array);
  const fileMetadata = { ...metadata, memory: exportReplayMemory(memory, exportOptions), onlineLearning: state };
  return { state, weights: encodeWeights(config, values, { dtype: 'float32', metadata: fileMetadata }), memory: encodeReplayMemory(memory) };
}

/**
 * The snapshot in `store`, checked and decoded for a model of `config`: its state, weights and memory.
 * @throws SimpleIRError `WEIGHTS_NOT_FOUND` when the store is empty, `CORRUPT_INPUT` when it holds something else, `WEIGHTS_MISMATCH` for another config.
 */
export async function readSnapshot(
  store: LearnerStore,
  config: SimpleIRConfig,
): Promise<{ state: LearnerState; weights: ReadonlyMap<string, Float32Array>; memory: HardSampleMemory<ReplayCrop> }> {
  const snap = await store.read();
  if (!snap) throw new SimpleIRError('WEIGHTS_NOT_FOUND', 'The learner store holds no saved learner; call save() first.');
  if (snap.state?.format !== 'simpleir-online-learner' || snap.state.version !== 1) {
    throw new SimpleIRError('CORRUPT_INPUT', 'The learner store holds something that is not a saved learner (version 1).');
  }
  const decoded = decodeWeights(snap.weights.manifest, snap.weights.data);
  if (JSON.stringify(decoded.config) !== JSON.stringify(config)) {
    throw new SimpleIRError('WEIGHTS_MISMATCH', `The saved learner is for config ${JSON.stringify(decoded.config)}, this model is ${JSON.stringify(config)}.`);
  }
  return { state: snap.state, weights: decoded.tensors, memory: decodeReplayMemory(snap.memory) };
}
