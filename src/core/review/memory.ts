/**
 * The review memory of Review Learning: a bounded, per-task balanced store of the difficult
 * samples of past tasks, replayed into later batches; generic over what a sample is.
 */

import { invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import type { Random } from '../random.js';
import { byScoreThenId, type LossHistory } from './history.js';

/** Options of a {@link HardSampleMemory}. */
export interface HardSampleMemoryOptions {
  /** Most samples held over all tasks (integer >= 0). */
  capacity: number;
  /** Review quantity Q: most samples held per task (integer >= 0; 0 stores nothing = plain sequential). */
  perTask: number;
  /**
   * `true` (default): every task gets an even share of `capacity` (at most Q), and
   * {@link HardSampleMemory.sample} draws round-robin over tasks. `false`: tasks compete for
   * `capacity` by score (a full memory evicts its lowest-score sample of any task), and
   * sampling is uniform over all samples.
   */
  balance?: boolean;
}

/** One stored sample with the task it belongs to and its difficulty score. */
export interface MemoryEntry<T> {
  task: string;
  id: string;
  sample: T;
  score: number;
}

/** One sample drawn from the memory by {@link HardSampleMemory.sample}. */
export interface MemorySample<T> {
  task: string;
  id: string;
  sample: T;
}

/** Serialised form of a {@link HardSampleMemory}; `E` is the encoded form of one sample. */
export interface HardSampleMemoryJSON<E> {
  version: 1;
  capacity: number;
  perTask: number;
  balance: boolean;
  tasks: { task: string; entries: { id: string; score: number; sample: E }[] }[];
}

/** How samples are chosen for the memory: by fluctuation score, or at random (the baseline). */
export type MemorySelection = 'difficult' | 'random';

interface Stored<T> {
  sample: T;
  score: number;
}

/**
 * A bounded memory of difficult samples of past tasks (domains).
 *
 * Invariants: at most `perTask` samples per task and at most `capacity` in all; a sample is
 * identified by `(task, id)`. When full, a sample enters only by beating the lowest score it
 * would replace. With `balance` (default), task `i` of `T` (in order of first arrival) may hold
 * `min(Q, floor(capacity / T) + (i < capacity mod T ? 1 : 0))` samples; when a new task arrives
 * every task is shrunk to its new share, keeping its highest-score samples.
 */
export class HardSampleMemory<T> implements Iterable<MemoryEntry<T>> {
  /** Most samples held over all tasks. */
  readonly capacity: number;
  /** Review quantity Q: most samples per task. */
  readonly perTask: number;
  /** Whether capacity and sampling are balanced per task. */
  readonly balance: boolean;
  // Task order is order of first arrival; entry order within a task is insertion order.
  private readonly byTask = new Map<string, Map<string, Stored<T>>>();
  private count = 0;

  constructor(options: HardSampleMemoryOptions) {
    if (!isOptionsObject(options)) throw invalidArgument('new HardSampleMemory(options)', 'an options object like { capacity: 256, perTask: 64 }', options);
    this.capacity = checkCount('capacity', options.capacity);
    this.perTask = checkCount('perTask', options.perTask);
    this.balance = options.balance ?? true;
  }

  /** Number of samples held. */
  get size(): number {
    return this.count;
  }

  /** Tasks that hold samples, in order of first arrival. */
  tasks(): string[] {
    return [...this.byTask.keys()];
  }

  /** Number of samples held per task, in order of first arrival. */
  sizeByTask(): Map<string, number> {
    return new Map([...this.byTask].map(([task, entries]) => [task, entries.size]));
  }

  /** True when sample `id` of `task` is held. */
  has(task: string, id: string): boolean {
    return this.byTask.get(task)?.has(id) ?? false;
  }

  /** The stored entry of `(task, id)`, if held. */
  get(task: string, id: string): MemoryEntry<T> | undefined {
    const stored = this.byTask.get(task)?.get(id);
    return stored && { task, id, sample: stored.sample, score: stored.score };
  }

  /**
   * Offers sample `id` of `task` with its difficulty `score`. An id already held for the task
   * has its sample and score updated. Returns whether the sample is held afterwards.
   */
  add(task: string, id: string, sample: T, score: number): boolean {
    if (typeof task !== 'string' || typeof id !== 'string') {
      throw new SimpleIRError('INVALID_ARGUMENT', 'HardSampleMemory.add: task and id must be strings.', { task, id });
    }
    if (!Number.isFinite(score)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `HardSampleMemory.add: score of '${task}/${id}' must be finite, got ${score}.`, { task, id, score });
    }
    const existing = this.byTask.get(task)?.get(id);
    if (existing) {
      existing.sample = sample;
      existing.score = score;
      return true;
    }
    if (this.perTask === 0 || this.capacity === 0) return false;
    return this.balance ? this.addBalanced(task, id, sample, score) : this.addByScore(task, id, sample, score);
  }

  /** Forgets every sample of `task`; returns whether it held any. */
  remove(task: string): boolean {
    const entries = this.byTask.get(task);
    if (!entries) return false;
    this.count -= entries.size;
    this.byTask.delete(task);
    return true;
  }

  /** Forgets every sample. */
  clear(): void {
    this.byTask.clear();
    this.count = 0;
  }

  /**
   * Draws `n` samples. Balanced: round-robin over the tasks from a random first task, so counts
   * per task differ by at most one; within a task, without replacement until the task is
   * exhausted, then again. Unbalanced: uniform over all samples the same way. Deterministic
   * given `rng`. Returns `[]` when the memory is empty.
   */
  sample(n: number, rng: Random): MemorySample<T>[] {
    checkCount('n', n);
    if (n === 0 || this.count === 0) return [];
    const keys = [...this.byTask].map(([task, entries]) => [...entries.keys()].map((id): [string, string] => [task, id]));
    const pools = this.balance ? keys.map((k) => new Pool(k)) : [new Pool(keys.flat())];
    const start = rng.int(0, pools.length - 1);
    const out: MemorySample<T>[] = [];
    for (let k = 0; k < n; k++) {
      const [task, id] = (pools[(start + k) % pools.length] as Pool<[string, string]>).draw(rng);
      out.push({ task, id, sample: (this.byTask.get(task)?.get(id) as Stored<T>).sample });
    }
    return out;
  }

  /** Every stored entry, task by task in order of first arrival. */
  *[Symbol.iterator](): Iterator<MemoryEntry<T>> {
    for (const [task, entries] of this.byTask) {
      for (const [id, { sample, score }] of entries) yield { task, id, sample, score };
    }
  }

  /** A plain-JSON snapshot (to ship with model weights); `encodeSample` turns a sample into JSON. */
  toJSON<E>(encodeSample: (sample: T, task: string, id: string) => E): HardSampleMemoryJSON<E> {
    return {
      version: 1,
      capacity: this.capacity,
      perTask: this.perTask,
      balance: this.balance,
      tasks: [...this.byTask].map(([task, entries]) => ({
        task,
        entries: [...entries].map(([id, s]) => ({ id, score: s.score, sample: encodeSample(s.sample, task, id) })),
      })),
    };
  }

  /** Rebuilds a memory from {@link HardSampleMemory.toJSON} output; throws INVALID_ARGUMENT if malformed. */
  static fromJSON<T, E>(json: HardSampleMemoryJSON<E>, decodeSample: (encoded: E, task: string, id: string) => T): HardSampleMemory<T> {
    if (!json || json.version !== 1 || !Array.isArray(json.tasks)) {
      throw new SimpleIRError('INVALID_ARGUMENT', 'HardSampleMemory.fromJSON: expected an object with version 1 and a tasks array.');
    }
    const memory = new HardSampleMemory<T>({ capacity: json.capacity, perTask: json.perTask, balance: json.balance });
    for (const { task, entries } of json.tasks) {
      if (!Array.isArray(entries)) {
        throw new SimpleIRError('INVALID_ARGUMENT', `HardSampleMemory.fromJSON: task '${task}' has no entries array.`, { task });
      }
      for (const { id, score, sample } of entries) memory.add(task, id, decodeSample(sample, task, id), score);
    }
    return memory;
  }

  private addBalanced(task: string, id: string, sample: T, score: number): boolean {
    const isNew = !this.byTask.has(task);
    const order = isNew ? [...this.byTask.keys(), task] : [...this.byTask.keys()];
    const quota = this.quota(order.indexOf(task), order.length);
    if (quota === 0) return false;
    if (isNew) order.slice(0, -1).forEach((t, i) => this.shrink(t, this.quota(i, order.length)));
    return this.insert(task, id, { sample, score }, quota);
  }

  private addByScore(task: string, id: string, sample: T, score: number): boolean {
    const held = this.byTask.get(task)?.size ?? 0;
    if (held < this.perTask && this.count >= this.capacity) {
      const lowest = this.lowest();
      if (!lowest || score <= lowest.score) return false;
      this.evict(lowest.task, lowest.id);
      if (lowest.task !== task) this.dropIfEmpty(lowest.task);
    }
    return this.insert(task, id, { sample, score }, this.perTask);
  }

  /** Inserts into `task` (created if absent) holding at most `limit >= 1`, replacing its lowest score if full. */
  private insert(task: string, id: string, stored: Stored<T>, limit: number): boolean {
    let entries = this.byTask.get(task);
    if (!entries) this.byTask.set(task, (entries = new Map()));
    if (entries.size >= limit) {
      const lowest = this.lowest(task) as { id: string; score: number };
      if (stored.score <= lowest.score) return false;
      this.evict(task, lowest.id);
    }
    entries.set(id, stored);
    this.count += 1;
    return true;
  }

  /** Share of task `index` of `tasks` under balancing. */
  private quota(index: number, tasks: number): number {
    const base = Math.floor(this.capacity / tasks);
    return Math.min(this.perTask, base + (index < this.capacity % tasks ? 1 : 0));
  }

  /** Keeps the `limit` highest-score samples of `task` (earlier insertions win ties). */
  private shrink(task: string, limit: number): void {
    const entries = this.byTask.get(task);
    if (!entries || entries.size <= limit) return;
    const ranked = [...entries].sort((a, b) => b[1].score - a[1].score);
    for (const [id] of ranked.slice(limit)) this.evict(task, id);
  }

  /** The lowest-score entry (of `task`, or of all tasks); among ties the latest inserted. */
  private lowest(task?: string): { task: string; id: string; score: number } | undefined {
    let found: { task: string; id: string; score: number } | undefined;
    for (const [t, entries] of this.byTask) {
      if (task !== undefined && t !== task) continue;
      for (const [id, { score }] of entries) {
        if (!found || score <= found.score) found = { task: t, id, score };
      }
    }
    return found;
  }

  private evict(task: string, id: string): void {
    if (this.byTask.get(task)?.delete(id)) this.count -= 1;
  }

  private dropIfEmpty(task: string): void {
    if (this.byTask.get(task)?.size === 0) this.byTask.delete(task);
  }
}

