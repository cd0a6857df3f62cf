/**
 * Browser entry of the online learning test: on the webgpu backend, a tiny model restores a live
 * stream of 64x64 byte frames while `reviewLearning` adapts it to haze (32x32 crops); then the learner
 * is saved to IndexedDB and loaded into a fresh learner. Set `window.onlineLog = true` first to log
 * every event and tensor counts to the console.
 */
import * as tf from '@tensorflow/tfjs';
import { Subject } from 'rxjs';
import { deleteIndexedDbLearner, indexedDbLearnerStore } from '../../../src/adapters/browser/learner-store';
import { selectBackend } from '../../../src/core/backend';
import { createDegradation } from '../../../src/core/degrade/index';
import { SimpleIR } from '../../../src/core/model/simpleir';
import type { LearnerEvent } from '../../../src/core/review/online/index';
import type { NodeFrame } from '../../../src/streams/frames';
import { restore } from '../../../src/streams/restore';
import { createOnlineLearner, reviewLearning } from '../../../src/streams/review-learning';

export interface OnlineResult {
  backend: string;
  frames: number;
  restored: number;
  eventCounts: Record<string, number>;
  stepLosses: number[];
  heldOutBefore: number;
  heldOutAfter: number;
  loaded: { maxWeightDiff: number; memorySize: number; savedMemorySize: number; domain: string | null; modelMatches: boolean };
  /** The first step of a learner with default options: reviewed crops, of which synthesised, and their loss. */
  defaultsFirstStep: { reviewed: number; synthesized: number; reviewLoss: number | null } | null;
  tensorsLeft: number;
}

declare global {
  interface Window {
    runOnline: () => Promise<OnlineResult>;
  }
}

const SIZE = 64;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function smooth(seed: number, size: number): tf.Tensor4D {
  return tf.tidy(() => tf.image.resizeBilinear(tf.randomUniform([1, 5, 5, 3], 0.1, 0.95, 'float32', seed) as tf.Tensor4D, [size, size], true));
}

