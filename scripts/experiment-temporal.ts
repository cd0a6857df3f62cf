/**
 * `npm run experiment:temporal -- [--models tiny,base] [--size 480x272] [--frames 20] [--photos 5]`:
 * per-frame against temporal restoration on short clips made from the held-out photographs: a
 * static camera, a slow sub-pixel pan, hand shake, a moving object pasted over the scene and a cut,
 * under animated rain and snow from the SDK's generators (and clean). Prints a Markdown table and
 * writes bench/results/temporal-<date>.json. `--clips static-rain,pan-snow` runs some clips only;
 * `--temporal '{"frames":7}'` passes options to the temporal filter; the filter is given each frame's
 * degraded input (input guidance) unless `--outputs-only`; `--tag NAME` names the file
 * temporal-<date>-NAME.json.
 *
 * Per clip and model: PSNR against the clean clip of the per-frame output and of the temporal output
 * (every frame, the first ones included), the moving object's own region, and flicker: the mean
 * absolute frame-to-frame change of the output minus that of the clean clip. wasm backend, Node.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPhotoSet } from '../src/training/photos.js';
import { selectBackend } from '../src/core/backend.js';
import type { Degradation } from '../src/core/degrade/index.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { TemporalFilter, type TemporalFilterOptions } from '../src/core/temporal/filter.js';
import { cleanClip, degradationFor, type Box, type Motion, type Weather } from './temporal-clips.js';
import { freshResultBase, resultDate } from '../bench/result-file.js';

const { values: args } = parseArgs({
  options: { models: { type: 'string' }, size: { type: 'string' }, frames: { type: 'string' }, photos: { type: 'string' }, out: { type: 'string' }, clips: { type: 'string' }, temporal: { type: 'string' }, 'outputs-only': { type: 'boolean' }, tag: { type: 'string' } },
});
const models = (args.models ?? 'tiny').split(',');
const [W, H] = (args.size ?? '480x272').split('x').map(Number) as [number, number];
const N = Number(args.frames ?? 20);
const FPS = 25;
/** `--temporal '{"frames":7}'`: options of the temporal filter (default: its defaults). */
const temporalOptions = JSON.parse(args.temporal ?? '{}') as TemporalFilterOptions;

interface ClipSpec {
  readonly name: string;
  readonly motion: Motion;
  readonly weather: Weather;
}
const ALL_CLIPS: ClipSpec[] = [
  ...(['rain', 'snow', 'clean'] as const).flatMap((weather) =>
    (['static', 'pan', 'shake', 'object', 'cut'] as const).map((motion) => ({ name: `${motion}-${weather}`, motion, weather })),
  ),
];
const clips = args.clips ? ALL_CLIPS.filter((c) => args.clips!.split(',').includes(c.name)) : ALL_CLIPS;

await selectBackend('wasm');
const set = await loadPhotoSet();
const photos = set.val.slice(0, Number(args.photos ?? set.val.length));

const psnrOf = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => 10 * Math.log10(1 / tf.mean(tf.squaredDifference(a, b)).dataSync()[0]!));
const meanAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const region = (t: tf.Tensor4D, [top, left, h, w]: Box): tf.Tensor4D => tf.slice(t, [0, top, left, 0], [1, h, w, 3]);

interface ClipResult {
  psnrDegraded: number;
  psnrPerFrame: number;
  psnrTemporal: number;
  objectPerFrame?: number;
  objectTemporal?: number;
  flickerPerFrame: number;
  flickerTemporal: number;
}

