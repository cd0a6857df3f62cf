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
  | 'ABORTED';

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
