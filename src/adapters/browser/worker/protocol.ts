/**
 * The messages between a page and the model worker (`loadWorkerModel` on the page, `serveModel` in the
 * worker): plain data and transferred VideoFrames only, so that both sides can be checked against one list.
 */
import type { BackendInfo, BackendName, BackendOptions } from '../../../core/backend.js';
import { SimpleIRError, type SimpleIRErrorCode } from '../../../core/errors.js';
import type { PredictOptions } from '../../../core/model/simpleir.js';
import type { DegradationKind } from '../../../core/degrade/index.js';
import type { LearnerEvent, OnlineLearnerOptions } from '../../../core/review/online/index.js';

/** Weights as the worker receives them: a preset name or an absolute URL, or the packed bytes (transferred). */
export type WorkerWeights = string | ArrayBuffer | { readonly manifest: string; readonly data: ArrayBuffer };

/** Backend and memory of the worker's tfjs, sent with every restored frame. */
export interface RuntimeStats {
  readonly backend: string;
  readonly numBytes: number;
  readonly numTensors: number;
}

/** A `SimpleIRError` as it crosses the thread boundary. */
export interface ErrorData {
  readonly code: SimpleIRErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** Page to worker. */
export type ToWorker =
  | {
      readonly t: 'init';
      readonly weights: WorkerWeights;
      readonly weightsBaseUrl?: string;
      readonly backend: BackendName | readonly BackendName[] | 'auto';
      readonly backendOptions: Pick<BackendOptions, 'wasmPaths' | 'probe' | 'probeBudgetMs' | 'cache'>;
    }
  | { readonly t: 'restore'; readonly id: number; readonly frame: VideoFrame; readonly options: PredictOptions }
  | { readonly t: 'learner-create'; readonly options: OnlineLearnerOptions }
  | { readonly t: 'learner-teach'; readonly domain: string; readonly degrade: { readonly kind: DegradationKind; readonly params: Record<string, unknown> } }
  | { readonly t: 'learner-untaught' }
  | { readonly t: 'learner-control'; readonly op: 'pause' | 'resume' | 'reset' | 'dispose' };

/** Worker to page. */
export type FromWorker =
  | { readonly t: 'ready'; readonly backend: BackendInfo; readonly preset: string | null }
  | { readonly t: 'init-failed'; readonly error: ErrorData }
  | { readonly t: 'restored'; readonly id: number; readonly frame: VideoFrame; readonly runtime: RuntimeStats }
  | { readonly t: 'rejected'; readonly id: number; readonly error: ErrorData; readonly runtime: RuntimeStats }
  | { readonly t: 'learner-event'; readonly event: LearnerEvent; readonly steps: number; readonly paused: boolean }
  | { readonly t: 'learner-failed'; readonly error: ErrorData };

/** `e` as data for postMessage: a SimpleIRError keeps its code; anything else is `fallback`. */
export function errorData(e: unknown, fallback: SimpleIRErrorCode): ErrorData {
  if (e instanceof SimpleIRError) {
    let details: Record<string, unknown> = {};
    try {
      details = structuredClone({ ...e.details });
    } catch {
      // Details that cannot be cloned stay behind; the message says what happened.
    }
    return { code: e.code, message: e.message, details };
  }
  return { code: fallback, message: e instanceof Error ? e.message : String(e), details: {} };
}

/** The error again, on the receiving side. */
export function fromErrorData(d: ErrorData): SimpleIRError {
  return new SimpleIRError(d.code, d.message, { ...d.details, inWorker: true });
}
