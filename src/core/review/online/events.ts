/** What the online learner reports to its listeners (a stream's Observable among them). */

/** Where the memory's earlier domains came from: the weight file, synthesis from the first frames (`pending` until done), or nowhere. */
export type SeedSource = 'shipped' | 'synthesized' | 'pending' | 'none';

/** Memory sizes, carried by every event. */
export interface MemoryCounts {
  /** Crops in the memory. */
  readonly memorySize: number;
  /** Crops per domain, in order of arrival. */
  readonly memoryByDomain: Readonly<Record<string, number>>;
}

/** One optimiser step was taken. */
export interface StepEvent extends MemoryCounts {
  readonly type: 'step';
  /** Steps so far (this one included). */
  readonly step: number;
  readonly domain: string;
  /** Mean loss of the batch. */
  readonly loss: number;
  /** Mean loss of the fresh (current-domain) crops. */
  readonly freshLoss: number;
  /** Mean loss of the reviewed memory crops, `null` when none. */
  readonly reviewLoss: number | null;
  /** Reviewed samples: drawn from the memory plus synthesised crops of earlier domains. */
  readonly reviewed: number;
  /** Of `reviewed`, crops of earlier domains synthesised from the stream's clean images (`replaySynthesis`). */
  readonly synthesized: number;
  /** Learning rate of the step. */
  readonly lr: number;
  /** Wall time of the step, ms. */
  readonly ms: number;
  /** Budget left after it (negative: debt repaid by the next frames), ms. */
  readonly credit: number;
}

/** A crop entered the memory. */
export interface HardSampleEvent extends MemoryCounts {
  readonly type: 'hard-sample';
  readonly domain: string;
  readonly id: string;
  /** Its loss fluctuation. */
  readonly score: number;
}

/** The current domain changed, or the memory got its earlier domains. */
export interface DomainEvent extends MemoryCounts {
  readonly type: 'domain';
  /** `switch`: a stream set the current domain; `seed`: earlier domains were synthesised into the memory. */
  readonly reason: 'switch' | 'seed';
  readonly domain: string | null;
  readonly previous: string | null;
  readonly seeded: SeedSource;
}

/** New weights were published to the model. */
export interface SwapEvent extends MemoryCounts {
  readonly type: 'swap';
  /** Published weight versions so far (the shipped weights are version 0). */
  readonly version: number;
  /** Steps taken when these weights were made. */
  readonly step: number;
  /** Loss of the last step behind these weights (`null` after a reset or load). */
  readonly loss: number | null;
  readonly reason: 'step' | 'reset' | 'load';
}

/** Everything the learner reports. */
export type LearnerEvent = StepEvent | HardSampleEvent | DomainEvent | SwapEvent;

/** Receives events (an RxJS subscriber is one). */
export interface LearnerListener {
  next(event: LearnerEvent): void;
  /** Called once when the learner is disposed. */
  complete?(): void;
}

/** The listeners of one learner: each event goes to all of them; a listener's throw is reported later, off the learner. */
export class LearnerListeners {
  private readonly listeners = new Set<LearnerListener>();
  private completed = false;

  /** Adds a listener; returns the function that removes it. After {@link complete}, completes it at once. */
  add(listener: LearnerListener): () => void {
    if (this.completed) {
      listener.complete?.();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands `event` to every listener. */
  emit(event: LearnerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l.next(event);
      } catch (e) {
        // Like an RxJS subscriber without an error handler: reported later, off the learner.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  /** Completes and forgets every listener (once). */
  complete(): void {
    this.completed = true;
    const ls = [...this.listeners];
    this.listeners.clear();
    ls.forEach((l) => l.complete?.());
  }
}
