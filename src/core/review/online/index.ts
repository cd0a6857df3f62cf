/** The online Review Learning learner: its options, events, store contract and the learner itself. */
export { OnlineLearner } from './learner.js';
export type { BudgetStats } from './budget.js';
export type { LearnableModel } from './weights.js';
export { resolveLearnerOptions, type ResolvedLearnerOptions, type OnlineLearnerOptions } from './options.js';
export type { DomainEvent, HardSampleEvent, LearnerEvent, LearnerListener, MemoryCounts, SeedSource, StepEvent, SwapEvent } from './events.js';
export type { LearnerSnapshot, LearnerState, LearnerStore } from './store.js';
