/**
 * Where a benchmark or experiment writes its results without overwriting an earlier run of the same day:
 * the results are named by date, and a second run that day used to replace the first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Today's date, `YYYY-MM-DD` (UTC), as the result files are named. */
export function resultDate(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * The path, without extension, of a new result in `dir`: `dir/stem` when no file `dir/stem.EXT` exists
 * for any of `exts`, else `dir/stem-2`, `dir/stem-3`, ... (the first free one), so every file of one run
 * (e.g. `.json`, `.svg`, `.md`) shares one name and no earlier run is replaced.
 */
export function freshResultBase(dir: string, stem: string, exts: readonly string[] = ['json']): string {
  const taken = (base: string): boolean => exts.some((ext) => existsSync(`${base}.${ext}`));
  let base = join(dir, stem);
  for (let n = 2; taken(base); n++) base = join(dir, `${stem}-${n}`);
  return base;
}
