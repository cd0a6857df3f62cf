/**
 * The worker side of `loadWorkerModel`: owns the backend (its own WebGPU device, or wasm), the model and
 * its online learner; restores the VideoFrames the page transfers and transfers the results back.
 * Learning steps run here, between frames, so the page's thread never waits for them.
 */
import { Subject, type Subscription } from 'rxjs';
import { selectBackend } from '../../../core/backend.js';
import { createDegradation, type Degradation } from '../../../core/degrade/index.js';
import { SimpleIRError } from '../../../core/errors.js';
import { isPresetName } from '../../../core/config.js';
import { SimpleIR, type PredictOptions } from '../../../core/model/simpleir.js';
import type { WeightSource } from '../../../core/model/source.js';
import { localRuntime } from '../../../streams/metrics.js';
import { restoreFrameWith } from '../../../streams/restore.js';
import { createOnlineLearner, reviewLearning, type ObservableLearner } from '../../../streams/review-learning.js';
import { videoFrameConverter, type BrowserFrame } from '../frames/video-frame.js';
import { errorData, type FromWorker, type RuntimeStats, type ToWorker } from './protocol.js';

/** The global scope of a dedicated worker, as far as this module needs it. */
export interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}

/** A learner being taught: the frames it sees go through `reviewLearning` before they are restored. */
interface Lesson {
  readonly frames: Subject<VideoFrame>;
  readonly subscription: Subscription;
  readonly degrade: Degradation;
  /** Frames inside the learning operator, with their request. */
  readonly waiting: Map<VideoFrame, { id: number; options: PredictOptions }>;
}

/** Serves one model to the page on `scope` (the worker entry calls it with `self`). */
export function serveModel(scope: WorkerScope): void {
  let model: SimpleIR | undefined;
  let learner: ObservableLearner | undefined;
  let lesson: Lesson | undefined;
  const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

  const runtime = (): RuntimeStats => {
    const m = localRuntime.memory();
    return { backend: localRuntime.backend(), numBytes: m.numBytes, numTensors: m.numTensors };
  };

  async function restoreOne(id: number, frame: VideoFrame, options: PredictOptions): Promise<void> {
    try {
      if (!model) throw new SimpleIRError('DISPOSED', 'The worker has no model (it failed to load or was disposed).');
      const out = (await restoreFrameWith<BrowserFrame>(model, videoFrameConverter, frame, options)) as VideoFrame;
      post({ t: 'restored', id, frame: out, runtime: runtime() }, [out]);
    } catch (e) {
      frame.close();
      post({ t: 'rejected', id, error: errorData(e, 'INVALID_IMAGE'), runtime: runtime() });
    }
  }

  async function init(m: Extract<ToWorker, { t: 'init' }>): Promise<void> {
    try {
      const backend = await selectBackend(m.backend, { ...m.backendOptions, onWarning: () => undefined });
      const source: WeightSource = typeof m.weights === 'string' && !isPresetName(m.weights) ? new URL(m.weights) : m.weights;
      model = await SimpleIR.load(source, m.weightsBaseUrl !== undefined ? { weightsBaseUrl: m.weightsBaseUrl } : {});
      post({ t: 'ready', backend, preset: typeof m.weights === 'string' && isPresetName(m.weights) ? m.weights : null });
    } catch (e) {
      post({ t: 'init-failed', error: errorData(e, 'WORKER_FAILED') });
    }
  }

  /** Ends the lesson; frames still inside the learning operator are restored without it. */
  function endLesson(): void {
    const l = lesson;
    if (!l) return;
    lesson = undefined;
    const held = [...l.waiting];
    l.waiting.clear();
    l.subscription.unsubscribe();
    l.degrade.dispose();
    // The operator closed what it held: those requests fail (the frames are gone), the page skips them in live mode.
    for (const [, r] of held) {
      post({ t: 'rejected', id: r.id, error: errorData(new SimpleIRError('ABORTED', 'learning stopped while the frame waited for it'), 'ABORTED'), runtime: runtime() });
    }
  }

  function teach(domain: string, degradeSpec: Extract<ToWorker, { t: 'learner-teach' }>['degrade']): void {
    endLesson();
    if (!learner) throw new SimpleIRError('INVALID_ARGUMENT', 'The worker has no learner: call createOnlineLearner() on the worker model first.');
    const degrade = createDegradation(degradeSpec.kind, degradeSpec.params);
    const frames = new Subject<VideoFrame>();
    const waiting = new Map<VideoFrame, { id: number; options: PredictOptions }>();
    let failed = false;
    const subscription = frames
      .pipe(reviewLearning<BrowserFrame>(learner, { domain, pairs: 'synthesize', degrade, converter: videoFrameConverter }))
      .subscribe({
        next: (frame) => {
          const r = waiting.get(frame);
          waiting.delete(frame);
          if (r) void restoreOne(r.id, frame, r.options);
          else frame.close();
        },
        error: (e: unknown) => {
          failed = true;
          post({ t: 'learner-failed', error: errorData(e, 'INVALID_ARGUMENT') });
          if (lesson?.frames === frames) endLesson();
        },
      });
    if (failed) degrade.dispose();
    else lesson = { frames, degrade, waiting, subscription };
  }

  function control(op: 'pause' | 'resume' | 'reset' | 'dispose'): void {
    if (!learner) return;
    if (op === 'dispose') {
      endLesson();
      learner.dispose();
      learner = undefined;
      return;
    }
    learner[op]();
  }

  scope.addEventListener('message', (e) => {
    const m = e.data;
    try {
      switch (m.t) {
        case 'init':
          void init(m);
          break;
        case 'restore':
          if (lesson) {
            lesson.waiting.set(m.frame, { id: m.id, options: m.options });
            lesson.frames.next(m.frame);
          } else {
            void restoreOne(m.id, m.frame, m.options);
          }
          break;
        case 'learner-create': {
          if (!model) throw new SimpleIRError('DISPOSED', 'The worker has no model.');
          control('dispose');
          const created = createOnlineLearner(model, m.options);
          learner = created;
          created.events$.subscribe((event) => post({ t: 'learner-event', event, steps: created.steps, paused: created.paused }));
          break;
        }
        case 'learner-teach':
          teach(m.domain, m.degrade);
          break;
        case 'learner-untaught':
          endLesson();
          break;
        case 'learner-control':
          control(m.op);
          break;
      }
    } catch (err) {
      if (m.t === 'restore') {
        m.frame.close();
        post({ t: 'rejected', id: m.id, error: errorData(err, 'INVALID_IMAGE'), runtime: runtime() });
      } else {
        post({ t: 'learner-failed', error: errorData(err, 'INVALID_ARGUMENT') });
      }
    }
  });
}
