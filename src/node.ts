/**
 * Node-only parts of simpleir-stream: the adapters (image files, y4m and ffmpeg video, learner stores) and
 * the offline trainer's I/O (the photo set, training pairs from photographs, the validation set, checkpoints).
 */
export { readImage, writeImage, imageInfo, listImages, IMAGE_EXTENSIONS, type ImageFileInfo } from './adapters/node/image-file.js';
export type { ColourTags } from './adapters/node/y4m.js';
export { loadPhotoSet, type PhotoSet, type PhotoEntry, type PhotoSplit } from './training/photos.js';
export { createPhotoPairSource, type PhotoPairSource, type PhotoPairOptions, type SampleRecipe } from './training/photo-pairs.js';
export { ValidationSet, type ValidationOptions } from './training/validation-set.js';
export { saveCheckpoint, loadCheckpoint } from './training/checkpoint.js';
export { fromY4m, probeY4m, type FromY4mOptions } from './adapters/node/y4m-source.js';
export type { VideoInfo } from './adapters/node/video-info.js';
export { toY4m, type VideoSinkOptions, type VideoSinkSummary } from './adapters/node/y4m-sink.js';
export { fromFfmpeg } from './adapters/node/ffmpeg-source.js';
export { toFfmpeg, type ToFfmpegOptions } from './adapters/node/ffmpeg-sink.js';
export { probeVideoFile } from './adapters/node/ffmpeg-misc.js';
export { fromImageFiles, type FromImageFilesOptions } from './adapters/node/image-files-source.js';
export { toImageFiles, type ToImageFilesOptions, type ImageFilesSummary } from './adapters/node/image-files-sink.js';
export { frameSink, type FrameWriter } from './adapters/node/frame-sink.js';
export { folderLearnerStore } from './adapters/node/learner-store.js';
