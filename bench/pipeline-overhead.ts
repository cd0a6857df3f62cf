/**
 * Pipeline overhead of the browser bench: what the page measures (`PipelineTiming`: MP4 decode ->
 * restore -> encode against restore alone on the same decoded frames) and the row computed from it.
 * Pure functions, so that Node tests can check the arithmetic without a browser.
 */

/** Raw timings of `window.benchPipeline` (bench/browser-page.ts); every array holds one value per timed run. */
export interface PipelineTiming {
  backend: string;
  preset: string;
  /** `WxH` of the clip. */
  size: string;
  codec: string;
  /** Frames decoded from the clip: the frames each run handles. */
  frames: number;
  /** The wasm backend's thread count (0 on other backends). */
  threads: number;
  /** One untimed run of each, first (ms). */
  warmup: { pipelineMs: number; restoreMs: number };
  /** fromMp4 -> restore -> toMp4 until the Blob (ms). */
  pipelineMs: number[];
  /** restore alone over copies of the decoded frames, outputs closed (ms). */
  restoreMs: number[];
  /** fromMp4 alone, frames closed (ms). */
  decodeMs: number[];
  /** toMp4 alone over copies of restored frames, until the Blob (ms). */
  encodeMs: number[];
  /** Decode alone: from subscribing to the first frame (demux of the header, decoder set-up, first decode), ms. */
  firstFrameMs: number[];
  /** Pipeline: from restore's last frame to the Blob (the last frames' encoding, flush, muxing, audio copy), ms. */
  tailMs: number[];
  /** Frames in each pipeline run's output MP4 (read back with fromMp4). */
  framesOut: number[];
  /** Frames that came out of each restore-only run. */
  restoredFrames: number[];
  /** The restore operator's last metrics of each pipeline run: frames in and out. */
  pipelineMetrics: { framesIn: number; framesOut: number; dropped: number; errors: number }[];
  /** Size of the last pipeline output (bytes). */
  outputBytes: number;
}

/** One line of the pipeline-overhead table. */
export interface PipelineRow {
  backend: string;
  preset: string;
  size: string;
  frames: number;
  runs: number;
  pipelineFps: number;
  restoreFps: number;
  /** restore-only fps / pipeline fps - 1, from the medians (0.1 = 10 %). */
  overhead: number;
  /** Median of the per-run ratios pipelineMs[i] / restoreMs[i] - 1 (runs alternate, so each pair saw similar load). */
  pairedOverhead: number;
  /** Median ms per frame of each part. */
  msPerFrame: { pipeline: number; restore: number; decode: number; encode: number };
  /** Median ms of the pipeline's start (decode alone until its first frame) and end (restore's last frame to the Blob): work that overlaps nothing. */
  startMs: number;
  tailMs: number;
  /** Pipeline time per frame beyond restore + decode + encode run one after the other (negative: they overlap). */
  unaccountedMsPerFrame: number;
  /** Every run's output had every frame, and every restore-only run gave every frame back. */
  framesMatch: boolean;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The table row of one measurement: medians of the timed runs, fps, overhead, per-frame parts. */
export function pipelineRow(t: PipelineTiming): PipelineRow {
  const runs = Math.min(t.pipelineMs.length, t.restoreMs.length);
  if (runs === 0 || t.frames <= 0) throw new Error(`pipelineRow: no timed runs or no frames (${t.pipelineMs.length} pipeline, ${t.restoreMs.length} restore-only runs, ${t.frames} frames)`);
  const pipeline = median(t.pipelineMs);
  const restore = median(t.restoreMs);
  const decode = median(t.decodeMs);
  const encode = median(t.encodeMs);
  const perFrame = (ms: number): number => ms / t.frames;
  const ratios = t.pipelineMs.slice(0, runs).map((p, i) => p / t.restoreMs[i]! - 1);
  const framesMatch =
    t.framesOut.length === t.pipelineMs.length &&
    t.framesOut.every((n) => n === t.frames) &&
    t.restoredFrames.every((n) => n === t.frames) &&
    t.pipelineMetrics.every((m) => m.framesIn === t.frames && m.framesOut === t.frames && m.dropped === 0 && m.errors === 0);
  return {
    backend: t.backend,
    preset: t.preset,
    size: t.size,
    frames: t.frames,
    runs,
    pipelineFps: t.frames / (pipeline / 1000),
    restoreFps: t.frames / (restore / 1000),
    overhead: pipeline / restore - 1,
    pairedOverhead: median(ratios),
    msPerFrame: { pipeline: perFrame(pipeline), restore: perFrame(restore), decode: perFrame(decode), encode: perFrame(encode) },
    startMs: median(t.firstFrameMs),
    tailMs: median(t.tailMs),
    unaccountedMsPerFrame: perFrame(pipeline - restore - decode - encode),
    framesMatch,
  };
}
