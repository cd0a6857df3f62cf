/** The README's code blocks, read as they are written, for the consumer tests that check or run them. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './scratch';

/** The ```ts blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The ```ts blocks of the repository's README.md, in order. */
export async function readmeTsBlocks(): Promise<string[]> {
  return tsBlocks(await readFile(join(REPO_ROOT, 'README.md'), 'utf8'));
}
