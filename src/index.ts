/**
 * simpleir-stream: real-time all-in-one video restoration (rain, snow, low light, blur) with the
 * SimpleIR network in TensorFlow.js, trained with Review Learning. This entry works in browsers and
 * Node; Node-only adapters (files, y4m, training data) are in `simpleir-stream/node`.
 */
export { SimpleIRError, isSimpleIRError, type SimpleIRErrorCode } from './core/errors.js';
export { PRESETS, paramCount, flopsPerPixel, validateConfig, type SimpleIRConfig, type PresetName } from './core/config.js';
export { SimpleIR, type CreateOptions, type RestoreOptions, type InitMode } from './core/model/simpleir.js';
export type { PredictOptions } from './core/model/simpleir.js';
export type { LowLightMode } from './core/model/exposure.js';
export { DEFAULT_WEIGHTS_CACHE, type WeightSource, type WeightSourceOptions } from './core/model/source.js';
export { encodeWeights, decodeWeights, packWeights, unpackWeights, type WeightManifest, type WeightFiles, type WeightDType } from './core/weights.js';
export { selectBackend, backendReady, clearBackendCache, currentBackend, BACKEND_ORDER, type BackendName, type BackendInfo, type BackendOptions, type BackendProbe } from './core/backend.js';
export { PROBE_PIXELS, type ProbeTiming, type ProbeWorkload } from './core/backend-probe.js';
export type { TileOptions } from './core/tiling.js';
export { validateImage, type RGBImage } from './core/image.js';
export { createDegradation, DEGRADATION_KINDS, rain, snow, lowlight, blur, haze, noise, type Degradation, type DegradationKind, type DegradationOptions } from './core/degrade/index.js';
export { psnr, ssim } from './core/metrics.js';
export { ReviewTrainer, type TrainerOptions, type PairSource, type SampleRef, type TaskScore, type Checkpoint } from './core/review/trainer.js';
export { HardSampleMemory, LossHistory } from './core/review/index.js';
export { restore, createRestorer, type RestoreStreamOptions, type RestoreMode, type Restorer, type FramePredictor } from './streams/restore.js';
export { nodeFrameConverter, registerFrameConverter, selectFrameConverter, type NodeFrame, type NodeFrameInfo, type FrameConverter, type FrameTensor } from './streams/frames.js';
export type { RestoreMetrics } from './streams/metrics.js';
export type { TemporalOption, TemporalStreamOptions } from './streams/temporal.js';
export { TemporalFilter, type TemporalFilterOptions } from './core/temporal/index.js';
export { pullSource, isPullSource, type PullSource, type PullSubscription, type PullProducer } from './streams/pull.js';
export { createReviewLearner, reviewLearning, ReviewLearner, type ReviewLearningOptions, type TrainingPair } from './streams/review-learning.js';
export { OnlineReviewLearner, type ReviewLearnerOptions, type LearnerEvent, type LearnerStore } from './core/review/online.js';
export { exportReplayMemory, importReplayMemory, type ReplayMemoryJSON } from './core/review/replay.js';
