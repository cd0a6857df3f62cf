/** The project's photo set written by `npm run fetch-photos` (its manifest, training and validation splits), and the check of the photo lists that training data is made from. */

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { invalidArgument, isOptionsObject, SimpleIRError } from '../core/errors.js';
import { checkPath } from '../adapters/node/files.js';

/** Which part of the photo set a photograph belongs to. */
export type PhotoSplit = 'train' | 'val';

/** One photograph of the photo set, as listed in its `manifest.json`. */
export interface PhotoEntry {
  /** Short unique name, e.g. `LadyBird`. */
  name: string;
  /** Absolute path of the image file. */
  file: string;
  /** Debian package it came from. */
  source: string;
  /** `train` or `val`; validation photographs are never trained on. */
  split: PhotoSplit;
  /** Width in pixels (after EXIF orientation). */
  width: number;
  /** Height in pixels (after EXIF orientation). */
  height: number;
  /** Licence note, when the manifest has one. */
  licence?: string;
}

/** The photo set: training and validation files, each list sorted by path. */
export interface PhotoSet {
  /** Absolute path of the folder holding `manifest.json`. */
  root: string;
  /** Training image files. */
  train: string[];
  /** Validation image files (held out from training). */
  val: string[];
  /** Every entry of the manifest, in its order. */
  photos: PhotoEntry[];
}

/** Where `npm run fetch-photos` puts the photo set, relative to the repository; the default of {@link loadPhotoSet}, which resolves it from the working folder. */
export const DEFAULT_PHOTOS_DIR = '.cache/photos';

const FETCH_HINT = 'run `npm run fetch-photos` (node scripts/fetch-photos.mjs) to fetch it';

/**
 * Reads the photo set under `root` (default `.cache/photos`, relative to the working folder)
 * from its `manifest.json`.
 * @throws SimpleIRError `IO_ERROR` when the set or one of its files is missing (the message
 *   says to run `npm run fetch-photos`), `CORRUPT_INPUT` when the manifest cannot be parsed.
 */
export async function loadPhotoSet(root = DEFAULT_PHOTOS_DIR): Promise<PhotoSet> {
  checkPath('loadPhotoSet(root)', root, 'a folder path');
  const dir = resolve(root);
  const manifestPath = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new SimpleIRError('IO_ERROR', `no photo set in ${dir} (${manifestPath} is missing): ${FETCH_HINT}`, { path: manifestPath }, { cause: e });
  }
  const photos = parseManifest(text, manifestPath).map((p) => ({ ...p, file: resolve(dir, p.file) }));
  const missing: string[] = [];
  for (const p of photos) {
    if (!(await stat(p.file).then((s) => s.isFile(), () => false))) missing.push(p.file);
  }
  if (missing.length > 0) {
    throw new SimpleIRError(
      'IO_ERROR',
      `the photo set in ${dir} lacks ${missing.length} of its ${photos.length} files (first: ${missing[0]}): ${FETCH_HINT}`,
      { path: dir, missing },
    );
  }
  const files = (split: PhotoSplit): string[] => photos.filter((p) => p.split === split).map((p) => p.file).sort();
  return { root: dir, train: files('train'), val: files('val'), photos };
}

function parseManifest(text: string, path: string): PhotoEntry[] {
  const bad = (why: string): SimpleIRError =>
    new SimpleIRError('CORRUPT_INPUT', `${path} is not a valid photo manifest (${why}): delete it and ${FETCH_HINT}`, { path });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(e instanceof Error ? e.message : 'bad JSON');
  }
  const list = (json as { photos?: unknown } | null)?.photos;
  if (!Array.isArray(list)) throw bad('no "photos" list');
  return list.map((p: Record<string, unknown>, i) => {
    const ok =
      typeof p?.name === 'string' &&
      typeof p.file === 'string' &&
      (p.split === 'train' || p.split === 'val') &&
      Number.isInteger(p.width) &&
      Number.isInteger(p.height);
    if (!ok) throw bad(`entry ${i} lacks name, file, split, width or height`);
    return {
      name: p.name as string,
      file: p.file as string,
      source: typeof p.source === 'string' ? p.source : 'unknown',
      split: p.split as PhotoSplit,
      width: p.width as number,
      height: p.height as number,
      ...(typeof p.licence === 'string' ? { licence: p.licence } : {}),
    };
  });
}

/**
 * Throws `INVALID_ARGUMENT` unless `options` is an options object whose `files` is a list of non-empty
 * paths; `where` names the call (`createPhotoPairSource(options)`).
 */
export function checkPhotoFiles(where: string, options: { files?: unknown } | undefined): void {
  if (!isOptionsObject(options)) throw invalidArgument(where, 'an options object with files: [paths of photographs]', options);
  const files = options!.files;
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'string' || f.length === 0)) {
    throw invalidArgument(`${where}: files`, 'a list of image file paths (e.g. from listImages(dir))', files);
  }
}
