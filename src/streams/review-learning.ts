/**
 * Online Review Learning in a stream: `createOnlineLearner` (the learner, with its events as an
 * Observable) and the `reviewLearning` operator, which passes frames through unchanged while it feeds
 * the learner crops, runs its steps between frames within the time budget and lets it publish adapted
 * weights at frame boundaries. Put it before `restore(model, { mode: 'live' })`.
 */
import * as tf from '@tensorflow/tfjs';
import { Observable, type Subscription } from 'rxjs';
import type { Degradation } from '../core/degrade/index.js';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../core/errors.js';
import { OnlineLearner, type LearnableModel, type LearnerEvent, type OnlineLearnerOptions } from '../core/review/online/index.js';
import { selectFrameConverter, type FrameConverter } from './frames.js';
import { onDemand, pullFrom, pullSource, type PullFromSubscription, type PullProducer, type PullSource } from './pull.js';

/**
 * An online Review Learning learner (see {@link OnlineLearner}) whose events are an Observable.
 * Create it with {@link createOnlineLearner}.
 */
export class ObservableLearner extends OnlineLearner {
  protected static override readonly callName: string = 'createOnlineLearner';

  /** Every event of the learner (`step`, `hard-sample`, `domain`, `swap`); hot, completes when the learner is disposed. */
  readonly events$: Observable<LearnerEvent> = new Observable<LearnerEvent>((subscriber) => this.listen(subscriber));
}

/**
 * A learner that adapts `model` online. Defaults: memory of 256 crops balanced per domain, review
 * ratio 0.5, learning rate 1e-4, crops of 128, batches of 4, 8 ms of learning per frame.
 * @throws SimpleIRError `INVALID_ARGUMENT` when `model` is not a model (a SimpleIR) or `options` not an object.
 */
export function createOnlineLearner(model: LearnableModel, options: OnlineLearnerOptions = {}): ObservableLearner {
  return new ObservableLearner(model, options);
}

/**
 * An image of a training pair: a frame some registered converter reads (a `NodeFrame`, a `VideoFrame`),
 * or a float [H, W, 3] / [1, H, W, 3] tensor in [0, 1] (int32 read as [0, 255]).
 */
export type TrainingImage = tf.Tensor3D | tf.Tensor4D | object;

/** A training pair from the application; both images of one size. */
export interface TrainingPair {
  readonly degraded: TrainingImage;
  readonly clean: TrainingImage;
}

