/** Shared pieces of the `simpleir` command line: model loading, backend choice, progress output, errors. */
import { SingleBar } from 'cli-progress';
import { selectBackend, type BackendName } from '../core/backend.js';
import { SimpleIRError } from '../core/errors.js';
import { SimpleIR } from '../core/model/simpleir.js';

/** Chooses the backend for a CLI run (default wasm in Node). */
export async function useBackend(name: string | undefined): Promise<string> {
  const info = await selectBackend((name ?? 'wasm') as BackendName, { onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
  return info.name;
}

/** Loads `tiny`, `base` or a weight file path. */
export async function loadModel(spec: string | undefined): Promise<SimpleIR> {
  return SimpleIR.load(spec ?? 'tiny');
}

/** Progress for long work: a bar on a terminal, plain lines otherwise. */
export class Progress {
  private bar: SingleBar | null = null;
  private lastLine = 0;

  constructor(private readonly total: number, private readonly label: string) {
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | {info} | eta {eta_formatted}`, stream: process.stderr, hideCursor: true }, undefined);
    }
  }

  start(value: number, info = ''): void {
    this.bar?.start(this.total, value, { info });
  }

  update(value: number, info: string): void {
    if (this.bar) {
      this.bar.update(value, { info });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine > 10_000 || value === this.total) {
      this.lastLine = now;
      process.stderr.write(`${this.label} ${value}/${this.total} ${info}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** Prints an error as one clear line and sets a non-zero exit code. */
export function reportError(e: unknown): void {
  if (e instanceof SimpleIRError) process.stderr.write(`simpleir: error [${e.code}]: ${e.message}\n`);
  else process.stderr.write(`simpleir: error: ${(e as Error)?.message ?? String(e)}\n`);
  process.exitCode = 1;
}

/** Parses a number option or throws a clear error. */
export function numberOption(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean = () => true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new SimpleIRError('INVALID_ARGUMENT', `--${name} ${value} is not valid.`);
  return n;
}
