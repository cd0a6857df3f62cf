/**
 * Backpressure, in one module: pull sources (an Observable whose consumer asks for items one at a time,
 * so that a file source decodes only what the consumer is ready for) and {@link pullFrom}, the one way
 * every consumer (`restore`, `reviewLearning`, the sinks) takes items from a source.
 *
 * Demand survives the synchronous RxJS operators users put in between (`map`, `filter`, `tap`, `scan`,
 * `take`, ...): while a pull source hands an item down (inside `subscriber.next`), it exposes a delivery
 * ticket; the consumer that receives the item within that synchronous call claims the ticket and from
 * then on paces the source with its own requests. An item nobody claims by the time `next` returns (it
 * was filtered out, or a plain subscriber took it) counts as consumed, and the source produces the next
 * one at once, as for a plain `subscribe()`. Asynchronous operators (`delay`, `observeOn`, an async
 * `concatMap`) deliver after `next` returned, so nothing is claimed: the source then runs at the plain
 * subscriber's pace, and the consumer buffers what arrives (in order; `restore` reports it as `queued`).
 * No window is kept for them: the source cannot tell an item held by `delay` from one dropped by a
 * `filter` before it, and counting dropped items as in flight would stall such a chain for good.
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

/**
 * An operator whose output is a {@link PullSource}: it passes the demand of its consumer on to its own
 * source (through {@link pullFrom}), so a pulling sink after it holds the whole chain back.
 */
export type PullOperator<T, R> = (source: Observable<T>) => PullSource<R>;

/** True when `source` supports {@link PullSource.pull}. */
export function isPullSource<T>(source: Observable<T>): source is PullSource<T> {
  return typeof (source as Partial<PullSource<T>> | null | undefined)?.pull === 'function';
}

/** An item being handed down by a subscribed pull source; `claimed` once a consumer took it. */
interface Delivery {
  /** Gives demand to the source that emitted the item (the claiming consumer's requests go here). */
  readonly request: (n: number) => void;
  claimed: boolean;
}

/** The delivery under way: set by a pull source only for the duration of a synchronous `next`. */
let currentDelivery: Delivery | null = null;

/** Runs `deliver` with `delivery` as the current one (restoring the outer one after: sources nest). */
function delivering(delivery: Delivery | null, deliver: () => void): void {
  const outer = currentDelivery;
  currentDelivery = delivery;
  try {
    deliver();
  } finally {
    currentDelivery = outer;
  }
}

/**
 * Claims the delivery under way for the consumer linked to `linked` (any source when null): returns
 * the source's `request`, or null when there is no unclaimed delivery, or it comes from another source
 * (e.g. the second source of a `merge`, which then paces itself as for a plain subscriber).
 */
function claimDelivery(linked: ((n: number) => void) | null): ((n: number) => void) | null {
  const d = currentDelivery;
  if (!d || d.claimed || (linked !== null && d.request !== linked)) return null;
  d.claimed = true;
  return d.request;
}

/**
 * Makes a {@link PullSource} from a producer function. `produce` runs once per subscription; it must
 * check `demand` (or await `waitForDemand()`) before each `next`, and return a teardown. Subscribed
 * plainly, the source emits one item at a time, offering each to a consumer downstream (see the module
 * comment); pulled, it emits what `request` asks for.
 */
