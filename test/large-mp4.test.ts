/**
 * A 4K UHD MP4 end to end through the `simpleir` command line (issue 14): an H.264 test pattern made by
 * ffmpeg, restored with the shipped tiny weights tiled (the default at 4K) and untiled (`--tile 0`), the
 * two y4m outputs equal within one level on every plane and every row (tiles cut with float indices
 * corrupted every row from 1456 down), a flat box keeping its colour, and MP4 -> MP4 at 4K checked by ffprobe.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readY4m, type Y4mFrame, type Y4mHeader } from '../src/adapters/node/y4m.js';
import { ffmpeg, fixtureDir, FLAT_BOX, makeMp4, probeStreams, type FixtureDir } from './browser/video-fixtures.js';

const root = resolve(import.meta.dirname, '..');
const WIDTH = 3840;
const HEIGHT = 2160;
/** The row of a 4K RGB frame in which the values pass 2^24 (3840 * 3 * 1457 > 2^24). */
const FIRST_ROW_PAST_2_24 = Math.floor(2 ** 24 / (WIDTH * 3));
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';

let media: FixtureDir | undefined;
let input: string;

/** Runs the CLI from the sources; rejects with its stderr when it fails. Returns its stderr and the seconds it took. */
function cli(args: string[]): Promise<{ stderr: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((done, fail) => {
    execFile('npx', ['tsx', 'scripts/simpleir.ts', ...args], { cwd: root, timeout: 600_000 }, (error, _stdout, stderr) => {
      if (error) fail(new Error(`simpleir ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else done({ stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Every frame of a y4m file, with its header. */
async function readAll(path: string): Promise<{ header: Y4mHeader; frames: Y4mFrame[] }> {
  const reader = await readY4m(path);
  const frames: Y4mFrame[] = [];
  for await (const frame of reader.frames()) frames.push(frame);
  return { header: reader.header, frames };
}

/** Largest |a - b| over a plane of `width`-wide rows, over all rows and over rows from `fromRow`. */
function planeDiff(a: Uint8Array, b: Uint8Array, width: number, fromRow: number): { all: number; below: number } {
  assert.equal(a.length, b.length);
  let all = 0;
  let below = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > all) all = d;
    if (d > below && Math.floor(i / width) >= fromRow) below = d;
  }
  return { all, below };
}

/** Mean of a plane over the flat box shrunk by `margin` luma pixels on each side (`sub` 2 for chroma). */
function boxMean(plane: Uint8Array, planeWidth: number, sub: 1 | 2, margin: number): number {
  const x0 = (FLAT_BOX.x + margin) / sub;
  const y0 = (FLAT_BOX.y + margin) / sub;
  const x1 = (FLAT_BOX.x + FLAT_BOX.width - margin) / sub;
  const y1 = (FLAT_BOX.y + FLAT_BOX.height - margin) / sub;
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += plane[y * planeWidth + x]!;
      n++;
    }
  }
  return sum / n;
}

before(async () => {
  if (noFfmpeg) return;
  media = await fixtureDir();
  input = await makeMp4(media.dir, 'h264-4k');
  // The input's own planes, decoded by ffmpeg: the reference for the flat box's colour.
  await ffmpeg(['-i', input, '-pix_fmt', 'yuv420p', join(media.dir, 'in.y4m')]);
});

after(async () => {
  await media?.remove();
});

describe('a 4K MP4 through the CLI', { skip: noFfmpeg }, () => {
  test('tiled (auto) and untiled (--tile 0) outputs equal within 1/255 on every plane and row; the flat box keeps its colour', async () => {
    const dir = media!.dir;
    const tiled = await cli(['restore', input, '-o', join(dir, 'tiled.y4m'), '--model', 'tiny']);
    const untiled = await cli(['restore', input, '-o', join(dir, 'untiled.y4m'), '--model', 'tiny', '--tile', '0']);
    console.log(`# 4K 2 frames: tiled ${tiled.seconds.toFixed(1)} s, untiled ${untiled.seconds.toFixed(1)} s (CLI runs, start-up included)`);
    const [a, b, ref] = await Promise.all([readAll(join(dir, 'tiled.y4m')), readAll(join(dir, 'untiled.y4m')), readAll(join(dir, 'in.y4m'))]);
    for (const out of [a, b]) {
      assert.equal(out.header.width, WIDTH);
      assert.equal(out.header.height, HEIGHT);
      assert.equal(out.frames.length, ref.frames.length);
    }
    assert.equal(ref.frames.length, 2, 'the fixture has 2 frames');
    for (let i = 0; i < a.frames.length; i++) {
      const fa = a.frames[i]!;
      const fb = b.frames[i]!;
      const fr = ref.frames[i]!;
      for (const [name, sub] of [['y', 1], ['u', 2], ['v', 2]] as const) {
        const planeWidth = WIDTH / sub;
        const d = planeDiff(fa[name], fb[name], planeWidth, Math.floor(FIRST_ROW_PAST_2_24 / sub));
        console.log(`# frame ${i} ${name}: tiled vs untiled max ${d.all} (rows from ${FIRST_ROW_PAST_2_24}: ${d.below})`);
        assert.ok(d.all <= 1, `frame ${i}, plane ${name}: tiled and untiled differ by ${d.all} levels`);
        // Values, not only agreement: the flat box (rows 1600-2000) keeps the input's colour.
        const margin = 16;
        const want = boxMean(fr[name], planeWidth, sub, margin);
        for (const [label, f] of [['tiled', fa], ['untiled', fb]] as const) {
          const got = boxMean(f[name], planeWidth, sub, margin);
          console.log(`# frame ${i} ${name} ${label}: flat box mean ${got.toFixed(2)}, input ${want.toFixed(2)}`);
          assert.ok(Math.abs(got - want) <= 3, `frame ${i}, plane ${name}, ${label}: flat box mean ${got.toFixed(2)}, input ${want.toFixed(2)}`);
        }
      }
    }
  });

  test('MP4 -> MP4 at 4K: ffprobe reads 2 H.264 frames of 3840x2160 in yuv420p', async () => {
    const out = join(media!.dir, 'out.mp4');
    const run = await cli(['restore', input, '-o', out, '--model', 'tiny']);
    console.log(`# 4K MP4 -> MP4: ${run.seconds.toFixed(1)} s`);
    const video = (await probeStreams(out)).find((s) => s.codec_type === 'video');
    assert.ok(video, 'the output has a video stream');
    assert.equal(video.codec_name, 'h264');
    assert.equal(video.width, WIDTH);
    assert.equal(video.height, HEIGHT);
    assert.equal(video.pix_fmt, 'yuv420p');
    assert.equal(video.nb_read_frames, '2');
  });
});
