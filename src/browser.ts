/**
 * simpleir-stream for browsers: everything of the main entry plus the VideoFrame converter and the
 * browser sources and sinks. Importing this entry registers the VideoFrame converter with the `restore`
 * operator (its one side effect, listed in package.json `sideEffects`).
 */
import { registerFrameConverter } from './streams/frames.js';
import { videoFrameConverter } from './adapters/browser/frames/video-frame.js';

export * from './index.js';
export * from './adapters/browser/index.js';

registerFrameConverter(videoFrameConverter);
