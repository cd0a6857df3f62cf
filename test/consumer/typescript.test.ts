/**
 * The README's TypeScript snippets, copied as they are from README.md into a consumer project of the
 * installed tarball, type-check with `tsc --noEmit` under moduleResolution `bundler` and `node16`
 * (strict). Names a snippet uses without defining them (the user's `canvas`,
 * `data`, `detector`, or the `model` of an earlier snippet) are declared in a globals file.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readmeTsBlocks } from './readme';
import { scratchApp, type ScratchApp } from './scratch';

/** What the snippets take from around them (the app's own variables, earlier snippets' results). */
const GLOBALS_D_TS = `type Browser = typeof import('simpleir-stream/browser');
declare global {
  const data: Uint8Array;
  const width: number;
  const height: number;
  const canvas: HTMLCanvasElement;
  const file: File;
  function download(blob: Blob): void;
  const model: import('simpleir-stream/browser').SimpleIR;
  const createRestorer: Browser['createRestorer'];
  const fromCamera: Browser['fromCamera'];
  const restore: Browser['restore'];
  const toCanvas: Browser['toCanvas'];
  const tf: typeof import('@tensorflow/tfjs');
  const detector: { executeAsync(input: unknown): Promise<unknown> };
  function prepare(input: unknown): unknown;
}
export {};
`;

let app: ScratchApp;
let snippets: string[];
before(async () => {
  app = await scratchApp();
  snippets = await readmeTsBlocks();
});

test('the README has TypeScript snippets to check', () => {
  assert.ok(snippets.length >= 4, `expected the README's ts blocks, found ${snippets.length}`);
  assert.ok(snippets.some((s) => s.includes("from 'simpleir-stream/browser'")) && snippets.some((s) => s.includes("from 'simpleir-stream/node'")));
});

for (const [resolution, module] of [['bundler', 'esnext'], ['node16', 'node16']] as const) {
  test(`the README's snippets type-check in a consumer project (moduleResolution ${resolution})`, async () => {
    const dir = join(app.dir, `ts-${resolution}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const files = snippets.map((_, i) => `readme-${i + 1}.ts`);
    // Each snippet is a module of its own (`export {}`), as in an app: their top-level names do not meet.
    await Promise.all(snippets.map((s, i) => writeFile(join(dir, files[i]!), `${s}export {};\n`)));
    await writeFile(join(dir, 'globals.d.ts'), GLOBALS_D_TS);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        target: 'es2022',
        module,
        moduleResolution: resolution,
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: ['node'],
        noEmit: true,
        // tfjs's own declarations fail strict checks (tfjs-core's hash_util needs 'Long', tfjs-layers'
        // configs), so library files are skipped; the snippets' use of this package's types is checked.
        skipLibCheck: true,
      },
      files: ['globals.d.ts', ...files],
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    try {
      await app.exec(join(app.dir, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: dir });
    } catch (e) {
      const listing = snippets.map((s, i) => `--- ${files[i]} ---\n${s}`).join('\n');
      throw new Error(`${(e as Error).message}\nSnippets:\n${listing}`, { cause: e });
    }
  });
}
