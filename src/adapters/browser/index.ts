/** Browser adapters: the VideoFrame converter, sources and sinks of frames (MP4 files, cameras and media streams, video elements, canvases), and the model in a worker. */
export { createVideoFrameConverter, type BrowserFrame, type FramePath, type VideoFrameConverterOptions, type VideoFrameInfo } from './frames/video-frame.js';
export { fromMp4, type Mp4Source, type Mp4SourceOptions } from './mp4-source.js';
export { toMp4, type Mp4SinkOptions, type Mp4WriteSummary } from './mp4-sink.js';
export type { Mp4Info, Mp4TrackKind, Mp4VideoTrack, Mp4AudioTrack, PixelAspectRatio } from './mp4-demuxer.js';
export type { Mp4Input } from './mp4-reader.js';
export { fromMediaStream, fromCamera, type MediaStreamSourceOptions, type MediaStreamReadMethod } from './media-stream-source.js';
export { fromVideoElement, type VideoElementSourceOptions } from './video-element-source.js';
export { toCanvas, type CanvasSinkOptions } from './canvas-sink.js';
export { toMediaStreamTrack, type MediaStreamTrackSink, type MediaStreamSinkOptions, type TrackSinkMethod } from './media-stream-sink.js';
export { indexedDbLearnerStore, deleteIndexedDbLearner } from './learner-store.js';
export { loadWorkerModel, WorkerModel, WorkerLearner, type WorkerModelOptions } from './worker/worker-model.js';
