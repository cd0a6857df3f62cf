/** Typed errors for every failure the SDK reports: a stable `code` plus a message that says what to do. */

/** Every error code the SDK can raise. */
export type SimpleIRErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_ARGUMENT'
  | 'INVALID_IMAGE'
  | 'WEIGHTS_NOT_FOUND'
  | 'WEIGHTS_INVALID'
  | 'WEIGHTS_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_INPUT'
  | 'UNSUPPORTED_CODEC'
  | 'NON_FINITE'
  | 'DEVICE_LOST'
  | 'IO_ERROR'
  | 'DISPOSED'
  | 'ABORTED'
  /** A worker that runs the model (`loadWorkerModel`) failed to start, crashed, or was terminated. */
  | 'WORKER_FAILED';

/** The one error class the SDK throws. `code` is stable; `message` explains the problem and the fix. */
export class SimpleIRError extends Error {
  /** Machine-readable reason. */
  readonly code: SimpleIRErrorCode;
  /** Extra facts (file name, frame timestamp, ...), when known. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: SimpleIRErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimpleIRError';
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a {@link SimpleIRError}, optionally with the given code. */
export function isSimpleIRError(e: unknown, code?: SimpleIRErrorCode): e is SimpleIRError {
  return e instanceof SimpleIRError && (code === undefined || e.code === code);
}

/** How a value reads in a message: `null`, `undefined`, `number -1`, `the string "x"`, `an array of 2`, `a Map`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `${typeof v} ${String(v)}`;
}

/** The `INVALID_ARGUMENT` error of a call: `where` (e.g. `readImage(path)`) expected `expected` and got `got`. */
export function invalidArgument(where: string, expected: string, got: unknown): SimpleIRError {
  return new SimpleIRError('INVALID_ARGUMENT', `${where}: expected ${expected}, got ${describeValue(got)}`);
}

/** True for a plain options object (not null, not an array). */
export function isOptionsObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
