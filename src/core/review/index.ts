/** Review Learning bookkeeping (loss history, hard-sample memory, schedules, task order), shared by the offline trainer and the online learner. */

export { LossHistory } from './history.js';
export type { LossHistoryOptions, LossHistoryJSON, SpreadMeasure } from './history.js';
export { HardSampleMemory, selectForMemory } from './memory.js';
export type { HardSampleMemoryOptions, HardSampleMemoryJSON, MemoryEntry, MemorySample, MemorySelection } from './memory.js';
export { reviewShare, batchComposition, cosineLr, planStages, STRATEGY_NAMES, STRATEGY_DESCRIPTIONS } from './schedule.js';
export type { ReviewShareKind, BatchComposition, CosineLrOptions, StrategyName, StagePlan, PlanOptions } from './schedule.js';
export { entropyDifference, orderTasksByDifficulty, validateTaskOrder } from './order.js';
export type { TaskEntropyStats } from './order.js';
