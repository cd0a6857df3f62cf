/**
 * The fuzz loop of the Node fuzz tests: makes `count` mutants from deterministic seeds, runs each
 * through the code under test with a time bound, and sorts the outcomes into "decoded" (a harmless
 * mutation), "typed error" (a SimpleIRError with an expected code) and failures (anything else: an
 * untyped error, an unexpected code, a hang).
 *
 *   const r = await fuzz({ name: 'y4m', count: 1000, seed: 7, mutate, exercise, codes: ['CORRUPT_INPUT'] });
 *   assert.deepEqual(r.failures, []);
 */
import { Random } from '../../src/core/random.js';
import { isSimpleIRError } from '../../src/core/errors.js';
import type { Mutant } from './mutate.js';

/** One failure: enough to reproduce it (the seed) and to see what went wrong. */
export interface FuzzFailure {
  readonly index: number;
  readonly seed: number;
  readonly kind: string;
  readonly problem: string;
}

/** What a fuzz run saw. */
export interface FuzzReport {
  readonly name: string;
  readonly tried: number;
  /** Mutants that went through without an error. */
  readonly decoded: number;
  /** Typed errors by code. */
  readonly codes: Record<string, number>;
  /** Inputs tried by mutation kind. */
  readonly kinds: Record<string, number>;
  readonly failures: FuzzFailure[];
  /** Slowest input in ms. */
  readonly slowestMs: number;
  readonly totalMs: number;
}

export interface FuzzOptions {
  readonly name: string;
  readonly count: number;
  /** Seed of the first input; input i uses `seed + i`. */
  readonly seed: number;
  /** Makes input `i` from its own generator. */
  readonly mutate: (rng: Random, index: number) => Mutant;
  /** Runs one input; resolves when it was read through, rejects with what the code under test threw. */
  readonly exercise: (input: Mutant, rng: Random, index: number) => Promise<void>;
  /** Error codes that are a correct answer to a damaged input. */
  readonly codes: readonly string[];
  /** Time bound per input (default 5 s). */
  readonly timeoutMs?: number;
}

const HANG = Symbol('hang');

/** Runs the fuzz loop (inputs one after another). */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { name, count, seed, codes } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const report = { name, tried: 0, decoded: 0, codes: {} as Record<string, number>, kinds: {} as Record<string, number>, failures: [] as FuzzFailure[], slowestMs: 0, totalMs: 0 };
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const s = seed + i;
    const rng = new Random(s);
    const input = options.mutate(rng, i);
    report.tried++;
    report.kinds[input.kind] = (report.kinds[input.kind] ?? 0) + 1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = performance.now();
    let outcome: unknown;
    try {
      const hang = new Promise<typeof HANG>((resolve) => {
        timer = setTimeout(() => resolve(HANG), timeoutMs);
      });
      outcome = await Promise.race([options.exercise(input, rng, i).then(() => null), hang]);
    } catch (e) {
      outcome = e;
    } finally {
      clearTimeout(timer);
    }
    const elapsed = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, elapsed);
    const fail = (problem: string): void => void report.failures.push({ index: i, seed: s, kind: input.kind, problem });
    // A synchronous loop blocks the timer too: the elapsed time catches what the race cannot.
    if (outcome === HANG || elapsed > timeoutMs) fail(`no answer within ${timeoutMs} ms (${elapsed.toFixed(0)} ms)`);
    else if (outcome === null) report.decoded++;
    else if (!isSimpleIRError(outcome)) fail(`untyped error: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
    else if (!codes.includes(outcome.code)) fail(`unexpected code ${outcome.code}: ${outcome.message}`);
    else if (outcome.message.length < 20) fail(`unhelpful message for ${outcome.code}: '${outcome.message}'`);
    else report.codes[outcome.code] = (report.codes[outcome.code] ?? 0) + 1;
  }
  report.totalMs = performance.now() - t0;
  return report;
}

/** One line for the test log: counts by outcome and code, and the time. */
export function summary(r: FuzzReport): string {
  const codes = Object.entries(r.codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  return `${r.name}: ${r.tried} inputs, ${r.decoded} decoded, typed errors: ${codes || 'none'}; ${r.failures.length} failure(s); ${(r.totalMs / 1000).toFixed(1)} s (slowest ${r.slowestMs.toFixed(0)} ms)`;
}

/** The failures, one line each (for an assertion message). */
export function failureLines(r: FuzzReport, max = 20): string {
  return r.failures
    .slice(0, max)
    .map((f) => `  #${f.index} seed ${f.seed} ${f.kind}: ${f.problem}`)
    .join('\n');
}
