/** Node adapter helpers shared by the file sources, sinks and stores: argument and file checks, folder errors, atomic writes. */

import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { invalidArgument, SimpleIRError } from '../../core/errors.js';

/**
 * Throws `INVALID_ARGUMENT` unless `path` is a non-empty string; `where` names the call (`readImage(path)`).
 * The file adapters call it first, so that a wrong argument is not reported as a missing file.
 */
export function checkPath(where: string, path: unknown, expected = 'a file path'): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(where, expected, path);
}

/**
 * Checks that `path` is a readable file.
 * @throws SimpleIRError `IO_ERROR` naming the file ("file not found", "not a file", "cannot read").
 */
export async function assertReadableFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new SimpleIRError('IO_ERROR', `not a file: ${path}`, { path });
  } catch (e) {
    if (e instanceof SimpleIRError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${messageOf(e)}`;
    throw new SimpleIRError('IO_ERROR', message, { path }, { cause: e });
  }
}

/**
 * The error for a parent folder of `path` that cannot be created (`mkdir` failed with `e`): says when
 * a part of the folder path is a regular file, instead of the system's `EEXIST`/`ENOTDIR`.
 */
export function folderError(path: string, e: unknown): SimpleIRError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'EEXIST' || code === 'ENOTDIR'
    ? `a part of the folder ${dirname(path)} is a file, not a folder`
    : messageOf(e);
  return new SimpleIRError('IO_ERROR', `cannot create the folder of ${path}: ${why}. Choose an output path whose folders are folders (or can be made).`, { path, errno: code }, { cause: e });
}

/** Writes so far in this process: each write's temporary name is its own. */
let atomicWrites = 0;

/**
 * Writes `file` through a temporary name and a rename, so readers never see it half written. Each call
 * has its own temporary file (process id and a counter), so writes of the same file at once each leave
 * it whole (the last rename wins); a failed write removes its temporary file.
 */
export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${++atomicWrites}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The first line of an error's message (of `String(e)` for a non-Error), for one-line error messages. */
export function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
