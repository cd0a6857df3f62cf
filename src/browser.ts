/**
 * simpleir-stream for browsers: everything of the main entry plus the VideoFrame converter (registered
 * with the `restore` operator on import) and the browser sources and sinks.
 */
export * from './index.js';
export { createVideoFrameConverter, videoFrameConverter, isBrowserFrame, frameTimestamp, type BrowserFrame, type FramePath, type VideoFrameConverterOptions, type VideoFrameInfo } from './adapters/browser/frames/video-frame.js';
export * from './adapters/browser/index.js';