/**
 * Chooses the `q` samples of a finished stage to keep in the memory, among `candidates` (ids,
 * duplicates ignored). `'difficult'`: highest fluctuation in `history` first (ties by id; samples
 * seen fewer than twice score 0). `'random'` (the "review with random samples" baseline): `q`
 * ids uniformly at random, deterministic given `rng`.
 */
export function selectForMemory(
  history: LossHistory,
  candidates: Iterable<string>,
  q: number,
  strategy: MemorySelection,
  rng: Random,
): string[] {
  checkCount('q', q);
  const ids = [...new Set(candidates)];
  if (strategy === 'difficult') {
    return ids.map((id) => [id, history.fluctuation(id)] as [string, number]).sort(byScoreThenId).slice(0, q).map(([id]) => id);
  }
  if (strategy === 'random') {
    const pool = new Pool(ids);
    return Array.from({ length: Math.min(q, ids.length) }, () => pool.draw(rng));
  }
  throw new SimpleIRError('INVALID_ARGUMENT', `selectForMemory: strategy must be 'difficult' or 'random', got ${String(strategy)}.`, { strategy });
}

/** Draws items without replacement (lazy Fisher-Yates), starting over once exhausted. */
class Pool<I> {
  private next = 0;
  constructor(private readonly items: I[]) {}

  draw(rng: Random): I {
    if (this.next >= this.items.length) this.next = 0;
    const j = rng.int(this.next, this.items.length - 1);
    const picked = this.items[j] as I;
    this.items[j] = this.items[this.next] as I;
    this.items[this.next] = picked;
    this.next += 1;
    return picked;
  }
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `HardSampleMemory: ${name} must be an integer >= 0, got ${value}.`, { [name]: value });
  }
  return value;
}
