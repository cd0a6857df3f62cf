/**
 * Task order of Review Learning: tasks are trained easiest first, difficulty being the mean
 * |entropy(degraded) - entropy(clean)| of their pairs; an explicit order can replace it.
 */

import { SimpleIRError } from '../errors.js';
import { levelEntropy } from '../quality.js';

/** Entropy differences measured on a sample of one task's pairs. */
export interface TaskEntropyStats {
  task: string;
  /** `entropy(degraded) - entropy(clean)` per pair (sign kept; ordering uses the magnitude). */
  entropyDiffs: number[];
}

/**
 * `H(degraded) - H(clean)` in bits, where H is the Shannon entropy of an 8-bit luminance
 * histogram (256 bins). The sign is kept for histograms; ordering uses its magnitude.
 */
export function entropyDifference(cleanLuma: Uint8Array, degradedLuma: Uint8Array): number {
  return levelEntropy(degradedLuma, 'entropyDifference: degradedLuma') - levelEntropy(cleanLuma, 'entropyDifference: cleanLuma');
}

/**
 * Task names easiest first, by mean |entropy difference| (ties broken by name). Throws
 * INVALID_ARGUMENT on duplicate tasks, or a task without finite differences.
 */
export function orderTasksByDifficulty(stats: readonly TaskEntropyStats[]): string[] {
  const seen = new Set<string>();
  const scored = stats.map(({ task, entropyDiffs }) => {
    if (seen.has(task)) throw new SimpleIRError('INVALID_ARGUMENT', `orderTasksByDifficulty: task '${task}' appears twice.`, { task });
    seen.add(task);
    if (entropyDiffs.length === 0 || !entropyDiffs.every(Number.isFinite)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `orderTasksByDifficulty: task '${task}' needs at least one finite entropy difference.`, { task });
    }
    const mean = entropyDiffs.reduce((s, d) => s + Math.abs(d), 0) / entropyDiffs.length;
    return { task, mean };
  });
  return scored.sort((a, b) => a.mean - b.mean || (a.task < b.task ? -1 : a.task > b.task ? 1 : 0)).map((s) => s.task);
}

/**
 * Checks an explicit task order against the known tasks and returns a copy of it. Tasks may
 * be left out (to train a subset); throws INVALID_ARGUMENT on an empty order, an unknown
 * task, or a task named twice.
 */
export function validateTaskOrder(explicit: readonly string[], known: readonly string[]): string[] {
  if (explicit.length === 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Task order is empty; name one or more of: ${known.join(', ')}.`, { known });
  }
  const unknown = explicit.filter((t) => !known.includes(t));
  if (unknown.length > 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Unknown task(s) in the task order: ${unknown.join(', ')}; known tasks are: ${known.join(', ')}.`, { unknown, known });
  }
  const duplicates = explicit.filter((t, i) => explicit.indexOf(t) !== i);
  if (duplicates.length > 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Task(s) named more than once in the task order: ${[...new Set(duplicates)].join(', ')}; name each task once.`, { duplicates });
  }
  return [...explicit];
}
