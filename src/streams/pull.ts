/**
 * Pull-based sources: an Observable that also lets a consumer ask for items one at a time, so that a
 * file source (MP4, y4m) decodes only what the restore operator is ready for, and never floods it.
 * A plain `subscribe()` still works: it asks for the next item each time `next` returns.
 */
import { Observable, type Observer, type Subscriber } from 'rxjs';
import { invalidArgument } from '../core/errors.js';

/** The consumer's side of a pull subscription. */
export interface PullSubscription {
  /** Asks for `n` more items (they may arrive later, asynchronously). */
  request(n: number): void;
  /** Stops the source and releases what it holds. */
  unsubscribe(): void;
}

/** What a producer is given: emit, finish, and learn about demand. */
export interface PullProducer<T> {
  /** Items requested and not yet emitted. The producer must not emit when this is 0. */
  readonly demand: number;
  /** True once the consumer unsubscribed. */
  readonly closed: boolean;
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
  /** Resolves when demand is positive (or the subscription closed). */
  waitForDemand(): Promise<void>;
}

/** An Observable whose consumer can pull. */
export interface PullSource<T> extends Observable<T> {
  /** Starts the source with zero demand; items flow only as `request` asks for them. */
  pull(observer: Partial<Observer<T>>): PullSubscription;
}

/** True when `source` supports {@link PullSource.pull}. */
export function isPullSource<T>(source: Observable<T>): source is PullSource<T> {
  return typeof (source as Partial<PullSource<T>> | null | undefined)?.pull === 'function';
}

/**
 * Makes a {@link PullSource} from a producer function. `produce` runs once per subscription; it must
 * check `demand` (or await `waitForDemand()`) before each `next`, and return a teardown.
 */
export function pullSource<T>(produce: (producer: PullProducer<T>) => (() => void) | void): PullSource<T> {
  if (typeof produce !== 'function') throw invalidArgument('pullSource(produce)', 'a function (producer) => teardown', produce);
  const start = (observer: Partial<Observer<T>>, autoRequest: boolean): PullSubscription => {
    let demand = 0;
    let closed = false;
    // Every pending waitForDemand() call (there may be more than one).
    let waiters: (() => void)[] = [];
    let teardown: (() => void) | void;
    const wakeUp = (): void => {
      const w = waiters;
      waiters = [];
      w.forEach((resolve) => resolve());
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      wakeUp();
      teardown?.();
    };
    const producer: PullProducer<T> = {
      get demand() {
        return demand;
      },
      get closed() {
        return closed;
      },
      next(value) {
        if (closed) return;
        demand = Math.max(0, demand - 1);
        observer.next?.(value);
        if (autoRequest && !closed) {
          demand += 1;
          wakeUp();
        }
      },
      error(err) {
        if (closed) return;
        closed = true;
        wakeUp();
        teardown?.();
        observer.error?.(err);
      },
      complete() {
        if (closed) return;
        closed = true;
        wakeUp();
        teardown?.();
        observer.complete?.();
      },
      waitForDemand() {
        if (demand > 0 || closed) return Promise.resolve();
        return new Promise<void>((resolve) => {
          waiters.push(resolve);
        });
      },
    };
    if (autoRequest) demand = 1;
    teardown = produce(producer);
    if (closed) teardown?.();
    return {
      request(n: number) {
        if (closed || !(n > 0)) return;
        demand += n;
        wakeUp();
      },
      unsubscribe: close,
    };
  };
  const observable = new Observable<T>((subscriber: Subscriber<T>) => {
    const sub = start(subscriber, true);
    return () => sub.unsubscribe();
  }) as PullSource<T>;
  observable.pull = (observer) => start(observer, false);
  return observable;
}
