/**
 * The training photographs for the `simpleir` command and the scripts that need them: where they are
 * (`$SIMPLEIR_PHOTOS`, default `.cache/photos`), and one line saying how to fetch them when they are missing.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_PHOTOS_DIR, loadPhotoSet, type PhotoSet } from '../training/photos.js';
import { isSimpleIRError, SimpleIRError } from '../core/errors.js';

export { DEFAULT_PHOTOS_DIR };

/** Environment variable naming another folder for the photo set. */
export const PHOTOS_DIR_ENV = 'SIMPLEIR_PHOTOS';

/** The photo set's folder: `$SIMPLEIR_PHOTOS` when set, else `.cache/photos`. */
export function photosDir(): string {
  return process.env[PHOTOS_DIR_ENV] || DEFAULT_PHOTOS_DIR;
}

/** True when the photo set's manifest exists. */
export function hasPhotos(dir: string = photosDir()): boolean {
  return existsSync(join(dir, 'manifest.json'));
}

/**
 * Loads the photo set of {@link photosDir}.
 * @throws SimpleIRError `IO_ERROR` when it is missing, in one sentence naming `npm run fetch-photos`;
 *   the errors of `loadPhotoSet` otherwise (a broken manifest, a missing file).
 */
export async function trainingPhotos(): Promise<PhotoSet> {
  const dir = photosDir();
  if (!hasPhotos(dir)) {
    const fetch = dir === DEFAULT_PHOTOS_DIR ? 'npm run fetch-photos' : `npm run fetch-photos -- --out ${dir}`;
    throw new SimpleIRError('IO_ERROR', `The training photographs are missing (no ${join(resolve(dir), 'manifest.json')}): fetch them once with \`${fetch}\` (free photographs from Debian's archive, a few seconds).`, { path: dir });
  }
  return loadPhotoSet(dir);
}

/**
 * {@link trainingPhotos} for scripts: when the photographs are missing or unreadable, prints the
 * error's one-line message to stderr and exits with code 1, instead of a stack trace.
 */
export async function trainingPhotosOrExit(): Promise<PhotoSet> {
  try {
    return await trainingPhotos();
  } catch (e) {
    if (!isSimpleIRError(e)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
