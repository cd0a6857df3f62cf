/** Temporal restoration: alignment of past frames, their fusion, and the filter that keeps the ring of them. */
export { analysisGrid, PhaseCorrelator, shiftFrame, type AnalysisGrid, type ShiftedFrame, type Spectrum } from './align.js';
export { changeMask, guidedFilter, median, quantile, type ChangeMaskOptions } from './fuse.js';
export {
  defaultGuideRadius,
  defaultTransientSize,
  resolveTemporalFilterOptions,
  TemporalFilter,
  type ResolvedTemporalFilterOptions,
  type TemporalFilterOptions,
} from './filter.js';
