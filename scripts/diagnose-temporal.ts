/**
 * Where the temporal dB go (diagnostic; `npx tsx scripts/diagnose-temporal.ts [--size 240x136] [--frames 20] [--photos 5] [--clips static-rain,pan-snow]`):
 * per clip, the per-frame output's error split into its static part (the same in every frame: what
 * no temporal filter of per-frame outputs can remove) and its transient part; ceilings of fusing with
 * the true alignment (window median, window quantile 0.25, closest-to-clean oracle, guided filters);
 * and the filter's outputs for `--variants '{"name":{...options}}'` (given the degraded inputs).
 * Environment: NO_ORACLE=1 skips the ceilings; WIN (window, default 5), GS (guides: xmin, xq25, gmin,
 * gq25), RS (radii), EPS (epsilons) choose the guided-filter ceilings computed with the true alignment.
 * `--strength` (default 0.6) and `--model` (default tiny) as in the experiment.
 */
import * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPhotoSet } from '../src/training/photos.js';
import { selectBackend } from '../src/core/backend.js';
import { SimpleIR } from '../src/core/model/simpleir.js';
import { TemporalFilter, type TemporalFilterOptions } from '../src/core/temporal/filter.js';
import { quantile } from '../src/core/temporal/fuse.js';
import { shiftFrame } from '../src/core/temporal/align.js';
import { cleanClip, degradationFor, type Motion, type Weather } from './temporal-clips.js';

const { values: args } = parseArgs({
  options: { size: { type: 'string' }, frames: { type: 'string' }, photos: { type: 'string' }, clips: { type: 'string' }, variants: { type: 'string' }, strength: { type: 'string' }, model: { type: 'string' } },
});
const [W, H] = (args.size ?? '480x272').split('x').map(Number) as [number, number];
const N = Number(args.frames ?? 20);
const FPS = 25;
const STRENGTH = Number(args.strength ?? 0.6);
const variants = JSON.parse(args.variants ?? '{"default":{}}') as Record<string, TemporalFilterOptions>;
const clipNames = (args.clips ?? 'static-rain,static-snow,pan-rain,pan-snow').split(',');

await selectBackend('wasm');
const set = await loadPhotoSet();
const photos = set.val.slice(0, Number(args.photos ?? set.val.length));

const mseOf = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.mean(tf.squaredDifference(a, b)).dataSync()[0]!);
const db = (v: number): number => 10 * Math.log10(1 / v);