/** Options of {@link reviewLearning}. */
export interface ReviewLearningOptions<F> {
  /** Name of the domain being learnt, e.g. `night-rain`. */
  readonly domain: string;
  /**
   * Where training pairs come from: `'synthesize'` (crops of the stream's clean frames, degraded by
   * `degrade` at the frame's time), or the application's Observable of pairs. The operator owns what it
   * receives: pair frames are closed and pair tensors disposed once read; while one pair is being read,
   * a newer one replaces the waiting one.
   */
  readonly pairs: 'synthesize' | Observable<TrainingPair>;
  /** The degradation generator of `'synthesize'` (required there). */
  readonly degrade?: Degradation;
  /** With `'synthesize'`: which frames are clean (default: all). */
  readonly isClean?: (frame: F) => boolean;
  /** The frame converter; default: the first registered one that accepts the first frame. */
  readonly converter?: FrameConverter<F, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A learner that runs where its model runs (the worker of `loadWorkerModel`, from
 * `model.createOnlineLearner()`) and learns from the frames that model restores, between them:
 * `reviewLearning` passes the stream's frames on unchanged and tells it what to learn.
 */
export interface RemoteLearner {
  /**
   * Starts learning `domain` from crops of the frames the model restores, degraded by `degrade`;
   * `onError` gets a failure of learning. Returns the function that stops it.
   */
  teach(lesson: { readonly domain: string; readonly degrade: Degradation }, onError: (e: SimpleIRError) => void): () => void;
}

function isRemoteLearner(x: unknown): x is RemoteLearner {
  return !(x instanceof OnlineLearner) && typeof (x as Partial<RemoteLearner> | null)?.teach === 'function';
}

/** Learners with a subscribed operator: one stream teaches a learner at a time. */
const attached = new WeakSet<OnlineLearner>();

/**
 * Teaches `learner` the stream's domain while frames pass through unchanged, in order, synchronously
 * unless a frame is being read for crops (then later frames wait behind it).
 *
 * On every frame the learner publishes its staged weights (one `model.setWeights`, so each frame is
 * restored by one complete weight version) and is granted `stepBudgetMs`; a step runs after the frame
 * is handed on, when the learner has credit; its time (and the time spent reading frames and pairs)
 * is debited, so learning takes `stepBudgetMs` per frame on average. Errors of learning (a diverging
 * loss, a broken pair) end the stream. Unsubscribing stops scheduling steps (one under way finishes)
 * and closes the frames held.
 * @throws SimpleIRError `INVALID_ARGUMENT` (on subscribe) when `'synthesize'` has no `degrade`, or the learner is already taught by another stream.
 */
export function reviewLearning<F = unknown>(learner: OnlineLearner | RemoteLearner, options: ReviewLearningOptions<F>): <T extends F>(source: Observable<T>) => PullSource<T> {
  if (!(learner instanceof OnlineLearner) && !isRemoteLearner(learner)) {
    throw invalidArgument('reviewLearning(learner)', 'a learner from createOnlineLearner(model) or workerModel.createOnlineLearner()', learner);
  }
  if (!isOptionsObject(options)) throw invalidArgument('reviewLearning(learner, options)', "options such as { domain: 'night-rain', pairs: 'synthesize', degrade }", options);
  if (options.pairs !== 'synthesize' && !(options.pairs instanceof Observable)) {
    throw invalidArgument('reviewLearning: options.pairs', "'synthesize' or an Observable of training pairs", options.pairs);
  }
  if (isRemoteLearner(learner)) return teachRemote(learner, options);
  return <T extends F>(source: Observable<T>) =>
    pullSource<T>((producer) => {
      if (options.pairs === 'synthesize' && !options.degrade) {
        producer.error(new SimpleIRError('INVALID_ARGUMENT', "reviewLearning: pairs 'synthesize' needs a degrade generator (e.g. createDegradation('rain', { seed, strength }))."));
        return;
      }
      if (attached.has(learner)) {
        producer.error(new SimpleIRError('INVALID_ARGUMENT', 'reviewLearning: this learner is already taught by another stream; unsubscribe that one first.'));
        return;
      }
      try {
        learner.setDomain(options.domain);
      } catch (e) {
        producer.error(e);
        return;
      }
      attached.add(learner);
      const session = new LearningSession<T>(learner, options as unknown as ReviewLearningOptions<T>, producer);
      const upstream = pullFrom(source, { next: (f) => session.onFrame(f), error: (e) => session.fail(e), complete: () => session.complete() });
      session.start(upstream);
      return () => {
        session.close();
        upstream.unsubscribe();
        attached.delete(learner);
      };
    });
}

/**
 * `reviewLearning` for a {@link RemoteLearner}: frames pass on unchanged (paced by downstream's demand);
 * the learner learns from them where the model restores them.
 */
function teachRemote<F>(learner: RemoteLearner, options: ReviewLearningOptions<F>): <T extends F>(source: Observable<T>) => PullSource<T> {
  if (options.pairs !== 'synthesize' || options.isClean !== undefined) {
    throw new SimpleIRError(
      'INVALID_ARGUMENT',
      "reviewLearning: a learner in a worker learns from the frames its model restores: use pairs: 'synthesize' with degrade, and no isClean (or learn on this thread with createOnlineLearner(model)).",
    );
  }
  return <T extends F>(source: Observable<T>) =>
    pullSource<T>((producer) => {
      if (!options.degrade) {
        producer.error(new SimpleIRError('INVALID_ARGUMENT', "reviewLearning: pairs 'synthesize' needs a degrade generator (e.g. createDegradation('rain', { seed, strength }))."));
        return;
      }
      let stop: () => void;
      try {
        stop = learner.teach({ domain: options.domain, degrade: options.degrade }, (e) => producer.error(e));
      } catch (e) {
        producer.error(e);
        return;
      }
      let upstream: PullFromSubscription | undefined;
      const askOne = (): void => {
        if (producer.closed) return;
        if (producer.demand > 0) upstream?.request(1);
        else waitForDemand();
      };
      const waitForDemand = onDemand(producer, askOne);
      upstream = pullFrom(source, {
        next: (frame) => {
          if (producer.closed) {
            (frame as { close?: () => void } | null)?.close?.();
            return;
          }
          producer.next(frame);
          askOne();
        },
        error: (e) => producer.error(e),
        complete: () => producer.complete(),
      });
      upstream.request(Math.max(1, producer.demand));
      return () => {
        stop();
        upstream?.unsubscribe();
      };
    });
}

/** One subscription of the operator. */
class LearningSession<F> {
  private queue: F[] = [];
  private sampling = false;
  private completed = false;
  private closed = false;
  private stepTimer: ReturnType<typeof setTimeout> | undefined;
  private converter: FrameConverter<F, unknown> | undefined;
  private pairsSub: Subscription | undefined;
  private pairBusy = false;
  private waitingPair: TrainingPair | undefined;
  /** The source: asked for as many frames as downstream wants, less those held here. */
  private upstream: PullFromSubscription | undefined;
  /** Frames requested from the source and not yet received. */
  private outstanding = 0;
  /** Runs {@link drain} once downstream asks again. */
  private readonly waitForDemand: () => void;