export function pullSource<T>(produce: (producer: PullProducer<T>) => (() => void) | void): PullSource<T> {
  if (typeof produce !== 'function') throw invalidArgument('pullSource(produce)', 'a function (producer) => teardown', produce);
  const start = (observer: Partial<Observer<T>>, subscribed: boolean): PullSubscription => {
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
    const request = (n: number): void => {
      if (closed || !(n > 0)) return;
      demand += n;
      wakeUp();
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
        // Pulled: the consumer is the observer itself, and no ticket of an outer source may leak to it.
        const delivery: Delivery | null = subscribed ? { request, claimed: false } : null;
        delivering(delivery, () => observer.next?.(value));
        // Nobody downstream paces this item: it is consumed, the next one may come.
        if (delivery && !delivery.claimed) request(1);
      },
      error(err) {
        if (closed) return;
        close();
        observer.error?.(err);
      },
      complete() {
        if (closed) return;
        close();
        observer.complete?.();
      },
      waitForDemand() {
        if (demand > 0 || closed) return Promise.resolve();
        return new Promise<void>((resolve) => {
          waiters.push(resolve);
        });
      },
    };
    if (subscribed) demand = 1;
    teardown = produce(producer);
    if (closed) teardown?.();
    return { request, unsubscribe: close };
  };
  const observable = new Observable<T>((subscriber: Subscriber<T>) => {
    const sub = start(subscriber, true);
    return () => sub.unsubscribe();
  }) as PullSource<T>;
  observable.pull = (observer) => start(observer, false);
  return observable;
}

/**
 * For an operator that is itself a pull source: a function that, called while downstream has no demand,
 * runs `then` once demand comes back (or the subscription closes); calls made while one wait is pending
 * are merged into it.
 */
export function onDemand(producer: PullProducer<unknown>, then: () => void): () => void {
  let waiting = false;
  return () => {
    if (waiting) return;
    waiting = true;
    void producer.waitForDemand().then(() => {
      waiting = false;
      then();
    });
  };
}

/** The consumer's side of {@link pullFrom}. */
export interface PullFromSubscription extends PullSubscription {
  /**
   * True while the source honours `request`: a {@link PullSource} given directly, or one upstream whose
   * delivery this consumer claimed. False for a push source (a camera, a Subject, `from([...])`), whose
   * items come whatever was requested, and until the first item of a source behind operators.
   */
  readonly paced: boolean;
}

/**
 * Takes items from any Observable with backpressure where the source offers it: a {@link PullSource}
 * is pulled; behind synchronous operators, the pull source's deliveries are claimed, so `request`
 * paces it all the same (see the module comment); a push source is subscribed and `request` does
 * nothing. Start with `request(n)` for the items wanted ahead, then one more per item finished.
 * Items that arrive while `paced` is false must be buffered by the consumer.
 */
export function pullFrom<T>(source: Observable<T>, observer: Partial<Observer<T>>): PullFromSubscription {
  if (typeof (source as Partial<Observable<T>> | null)?.subscribe !== 'function') throw invalidArgument('pullFrom(source)', 'an Observable (e.g. fromY4m(path).pipe(map(f)))', source);
  if (typeof observer !== 'object' || observer === null) throw invalidArgument('pullFrom(source, observer)', 'an observer object such as { next, error, complete }', observer);
  if (isPullSource(source)) {
    const sub = source.pull(observer);
    return { request: (n) => sub.request(n), unsubscribe: () => sub.unsubscribe(), paced: true };
  }
  // Requested and not yet passed on; negative when the source sent more than was requested (the first
  // item, which a subscribed pull source emits unasked, or items it counted as consumed itself).
  let credit = 0;
  let upstream: ((n: number) => void) | null = null;
  const forward = (): void => {
    if (upstream && credit > 0) {
      const n = credit;
      credit = 0;
      upstream(n);
    }
  };
  const sub = source.subscribe({
    next: (value) => {
      const claimed = claimDelivery(upstream);
      // A claimed item fills a request passed on to its source, except the first: the source emitted it
      // unasked (a subscribed pull source starts with one). An unclaimed item (a push item, or one
      // delivered asynchronously) was counted as consumed by its source: the request the consumer makes
      // for it must not reach the source.
      if (!claimed || !upstream) credit -= 1;
      upstream ??= claimed;
      forward();
      observer.next?.(value);
    },
    error: (e: unknown) => observer.error?.(e),
    complete: () => observer.complete?.(),
  });
  return {
    request: (n) => {
      if (!(n > 0)) return;
      credit += n;
      forward();
    },
    unsubscribe: () => sub.unsubscribe(),
    get paced() {
      return upstream !== null;
    },
  };
}