window.runOnline = async (): Promise<OnlineResult> => {
  const info = await selectBackend('webgpu', { onWarning: () => undefined });
  const tensorsBefore = tf.memory().numTensors;
  const log = (where: string) => (window as { onlineLog?: boolean }).onlineLog && console.log(where, tf.memory().numTensors - tensorsBefore);
  const haze = createDegradation('haze', { seed: 5, strength: 1 });
  const images = await Promise.all(
    [0, 1, 2, 3, 4].map(async (k) => {
      const t = tf.tidy(() => tf.cast(tf.round(tf.mul(smooth(40 + k, SIZE), 255)), 'int32'));
      const bytes = Uint8Array.from(await t.data());
      t.dispose();
      return bytes;
    }),
  );
  const heldClean = tf.tidy(() => tf.concat([smooth(900, 32), smooth(901, 32), smooth(902, 32)]) as tf.Tensor4D);
  const heldDegraded = haze.apply(heldClean) as tf.Tensor4D;
  const model = SimpleIR.create('tiny');
  const heldOut = async (): Promise<number> => {
    const l = tf.tidy(() => tf.mean(tf.abs(tf.sub(model.predict(heldDegraded), heldClean))));
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };
  const heldOutBefore = await heldOut();
  log('after held-out');

  // The model has random weights: its outputs are nothing to hold on to, so review trains towards the
  // clean crops here (reviewTarget 'clean'); the default, shipped-output targets, is checked below.
  // A short average (weightAveraging 0.5, default 0.99) so that ten steps show in the published weights.
  const options = { cropSize: 32, batchSize: 4, learningRate: 1e-3, warmupSteps: 2, visitsPerCrop: 2, seedPerDomain: 2, stepBudgetMs: 1000, reviewTarget: 'clean' as const, weightAveraging: 0.5 };
  const learner = createOnlineLearner(model, options);
  const events: LearnerEvent[] = [];
  learner.events$.subscribe((e) => {
    events.push(e);
    if ((window as { onlineLog?: boolean }).onlineLog) console.log(JSON.stringify({ ...e, memoryByDomain: undefined, t: Math.round(performance.now()) }));
  });
  const frames$ = new Subject<NodeFrame>();
  let restored = 0;
  const done = new Promise<void>((resolve, reject) =>
    frames$.pipe(reviewLearning(learner, { domain: 'haze', pairs: 'synthesize', degrade: haze }), restore(model, { mode: 'live' })).subscribe({
      next: () => restored++,
      error: reject,
      complete: resolve,
    }),
  );
  let sent = 0;
  const steps = () => events.filter((e) => e.type === 'step').length;
  // SwiftShader runs a step in seconds: frames flow until enough steps were taken.
  const t0 = performance.now();
  for (; steps() < 10 && performance.now() - t0 < 300_000; sent++) {
    frames$.next({ data: images[sent % images.length]!, width: SIZE, height: SIZE, channels: 3, timestamp: sent * 40_000 });
    await sleep(25);
  }
  frames$.complete();
  await done;
  while (learner.busy) await sleep(10);
  // One more frame boundary publishes the last staged weights.
  learner.frameBoundary();
  const heldOutAfter = await heldOut();
  log('after stream');

  const store = indexedDbLearnerStore('online-test');
  await learner.save(store);
  const model2 = SimpleIR.create('tiny');
  const learner2 = createOnlineLearner(model2, options);
  await learner2.load(store);
  let maxWeightDiff = 0;
  for (const [name, v] of learner.weights) {
    const a = await v.data();
    const b = await learner2.weights.get(name)!.data();
    for (let i = 0; i < a.length; i++) maxWeightDiff = Math.max(maxWeightDiff, Math.abs(a[i]! - b[i]!));
  }
  const w1 = model.getWeights();
  const w2 = model2.getWeights();
  const modelMatches = [...w1].every(([name, v]) => v.every((x, i) => x === w2.get(name)![i]));
  const loaded = { maxWeightDiff, memorySize: learner2.memory.size, savedMemorySize: learner.memory.size, domain: learner2.domain, modelMatches };
  await deleteIndexedDbLearner('online-test');
  log('after load');

  // Default options (shipped-output targets, replay synthesis) on webgpu: at the first step the
  // variables are the shipped weights, so the reviewed crops' loss against their targets is ~0.
  const model3 = SimpleIR.create('tiny', { seed: 3 });
  const learner3 = createOnlineLearner(model3, { cropSize: 32, batchSize: 4, seedPerDomain: 2 });
  const firstSteps: LearnerEvent[] = [];
  learner3.events$.subscribe((e) => e.type === 'step' && firstSteps.push(e));
  const cleanFrames = images.slice(0, 3).map((data) => tf.tidy(() => tf.div(tf.cast(tf.tensor4d(data, [1, SIZE, SIZE, 3], 'int32'), 'float32'), 255) as tf.Tensor4D));
  for (let i = 0; learner3.needsSeedFrames; i++) await learner3.seedFrom(cleanFrames[i % 3]!);
  learner3.setDomain('haze');
  learner3.frameBoundary();
  learner3.addCleanFrame(cleanFrames[2]!, haze, 0, learner3.cropsWanted());
  await learner3.step();
  tf.dispose(cleanFrames);
  const first = firstSteps[0]!;
  const defaultsFirstStep = first.type === 'step' ? { reviewed: first.reviewed, synthesized: first.synthesized, reviewLoss: first.reviewLoss } : null;
  learner3.dispose();
  model3.dispose();

  learner.dispose();
  log('after learner dispose');
  learner2.dispose();
  log('after learner2 dispose');
  model.dispose();
  model2.dispose();
  log('after models dispose');
  haze.dispose();
  tf.dispose([heldClean, heldDegraded]);
  log('after dispose');
  const eventCounts: Record<string, number> = {};
  for (const e of events) eventCounts[e.type] = (eventCounts[e.type] ?? 0) + 1;
  return {
    backend: info.name,
    frames: sent,
    restored,
    eventCounts,
    stepLosses: events.flatMap((e) => (e.type === 'step' ? [e.freshLoss] : [])),
    heldOutBefore,
    heldOutAfter,
    loaded,
    defaultsFirstStep,
    tensorsLeft: tf.memory().numTensors - tensorsBefore,
  };
};