  constructor(
    private readonly learner: OnlineLearner,
    private readonly options: ReviewLearningOptions<F>,
    private readonly producer: PullProducer<F>,
  ) {
    this.converter = options.converter;
    this.waitForDemand = onDemand(producer, () => {
      if (!this.closed) this.drain();
    });
  }

  start(upstream: PullFromSubscription): void {
    this.upstream = upstream;
    this.refill();
    const pairs = this.options.pairs;
    if (pairs === 'synthesize' || this.closed) return;
    this.pairsSub = pairs.subscribe({ next: (p) => this.onPair(p), error: (e) => this.fail(e) });
  }

  onFrame(frame: F): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.closed) {
      this.release(frame);
      return;
    }
    try {
      this.learner.frameBoundary();
    } catch (e) {
      this.release(frame);
      this.fail(e);
      return;
    }
    this.queue.push(frame);
    this.drain();
  }

  complete(): void {
    this.completed = true;
    this.drain();
  }

  fail(e: unknown): void {
    if (this.closed) return;
    this.close();
    this.producer.error(e);
  }

  /** Releases everything: queued frames are closed, scheduled steps cancelled, pairs unsubscribed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stepTimer);
    this.pairsSub?.unsubscribe();
    this.queue.splice(0).forEach((f) => this.release(f));
    if (this.waitingPair) this.releasePair(this.waitingPair);
    this.waitingPair = undefined;
  }

  /**
   * Hands frames on in order, as downstream asks for them when the source is paced (a push source's
   * frames pass at once); a frame wanted for crops is read first, and the later ones wait.
   */
  private drain(): void {
    while (!this.closed && !this.sampling && this.queue.length > 0) {
      if (this.upstream?.paced && this.producer.demand <= 0) {
        this.waitForDemand();
        break;
      }
      const frame = this.queue.shift()!;
      if (this.wantsPixels(frame)) {
        this.sampling = true;
        this.sample(frame).then(
          () => {
            this.sampling = false;
            this.emit(frame);
            this.drain();
          },
          (e: unknown) => {
            this.sampling = false;
            this.release(frame);
            this.fail(e);
          },
        );
        return;
      }
      this.emit(frame);
    }
    if (this.closed || this.sampling) return;
    if (this.completed && this.queue.length === 0) {
      this.close();
      this.producer.complete();
      return;
    }
    this.refill();
    this.scheduleStep();
  }

  private emit(frame: F): void {
    if (this.closed || this.producer.closed) this.release(frame);
    else this.producer.next(frame);
  }

  /** Asks the source for the frames downstream wants and that are neither held here nor on their way. */
  private refill(): void {
    if (this.closed || this.completed) return;
    const want = this.producer.demand - this.queue.length - (this.sampling ? 1 : 0) - this.outstanding;
    if (want > 0) {
      this.outstanding += want;
      this.upstream?.request(want);
    } else if (this.producer.demand <= 0) {
      this.waitForDemand();
    }
  }

  private wantsPixels(frame: F): boolean {
    if (this.options.pairs !== 'synthesize' || !(this.options.isClean?.(frame) ?? true)) return false;
    return (this.learner.needsSeedFrames && this.learner.hasCredit) || this.learner.cropsWanted() > 0;
  }

  /** Reads a clean frame: seeds the memory while it needs it, and cuts the fresh crops the next step wants. */
  private async sample(frame: F): Promise<void> {
    const t0 = performance.now();
    const conv = this.converterFor(frame);
    const { x } = await conv.toTensor(frame);
    try {
      if (this.learner.needsSeedFrames) await this.learner.seedFrom(x);
      const k = this.learner.cropsWanted();
      if (k > 0 && !this.closed) this.learner.addCleanFrame(x, this.options.degrade!, conv.timestamp(frame) / 1e6, k);
    } finally {
      x.dispose();
      this.learner.charge(performance.now() - t0);
    }
  }

  /** Runs one step soon (after the frame's own restore work was queued) when the learner is due. */
  private scheduleStep(): void {
    if (this.stepTimer !== undefined || !this.learner.stepDue || !this.learner.hasFreshCrops) return;
    this.stepTimer = setTimeout(() => {
      this.stepTimer = undefined;
      if (this.closed) return;
      this.learner.step().catch((e: unknown) => this.fail(e));
    }, 0);
  }

  private onPair(pair: TrainingPair): void {
    if (this.closed) {
      this.releasePair(pair);
      return;
    }
    if (this.pairBusy) {
      if (this.waitingPair) this.releasePair(this.waitingPair);
      this.waitingPair = pair;
      return;
    }
    this.pairBusy = true;
    this.readPair(pair).then(
      () => {
        this.pairBusy = false;
        const next = this.waitingPair;
        this.waitingPair = undefined;
        if (next) this.onPair(next);
      },
      (e: unknown) => {
        this.pairBusy = false;
        this.fail(e);
      },
    );
  }

  /** Seeds from the pair's clean image while needed, and adds one fresh crop of the pair. */
  private async readPair(pair: TrainingPair): Promise<void> {
    const t0 = performance.now();
    let degraded: tf.Tensor4D | undefined;
    let clean: tf.Tensor4D | undefined;
    try {
      degraded = await this.toImage(pair.degraded);
      clean = await this.toImage(pair.clean);
      if (this.closed) return;
      if (this.learner.needsSeedFrames) await this.learner.seedFrom(clean);
      if (!this.closed) this.learner.addPair(degraded, clean);
    } finally {
      tf.dispose([degraded, clean].filter((t): t is tf.Tensor4D => t !== undefined));
      this.learner.charge(performance.now() - t0);
    }
  }

  /** A pair image as a new float [1, H, W, 3]; the input is released. */
  private async toImage(image: TrainingImage): Promise<tf.Tensor4D> {
    if (image instanceof tf.Tensor) {
      try {
        if (image.shape[image.rank - 1] !== 3 || (image.rank !== 3 && !(image.rank === 4 && image.shape[0] === 1))) {
          throw new SimpleIRError('INVALID_IMAGE', `A training pair tensor must be [H, W, 3] or [1, H, W, 3]; got [${image.shape}].`);
        }
        return tf.tidy(() => {
          const x = image.dtype === 'int32' ? tf.div(tf.cast(image, 'float32'), 255) : tf.cast(image, 'float32');
          return (image.rank === 3 ? x.expandDims(0) : tf.clone(x)) as tf.Tensor4D;
        });
      } finally {
        image.dispose();
      }
    }
    const conv = this.pairConverter(image);
    try {
      return (await conv.toTensor(image)).x;
    } finally {
      conv.close(image);
    }
  }

  private releasePair(pair: TrainingPair): void {
    for (const image of [pair.degraded, pair.clean]) {
      if (image instanceof tf.Tensor) image.dispose();
      else {
        try {
          this.pairConverter(image).close(image);
        } catch {
          // Nothing to release in an image no converter accepts.
        }
      }
    }
  }

  /** The converter of a pair image: the stream's converter when it accepts it, else the first registered one that does. */
  private pairConverter(image: object): FrameConverter<object, unknown> {
    const own = this.options.converter;
    return (own?.matches(image) ? own : selectFrameConverter(image)) as FrameConverter<object, unknown>;
  }

  private converterFor(frame: F): FrameConverter<F, unknown> {
    return (this.converter ??= selectFrameConverter(frame));
  }

  private release(frame: F): void {
    try {
      this.converterFor(frame).close(frame);
    } catch {
      // A frame no converter accepts holds nothing we could release.
    }
  }
}
