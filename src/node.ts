/** Node-only adapters of simpleir-stream: image files, y4m video, photo sets, training data and checkpoints. */
export { readImage, writeImage, IMAGE_EXTENSIONS } from './adapters/node/image-file.js';
export { readY4m, createY4mWriter, yuv420ToRgb, rgbToYuv420 } from './adapters/node/y4m.js';
export { listImages, loadPhotoSet } from './adapters/node/photos.js';
export { createPhotoPairSource, PhotoPairSource, ValidationSet } from './adapters/node/train-data.js';
export { saveCheckpoint, loadCheckpoint } from './adapters/node/checkpoint.js';