function boxMean(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.avgPool(tf.avgPool(x, [k, 1], 1, 'same'), [1, k], 1, 'same');
}
/** He et al.'s guided filter, per channel: the local linear fit of \`t\` on \`g\` over (2r+1)^2 windows. */
function guided(g: tf.Tensor4D, t: tf.Tensor4D, r: number, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const k = 2 * r + 1;
    const mg = boxMean(g, k), mt = boxMean(t, k);
    const cov = tf.sub(boxMean(tf.mul(g, t) as tf.Tensor4D, k), tf.mul(mg, mt));
    const vg = tf.sub(boxMean(tf.square(g) as tf.Tensor4D, k), tf.square(mg));
    const a = tf.div(cov, tf.add(vg, eps)) as tf.Tensor4D;
    const b = tf.sub(mt, tf.mul(a, mg)) as tf.Tensor4D;
    return tf.add(tf.mul(boxMean(a, k), g), boxMean(b, k)) as tf.Tensor4D;
  });
}
const model = await SimpleIR.load(args.model ?? 'tiny');
console.log(`${W}x${H}, ${N} frames, ${photos.length} photos, strength ${STRENGTH}`);
for (const clipName of clipNames) {
  const [motion, weather] = clipName.split('-') as [Motion, Weather];
  const acc: Record<string, number> = {};
  const add = (k: string, v: number): void => {
    acc[k] = (acc[k] ?? 0) + v / photos.length;
  };
  for (let p = 0; p < photos.length; p++) {
    const { frames: clean, origins } = await cleanClip(photos, p, motion, { width: W, height: H, frames: N });
    const deg = degradationFor(weather, 7000 + p, STRENGTH);
    const xs = clean.map((c, i) => (deg ? (deg.apply(c, { time: i / FPS }) as tf.Tensor4D) : c.clone()));
    const ys = xs.map((x) => model.predict(x));
    // True alignment of past frame j onto frame i: shift d = o_j - o_i (current(p) = past(p - d)).
    const trueAligned = (j: number, i: number, t: tf.Tensor4D[]): tf.Tensor4D => {
      const d = tf.tensor1d([origins[j]![0] - origins[i]![0], origins[j]![1] - origins[i]![1]]);
      const s = shiftFrame(t[j]!, d, 'bilinear');
      const out = tf.tidy(() => tf.add(t[i]!, tf.mul(s.valid, tf.sub(s.frame, t[i]!)))) as tf.Tensor4D;
      tf.dispose([d, s.frame, s.valid]);
      return out;
    };
    const gf: Record<string, number> = {};
    let mDeg = 0, mPer = 0, mMed = 0, mQ25 = 0, mMin = 0, mOracle = 0, mStatic = 0, mCleanAl = 0;
    // static part: for static clips, the mean error over the clip
    const meanErr = motion === 'static' ? tf.tidy(() => tf.addN(ys.map((y, i) => tf.sub(y, clean[i]!))).div(N)) : undefined;
    for (let i = 0; i < N; i++) {
      if (process.env.NO_ORACLE) { mDeg += mseOf(xs[i]!, clean[i]!) / N; mPer += mseOf(ys[i]!, clean[i]!) / N; continue; }
      mDeg += mseOf(xs[i]!, clean[i]!) / N;
      mPer += mseOf(ys[i]!, clean[i]!) / N;
      if (meanErr) mStatic += tf.tidy(() => tf.mean(tf.square(meanErr)).dataSync()[0]!) / N;
      const window = Array.from({ length: Math.min(5, i + 1) }, (_, k) => (k === 0 ? ys[i]!.clone() : trueAligned(i - k, i, ys)));
      // error of the clean frames aligned the same way (interpolation loss of the true alignment)
      if (i >= 1) {
        const ca = trueAligned(i - 1, i, clean);
        mCleanAl += mseOf(ca, clean[i]!) / (N - 1);
        ca.dispose();
      }
      const w = window.length % 2 === 0 ? [...window, ys[i]!] : window;
      const med = quantile(w, 0.5), q25 = quantile(w, 0.25), mn = quantile(w, 0);
      mMed += mseOf(med, clean[i]!) / N;
      mQ25 += mseOf(q25, clean[i]!) / N;
      mMin += mseOf(mn, clean[i]!) / N;
      const oracle = tf.tidy(() => {
        const errs = window.map((v) => tf.abs(tf.sub(v, clean[i]!)));
        let best = window[0]!, bestErr = errs[0]!;
        for (let k = 1; k < window.length; k++) {
          const better = tf.less(errs[k]!, bestErr);
          best = tf.where(better, window[k]!, best);
          bestErr = tf.minimum(errs[k]!, bestErr);
        }
        return best;
      });
      mOracle += mseOf(oracle, clean[i]!) / N;
      // guided filter: guide = fused degraded inputs (truly aligned), target = fused per-frame outputs
      const WIN = Number(process.env.WIN ?? 5);
      const xw = Array.from({ length: Math.min(WIN, i + 1) }, (_, k) => (k === 0 ? xs[i]!.clone() : trueAligned(i - k, i, xs)));
      const yw = Array.from({ length: Math.min(WIN, i + 1) }, (_, k) => (k === 0 ? ys[i]!.clone() : trueAligned(i - k, i, ys)));
      const xwo = xw.length % 2 === 0 ? [...xw, xs[i]!] : xw;
      const ywo = yw.length % 2 === 0 ? [...yw, ys[i]!] : yw;
      const xmin = quantile(xwo, 0), xq25 = quantile(xwo, 0.25);
      const gate = (f: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => {
        const d = tf.max(tf.sub(xs[i]!, f), 3, true);
        const w = tf.clipByValue(tf.div(tf.sub(d, 0.01), 0.02), 0, 1);
        return tf.sub(xs[i]!, tf.mul(w, tf.sub(xs[i]!, f))) as tf.Tensor4D;
      });
      const allG: Record<string, () => tf.Tensor4D> = { xmin: () => xmin.clone(), xq25: () => xq25.clone(), gmin: () => gate(xmin), gq25: () => gate(xq25) };
      const guides: Record<string, tf.Tensor4D> = Object.fromEntries((process.env.GS ?? 'xmin').split(',').map((k) => [k, allG[k]!()]));
      tf.dispose([xmin, xq25]);
      const targets: Record<string, tf.Tensor4D> = { ymed: quantile(ywo, 0.5), yq25: quantile(ywo, 0.25) };
      for (const [gname, g] of Object.entries(guides)) {
        for (const r of (process.env.RS ?? "16").split(",").map(Number)) {
          for (const eps of (process.env.EPS ?? "1e-5").split(",").map(Number)) {
            for (const [tname, t] of Object.entries(targets)) {
              const out = guided(g, t, r, eps);
              const k = `gf:${gname}/${tname}/r${r}/e${eps}`;
              gf[k] = (gf[k] ?? 0) + mseOf(out, clean[i]!) / N;
              out.dispose();
            }
          }
        }
      }
      tf.dispose([...yw, ...Object.values(targets)]);
      tf.dispose([...xw, ...Object.values(guides)]);
      tf.dispose([...window, med, q25, mn, oracle]);
    }
    meanErr?.dispose();
    add('degraded', db(mDeg));
    add('perFrame', db(mPer));
    if (motion === 'static') add('staticShare%', (100 * mStatic) / mPer);
    if (!process.env.NO_ORACLE) {
    add('trueMedian5', db(mMed));
    add('trueQ25', db(mQ25));
    add('trueMin5', db(mMin));
    add('oracleBest5', db(mOracle));
    }
    for (const [k, v] of Object.entries(gf)) add(k, db(v));
    if (motion !== 'static') add('cleanShiftPSNR', db(mCleanAl));
    for (const [name, opts] of Object.entries(variants)) {
      const filter = new TemporalFilter(opts);
      let m = 0;
      ys.forEach((y, i) => {
        const z = filter.process(y, xs[i]);
        m += mseOf(z, clean[i]!) / N;
        z.dispose();
      });
      filter.dispose();
      add(`v:${name}`, db(m));
    }
    tf.dispose([...clean, ...xs, ...ys]);
    deg?.dispose();
  }
  const per = acc.perFrame!;
  console.log(`\n${clipName}: ` + Object.entries(acc).sort((a, b) => (a[0].startsWith('gf:') && b[0].startsWith('gf:') ? b[1] - a[1] : 0)).slice(0, 20).map(([k, v]) => `${k}=${v.toFixed(2)}${k !== 'perFrame' && k !== 'degraded' && !k.endsWith('%') && k !== 'cleanShiftPSNR' ? ` (${v - per >= 0 ? '+' : ''}${(v - per).toFixed(2)})` : ''}`).join('  '));
}
model.dispose();
