/**
 * Real-world media through `simpleir restore` (the CLI's own entry point, in this process): every case
 * of scripts/media-corpus.ts, made by ffmpeg at test time, restored with the identity model, and
 * checked with ffprobe against its input: frame count, each frame's timestamp (one tick), display
 * size, pixel aspect, colour tags, field order, mean colour per quadrant (2 levels), audio.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { compareFacts, makeCase, MEDIA_CASES, videoFacts } from '../scripts/media-corpus.js';
import { useBackend } from './helpers/tf.js';

const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
let dir: string;
let identity: string;

before(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'simpleir-corpus-'));
  const files = SimpleIR.create('tiny').toWeightFiles({ weightsFile: 'identity.bin' });
  writeFileSync(join(dir, 'identity.bin'), files.data);
  writeFileSync(join(dir, 'identity.json'), JSON.stringify(files.manifest));
  identity = join(dir, 'identity.json');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('media corpus through simpleir restore', { skip: noFfmpeg }, () => {
  for (const c of MEDIA_CASES) {
    test(c.name, async () => {
      const input = makeCase(c, dir);
      const output = join(dir, `${c.name}.restored${c.output}`);
      process.exitCode = 0;
      await main(['node', 'simpleir', 'restore', input, '-o', output, '--model', identity]);
      const code = process.exitCode;
      process.exitCode = 0;
      assert.equal(code, 0, 'simpleir restore failed (its error is printed above)');
      const inFacts = videoFacts(input);
      const outFacts = videoFacts(output);
      const failed = compareFacts(inFacts, outFacts, { means: true }).filter((r) => !r.pass);
      assert.deepEqual(failed, [], failed.map((r) => `${r.property}: ${r.detail}`).join('; '));
      // The checks compare values, not only that both sides agree: pin what the corpus is made of.
      if (c.name.startsWith('vfr')) assert.deepEqual(outFacts.pts.map((t) => Math.round(t * 1000)), [0, 10, 40, 90, 160, 250]);
      if (c.name.startsWith('phone')) {
        const gaps = outFacts.pts.slice(1).map((t, i) => Math.round((t - outFacts.pts[i]!) * 3000));
        assert.deepEqual(gaps, [100, 100, 100, 100, 200, 100, 100, 100, 100, 100], 'frames 1/30 s apart, one 2/30 s gap');
      }
      if (c.name.startsWith('fragmented')) assert.equal(Math.round(outFacts.pts[0]! * 1000), 40);
      if (c.name.includes('anamorphic')) assert.equal(outFacts.aspect, '16:15');
      if (c.name === 'rotate-90') assert.deepEqual(outFacts.display, [48, 64]);
      if (c.name === 'bt709-full') assert.deepEqual(outFacts.colour, { space: 'bt709', primaries: 'bt709', transfer: 'bt709', range: 'pc' });
      if (c.name === 'aac-audio') assert.ok(Math.abs(outFacts.audio!.duration - 0.6) < 0.03, `audio ${outFacts.audio?.duration} s`);
      if (c.name.includes('interlaced')) assert.equal(outFacts.fieldOrder, 'tt');
    });
  }

  test('with the shipped tiny weights (realism): VFR, BT.709 and AAC cases keep frames, times, tags and audio', async () => {
    for (const name of ['vfr-0-10-40-90-160-250ms', 'bt709-full', 'aac-audio']) {
      const c = MEDIA_CASES.find((m) => m.name === name)!;
      const input = makeCase(c, dir);
      const output = join(dir, `${c.name}.tiny${c.output}`);
      process.exitCode = 0;
      await main(['node', 'simpleir', 'restore', input, '-o', output, '--model', 'tiny']);
      const code = process.exitCode;
      process.exitCode = 0;
      assert.equal(code, 0, `simpleir restore --model tiny failed on ${name}`);
      const failed = compareFacts(videoFacts(input), videoFacts(output), { means: false }).filter((r) => !r.pass);
      assert.deepEqual(failed, [], `${name}: ${failed.map((r) => `${r.property}: ${r.detail}`).join('; ')}`);
    }
  });
});