/** Runs one clip through the model per frame and through the temporal filter; MSE-pooled PSNRs. */
function runClip(model: SimpleIR, clean: tf.Tensor4D[], degradation: Degradation | undefined, boxes?: Box[]): ClipResult & { msPredict: number; msTemporal: number } {
  const filter = new TemporalFilter(temporalOptions);
  const mse = { degraded: 0, perFrame: 0, temporal: 0, objPer: 0, objTem: 0 };
  const flick = { clean: 0, perFrame: 0, temporal: 0 };
  let prev: { clean: tf.Tensor4D; perFrame: tf.Tensor4D; temporal: tf.Tensor4D } | undefined;
  let msPredict = 0;
  let msTemporal = 0;
  clean.forEach((c, i) => {
    const x = degradation ? (degradation.apply(c, { time: i / FPS }) as tf.Tensor4D) : c.clone();
    let t0 = performance.now();
    const y = model.predict(x);
    y.dataSync();
    msPredict += performance.now() - t0;
    t0 = performance.now();
    const z = args['outputs-only'] ? filter.process(y) : filter.process(y, x);
    z.dataSync();
    msTemporal += performance.now() - t0;
    const m = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.mean(tf.squaredDifference(a, b)).dataSync()[0]!);
    mse.degraded += m(x, c) / clean.length;
    mse.perFrame += m(y, c) / clean.length;
    mse.temporal += m(z, c) / clean.length;
    if (boxes) {
      const b = boxes[i]!;
      tf.tidy(() => {
        mse.objPer += m(region(y, b), region(c, b)) / clean.length;
        mse.objTem += m(region(z, b), region(c, b)) / clean.length;
      });
    }
    if (prev) {
      flick.clean += meanAbs(c, prev.clean) / (clean.length - 1);
      flick.perFrame += meanAbs(y, prev.perFrame) / (clean.length - 1);
      flick.temporal += meanAbs(z, prev.temporal) / (clean.length - 1);
      tf.dispose([prev.perFrame, prev.temporal]);
    }
    prev = { clean: c, perFrame: y, temporal: z };
    x.dispose();
  });
  tf.dispose([prev!.perFrame, prev!.temporal]);
  filter.dispose();
  const db = (v: number): number => 10 * Math.log10(1 / v);
  return {
    psnrDegraded: db(mse.degraded),
    psnrPerFrame: db(mse.perFrame),
    psnrTemporal: db(mse.temporal),
    ...(boxes ? { objectPerFrame: db(mse.objPer), objectTemporal: db(mse.objTem) } : {}),
    flickerPerFrame: flick.perFrame - flick.clean,
    flickerTemporal: flick.temporal - flick.clean,
    msPredict: msPredict / clean.length,
    msTemporal: msTemporal / clean.length,
  };
}

const t0 = Date.now();
const results: Record<string, unknown>[] = [];
for (const modelName of models) {
  const model = await SimpleIR.load(modelName);
  console.log(`\n${modelName}, ${W}x${H}, ${N} frames per clip at ${FPS} fps, ${photos.length} photographs (${photos.map((p) => basename(p)).join(', ')}), backend ${tf.getBackend()}\n`);
  console.log('| clip | degraded | per-frame | temporal | gain dB | object per-frame → temporal | flicker per-frame → temporal |\n|---|---:|---:|---:|---:|---:|---:|');
  for (const spec of clips) {
    const perPhoto: Array<ReturnType<typeof runClip> & { photo: string }> = [];
    for (let p = 0; p < photos.length; p++) {
      const { frames, boxes } = await cleanClip(photos, p, spec.motion, { width: W, height: H, frames: N });
      const degradation = degradationFor(spec.weather, 7000 + p, 0.6);
      perPhoto.push({ photo: basename(photos[p]!), ...runClip(model, frames, degradation, boxes) });
      degradation?.dispose();
      tf.dispose(frames);
    }
    const mean = (k: keyof ClipResult): number | undefined =>
      perPhoto[0]![k] === undefined ? undefined : perPhoto.reduce((a, r) => a + (r[k] as number), 0) / perPhoto.length;
    const row = {
      model: modelName,
      clip: spec.name,
      psnrDegraded: mean('psnrDegraded')!,
      psnrPerFrame: mean('psnrPerFrame')!,
      psnrTemporal: mean('psnrTemporal')!,
      gain: mean('psnrTemporal')! - mean('psnrPerFrame')!,
      objectPerFrame: mean('objectPerFrame'),
      objectTemporal: mean('objectTemporal'),
      flickerPerFrame: mean('flickerPerFrame')!,
      flickerTemporal: mean('flickerTemporal')!,
      msPredict: perPhoto.reduce((a, r) => a + r.msPredict, 0) / perPhoto.length,
      msTemporal: perPhoto.reduce((a, r) => a + r.msTemporal, 0) / perPhoto.length,
      perPhoto,
    };
    results.push(row);
    const f = (v: number | undefined, d = 2): string => (v === undefined ? '' : v.toFixed(d));
    const obj = row.objectPerFrame === undefined ? '' : `${f(row.objectPerFrame)} → ${f(row.objectTemporal)}`;
    console.log(
      `| ${spec.name} | ${f(row.psnrDegraded)} | ${f(row.psnrPerFrame)} | ${f(row.psnrTemporal)} | ${row.gain >= 0 ? '+' : ''}${f(row.gain)} | ${obj} | ${f(row.flickerPerFrame, 4)} → ${f(row.flickerTemporal, 4)} |`,
    );
  }
  model.dispose();
}
const seconds = (Date.now() - t0) / 1000;
const outDir = args.out ?? 'bench/results';
await mkdir(outDir, { recursive: true });
const file = `${freshResultBase(outDir, `temporal-${resultDate()}${args.tag ? `-${args.tag}` : ''}`)}.json`;
await writeFile(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      backend: tf.getBackend(),
      size: `${W}x${H}`,
      framesPerClip: N,
      fps: FPS,
      strength: 0.6,
      temporal: new TemporalFilter(temporalOptions).options,
      photos: photos.map((p) => basename(p)),
      seconds,
      rows: results,
    },
    null,
    2,
  ),
);
console.log(`\n${seconds.toFixed(0)} s; written ${file}`);
