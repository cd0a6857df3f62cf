/** bench/result-file.ts: a rerun on the same day gets a new name instead of replacing the first run's results. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freshResultBase, resultDate } from '../bench/result-file.js';

const dir = mkdtempSync(join(tmpdir(), 'result-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the first run takes the plain name, reruns -2, -3; a file of any of the run’s extensions counts', () => {
  assert.equal(resultDate(new Date('2026-12-07T23:59:00Z')), '2026-12-07');
  assert.equal(freshResultBase(dir, 'quality-tiny-2026-12-07'), join(dir, 'quality-tiny-2026-12-07'));
  writeFileSync(join(dir, 'quality-tiny-2026-12-07.json'), '{}');
  assert.equal(freshResultBase(dir, 'quality-tiny-2026-12-07'), join(dir, 'quality-tiny-2026-12-07-2'));
  writeFileSync(join(dir, 'quality-tiny-2026-12-07-2.json'), '{}');
  assert.equal(freshResultBase(dir, 'quality-tiny-2026-12-07'), join(dir, 'quality-tiny-2026-12-07-3'));
  writeFileSync(join(dir, 'review-a.svg'), '<svg/>');
  assert.equal(freshResultBase(dir, 'review-a'), join(dir, 'review-a'), 'only .json is checked by default');
  assert.equal(freshResultBase(dir, 'review-a', ['json', 'svg', 'md']), join(dir, 'review-a-2'));
});
