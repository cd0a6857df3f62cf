/** What a saved online learner is made of, and where it is kept: the contract of the adapters' learner stores. */
import type { WeightFiles } from '../../weights.js';
import type { ReplayMemoryFiles } from '../replay.js';
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
