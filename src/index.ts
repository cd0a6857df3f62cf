/**
 * simpleir-stream: real-time all-in-one video restoration (rain, snow, low light, blur) with the
 * SimpleIR network in TensorFlow.js, trained with Review Learning. This entry works in browsers and
 * Node; Node-only adapters (files, y4m, training data) are in `simpleir-stream/node`.
 */
export { SimpleIRError, isSimpleIRError, type SimpleIRErrorCode } from './core/errors.js';
export { PRESETS, type SimpleIRConfig, type PresetName } from './core/config.js';
export { SimpleIR, type CreateOptions, type ModelRestoreOptions, type PredictOptions, type InitMode } from './core/model/simpleir.js';
export type { LowLightMode } from './core/model/exposure.js';
export { DEFAULT_WEIGHTS_CACHE, type WeightSource, type WeightSourceOptions } from './core/model/source.js';
export type { WeightManifest, WeightFiles, WeightDType } from './core/weights.js';
export { selectBackend, backendReady, clearBackendCache, currentBackend, type BackendName, type BackendInfo, type BackendOptions, type BackendProbe } from './core/backend.js';
export type { ProbeTiming, ProbeWorkload } from './core/backend-probe.js';
export type { TileOptions } from './core/model/tiling.js';
export type { RGBImage } from './core/image.js';
export { createDegradation, DEGRADATION_KINDS, type Degradation, type DegradationKind, type DegradationOptions, type DegradationParams } from './core/degrade/index.js';
export { psnr, ssim } from './core/quality.js';
export { OfflineTrainer, type OfflineTrainerOptions, type PairSource, type SampleRef, type TaskScore, type Checkpoint } from './core/review/trainer.js';
export { restore, createRestorer, type RestoreOperatorOptions, type RestoreMode, type Restorer, type FramePredictor, type FrameRestoringModel } from './streams/restore.js';
export { registerFrameConverter, type NodeFrame, type FrameConverter, type FrameTensor } from './streams/frames.js';
export type { RestoreMetrics, ModelRuntime } from './streams/metrics.js';
export type { TemporalOption, TemporalStreamOptions } from './streams/temporal.js';
export { pullSource, pullFrom, type PullSource, type PullSubscription, type PullFromSubscription, type PullProducer, type PullOperator } from './streams/pull.js';
export { createOnlineLearner, reviewLearning, ObservableLearner, type ReviewLearningOptions, type TrainingPair, type RemoteLearner } from './streams/review-learning.js';
export { OnlineLearner, type OnlineLearnerOptions, type LearnerEvent, type LearnerStore, type MemoryCounts } from './core/review/online/index.js';
export { exportReplayMemory, importReplayMemory, type ReplayMemoryJSON } from './core/review/replay.js';
