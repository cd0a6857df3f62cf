/** The shared Node file helpers (src/adapters/node/files.ts): atomic writes, path and file checks, folder errors. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertReadableFile, checkPath, folderError, writeAtomic } from '../src/adapters/node/files.js';
import { isSimpleIRError } from '../src/core/errors.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simpleir-files-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** How many bytes of `data` equal `value`. */
function count(data: Uint8Array, value: number): number {
  let n = 0;
  for (const v of data) if (v === value) n++;
  return n;
}

describe('writeAtomic', () => {
  test('replaces an existing file with the new content and leaves no temporary file', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, '{"old":true}');
    await writeAtomic(file, '{"new":true}');
    assert.equal(await readFile(file, 'utf8'), '{"new":true}');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('state.json')), ['state.json']);
  });

  test('two writes of the same file at once both succeed, and the file is wholly one of them', async () => {
    const file = join(dir, 'weights.bin');
    const size = 4 << 20;
    const ones = new Uint8Array(size).fill(1);
    const twos = new Uint8Array(size).fill(2);
    const results = await Promise.allSettled([writeAtomic(file, ones), writeAtomic(file, twos)]);
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status)), ['fulfilled', 'fulfilled']);
    const data = new Uint8Array(await readFile(file));
    assert.equal(data.length, size);
    const n1 = count(data, 1);
    assert.ok(n1 === 0 || n1 === size, `the file mixes both writes: ${n1} bytes of the first, ${count(data, 2)} of the second`);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('weights.bin')), ['weights.bin']);
  });

  test('a write into a missing folder fails with the system error and leaves nothing behind', async () => {
    const file = join(dir, 'missing', 'x.json');
    await assert.rejects(writeAtomic(file, 'x'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    assert.deepEqual((await readdir(dir)).filter((n) => n === 'missing'), []);
  });

  test('a failed rename (the target is a folder) removes the temporary file', async () => {
    const target = join(dir, 'is-a-folder');
    await mkdir(target);
    await assert.rejects(writeAtomic(target, 'x'));
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('is-a-folder')), ['is-a-folder']);
  });
});

describe('checks', () => {
  test('checkPath takes a non-empty string and names the call and what it wanted otherwise', () => {
    assert.doesNotThrow(() => checkPath('readImage(path)', 'a.png'));
    for (const bad of ['', 42, undefined, null, ['a.png']]) {
      assert.throws(
        () => checkPath('loadCheckpoint(dir)', bad, 'a folder path'),
        (e: unknown) => isSimpleIRError(e) && e.code === 'INVALID_ARGUMENT' && /loadCheckpoint\(dir\)/.test(e.message) && /a folder path/.test(e.message),
      );
    }
  });

  test('assertReadableFile: IO_ERROR for a missing path and for a folder, nothing for a file', async () => {
    const file = join(dir, 'present.txt');
    await writeFile(file, 'x');
    await assertReadableFile(file);
    await assert.rejects(assertReadableFile(join(dir, 'absent.txt')), (e: unknown) => isSimpleIRError(e) && e.code === 'IO_ERROR' && /file not found: .*absent\.txt/.test(e.message));
    await assert.rejects(assertReadableFile(dir), (e: unknown) => isSimpleIRError(e) && e.code === 'IO_ERROR' && e.message === `not a file: ${dir}`);
  });

  test('folderError says which part of the folder path is a file', () => {
    const e = folderError('/a/b/out.png', Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' }));
    assert.equal(e.code, 'IO_ERROR');
    assert.match(e.message, /a part of the folder \/a\/b is a file, not a folder/);
    const other = folderError('/a/b/out.png', Object.assign(new Error('EACCES: permission denied\nmore'), { code: 'EACCES' }));
    assert.match(other.message, /cannot create the folder of \/a\/b\/out\.png: EACCES: permission denied\. Choose/);
  });
});
