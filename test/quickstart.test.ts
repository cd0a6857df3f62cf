/**
 * `npm run quickstart` (scripts/quickstart.ts) run as a child process into a temp folder, on the files
 * the repository ships: the side-by-side image is the rainy and the restored picture next to each other,
 * the restored MP4 has the frames asked for (ffprobe), and the printed PSNR/SSIM are those of the written
 * images, the restored picture's above the rainy one's.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 ? false : 'ffmpeg is not installed (apt-get install ffmpeg)';
const FRAMES = 5;
let dir: string;
let stdout = '';

before(async () => {
  if (noFfmpeg) return;
  dir = await mkdtemp(join(tmpdir(), 'simpleir-quickstart-'));
  stdout = await new Promise<string>((res, rej) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/quickstart.ts', '--out', dir, '--frames', String(FRAMES)], { cwd: root, timeout: 300_000 }, (error, out, err) => {
      if (error) rej(new Error(`quickstart failed: ${error.message}\n${err}`));
      else res(out);
    });
  });
  console.log(stdout.replace(/^/gm, '# '));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rgb(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function psnrBytes(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

/** The printed PSNR and SSIM of a table row. */
function row(label: string): { psnr: number; ssim: number } {
  const line = stdout.split('\n').find((l) => l.startsWith(label));
  assert.ok(line, `no "${label}" row in the output:\n${stdout}`);
  const [p, s] = line.slice(label.length).trim().split(/\s+/).map(Number);
  return { psnr: p!, ssim: s! };
}

test('quickstart: side-by-side = rainy | restored, twice as wide, from the shipped clip', { skip: noFfmpeg }, async () => {
  const rainy = await rgb(join(dir, 'rainy.png'));
  const restored = await rgb(join(dir, 'restored-tiny.png'));
  const both = await rgb(join(dir, 'side-by-side.png'));
  assert.deepEqual([rainy.width, rainy.height], [640, 360], 'the pictures have the sample clip size');
  assert.deepEqual([both.width, both.height], [2 * rainy.width, rainy.height]);
  const row3 = rainy.width * 3;
  for (const y of [0, 100, 359]) {
    const line = both.data.subarray(y * 2 * row3, (y + 1) * 2 * row3);
    assert.ok(line.subarray(0, row3).equals(rainy.data.subarray(y * row3, (y + 1) * row3)), `left half of row ${y} is not the rainy picture`);
    assert.ok(line.subarray(row3).equals(restored.data.subarray(y * row3, (y + 1) * row3)), `right half of row ${y} is not the restored picture`);
  }
  assert.ok(!rainy.data.equals(restored.data), 'the restored picture is the rainy one unchanged');
});

test('quickstart: printed PSNR/SSIM are those of the written images; restored beats the rainy input', { skip: noFfmpeg }, async () => {
  const clean = await rgb(join(dir, 'clean.png'));
  const rainy = await rgb(join(dir, 'rainy.png'));
  const restored = await rgb(join(dir, 'restored-tiny.png'));
  const printedRainy = row('rainy input');
  const printedRestored = row('restored (tiny)');
  assert.ok(Number.isFinite(printedRainy.psnr) && Number.isFinite(printedRestored.psnr), 'PSNR is not a number');
  // The script measures the float pictures; the PNGs are them rounded to bytes: within 0.05 dB.
  assert.ok(Math.abs(psnrBytes(rainy.data, clean.data) - printedRainy.psnr) < 0.05, `rainy PSNR ${printedRainy.psnr} vs ${psnrBytes(rainy.data, clean.data)} from the files`);
  assert.ok(Math.abs(psnrBytes(restored.data, clean.data) - printedRestored.psnr) < 0.05, `restored PSNR ${printedRestored.psnr} vs ${psnrBytes(restored.data, clean.data)} from the files`);
  assert.ok(printedRestored.psnr > printedRainy.psnr + 1, `restored ${printedRestored.psnr} dB is not above the rainy input's ${printedRainy.psnr} dB`);
  assert.ok(printedRestored.ssim > printedRainy.ssim, 'SSIM did not improve');
  assert.match(stdout, /backend wasm \(chosen by SimpleIR\.load\)/);
});

test('quickstart: the restored MP4 has the frames asked for (ffprobe)', { skip: noFfmpeg }, async () => {
  const mp4 = join(dir, 'restored.mp4');
  assert.ok((await stat(mp4)).size > 1000);
  const probe = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height,codec_name', '-of', 'json', mp4], { encoding: 'utf8' });
  const stream = (JSON.parse(probe) as { streams: { nb_read_frames: string; width: number; height: number; codec_name: string }[] }).streams[0]!;
  assert.equal(Number(stream.nb_read_frames), FRAMES);
  assert.deepEqual([stream.width, stream.height, stream.codec_name], [640, 360, 'h264']);
  assert.match(stdout, new RegExp(`restored ${FRAMES} frames of the clip`));
});
