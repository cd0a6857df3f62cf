/**
 * A wider, slower sweep than the MP4 fuzz test: mutants of the same four bases through the MP4
 * demuxer alone (mp4box is plain JavaScript, so Node runs it), many thousands at a time. Not part of
 * `npm test`; run it when the demuxer changes, e.g. `npx tsx test/fuzz/mp4-demux-sweep.ts 200000 10000`
 * (first seed, count). Prints each untyped error and each input slower than 300 ms with its seed; the
 * last seed tried is written to $TMPDIR/mp4-sweep-current, so a crash of the process names its input.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mp4Demuxer } from '../../src/adapters/browser/mp4-demuxer.js';
import { openByteReader } from '../../src/adapters/browser/mp4-reader.js';
import { isSimpleIRError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { ffmpeg } from '../browser/video-fixtures.js';
import { mutateMp4 } from '../helpers/mutate.js';

const [first = 200_000, count = 1000] = process.argv.slice(2).map(Number);
const dir = await mkdtemp(join(tmpdir(), 'simpleir-mp4-sweep-'));
const pattern = ['-f', 'lavfi', '-i', 'testsrc2=size=48x32:rate=30', '-t', '0.2'];
const h264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
// The bases of test/browser/fuzz-mp4.test.ts, in the same order.
await ffmpeg([...pattern, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.2', ...h264, '-c:a', 'aac', '-t', '0.2', '-movflags', '+faststart', join(dir, '0.mp4')]);
await ffmpeg([...pattern, ...h264, join(dir, '1.mp4')]);
await ffmpeg([...pattern, ...h264, '-g', '2', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', join(dir, '2.mp4')]);
await ffmpeg(['-i', 'examples/assets/sample-rain.mp4', '-frames:v', '3', '-t', '0.125', '-c', 'copy', '-movflags', '+faststart', join(dir, '3.mp4')]);
const bases = await Promise.all([0, 1, 2, 3].map(async (i) => new Uint8Array(await readFile(join(dir, `${i}.mp4`)))));
await rm(dir, { recursive: true, force: true });

// mp4box reports what it finds wrong on the console: silence it.
console.error = () => undefined;
console.warn = () => undefined;
const current = join(tmpdir(), 'mp4-sweep-current');
let ok = 0;
let typed = 0;
let bad = 0;
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const seed = first + i;
  const input = mutateMp4(bases[i % 4]!, new Random(seed));
  writeFileSync(current, `seed ${seed}, base ${i % 4}, ${input.kind}\n`);
  const started = performance.now();
  try {
    const d = await Mp4Demuxer.open(await openByteReader(input.bytes));
    d.decoderConfig();
    while (await d.nextSample());
    d.close();
    ok++;
  } catch (e) {
    if (isSimpleIRError(e)) typed++;
    else {
      bad++;
      console.log(`untyped: seed ${seed}, base ${i % 4}, ${input.kind}: ${(e as Error)?.stack ?? String(e)}`);
    }
  }
  const ms = performance.now() - started;
  if (ms > 300) {
    bad++;
    console.log(`slow: seed ${seed}, base ${i % 4}, ${input.kind}: ${ms.toFixed(0)} ms`);
  }
}
console.log(`${count} mutants from seed ${first}: ${ok} demuxed, ${typed} typed errors, ${bad} problems; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exitCode = bad > 0 ? 1 : 0;
