/**
 * Every command that needs the training photographs says in one line how to fetch them when they are
 * missing, instead of dying with a stack trace: `$SIMPLEIR_PHOTOS` points at an empty temp folder and
 * each script (and `simpleir train`) runs as a child process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { photosDir, trainingPhotos } from '../src/cli/photos';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let empty: string;

before(async () => {
  empty = await mkdtemp(join(tmpdir(), 'simpleir-no-photos-'));
});
after(async () => {
  await rm(empty, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', ...args], { cwd: root, timeout: 120_000, env: { ...process.env, SIMPLEIR_PHOTOS: empty } }, (error, stdout, stderr) => {
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const EXPECTED = (dir: string): RegExp => new RegExp(`^The training photographs are missing \\(no ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/manifest\\.json\\): fetch them once with \`npm run fetch-photos -- --out ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``);

test('trainingPhotos(): the folder comes from SIMPLEIR_PHOTOS; missing, a typed IO_ERROR naming npm run fetch-photos', async () => {
  const before = process.env.SIMPLEIR_PHOTOS;
  process.env.SIMPLEIR_PHOTOS = empty;
  try {
    assert.equal(photosDir(), empty);
    await assert.rejects(trainingPhotos(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'IO_ERROR');
      assert.match(e.message, EXPECTED(empty));
      return true;
    });
  } finally {
    if (before === undefined) delete process.env.SIMPLEIR_PHOTOS;
    else process.env.SIMPLEIR_PHOTOS = before;
  }
  assert.equal(photosDir(), before ?? '.cache/photos');
});

for (const [name, args] of [
  ['npm run evaluate', ['scripts/evaluate.ts', '--size', '64x48']],
  ['npm run experiment:online -- --quick', ['scripts/experiment-online.ts', '--quick']],
  ['npm run experiment:review -- --quick', ['scripts/experiment-review.ts', '--quick']],
  ['npm run detect', ['scripts/detect.ts']],
  ['simpleir train', ['scripts/simpleir.ts', 'train', '--steps', '1', '-o', 'out/never-written']],
] as const) {
  test(`${name} without photographs: one line naming npm run fetch-photos, exit code 1, no stack trace`, async () => {
    const r = await run([...args]);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^warning:|Initialization of backend|^\s*$/.test(l));
    assert.equal(r.code, 1, `exit code ${r.code}; stderr:\n${r.stderr}`);
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0]!.replace(/^simpleir: error \[IO_ERROR\]: /, ''), EXPECTED(empty));
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at |ENOENT/, 'a stack trace or a raw ENOENT');
  });
}
