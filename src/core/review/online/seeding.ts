/**
 * The online learner's earlier domains: its memory seeded from the weight file's pixel memory, or
 * synthesised from the first clean frames; the crops of earlier domains synthesised for review; and the
 * random degradations both apply.
 */
import * as tf from '@tensorflow/tfjs';
import { createDegradation, DEGRADATION_KINDS, type DegradationKind } from '../../degrade/index.js';
import type { Random } from '../../random.js';
import type { HardSampleMemory } from '../memory.js';
import { importReplayMemory, isReplayMemoryJSON, tensorsToCrops, type ReplayCrop } from '../replay.js';
import type { CropPool } from './crop-pool.js';
import type { SeedSource } from './events.js';
import type { ResolvedLearnerOptions } from './options.js';

/** `clean` degraded as `kind` with a seed and strength drawn from `rng`, as a new tensor. */
export function degradeAtRandom(kind: DegradationKind, clean: tf.Tensor4D, rng: Random): tf.Tensor4D {
  const d = createDegradation(kind, { seed: rng.int(0, 0x7fffffff), strength: rng.uniform(0, 1) });
  try {
    return d.apply(clean) as tf.Tensor4D;
  } finally {
    d.dispose();
  }
}

/** Seeds `memory` from a weight file's `metadata.memory` when it holds pixels; else says whether frames will seed it (`pending`) or nothing will. */
export function seedFromMetadata(
  metadata: Readonly<Record<string, unknown>>,
  memory: HardSampleMemory<ReplayCrop>,
  options: Pick<ResolvedLearnerOptions, 'seedDomains' | 'capacity'>,
): SeedSource {
  const shipped = metadata.memory;
  if (isReplayMemoryJSON(shipped)) {
    for (const e of importReplayMemory(shipped)) memory.add(e.domain, e.id, e.crop, e.score);
    if (memory.size > 0) return 'shipped';
  }
  return options.seedDomains.length > 0 && options.capacity > 0 ? 'pending' : 'none';
}

/** Synthesises the seed domains into a memory from clean frames, a few crops per domain per frame. */
export class MemorySeeder {
  /** Crops synthesised so far per seed domain. */
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: Pick<ResolvedLearnerOptions, 'seedDomains' | 'seedPerDomain'>) {}

  /**
   * Adds up to half of `seedPerDomain` crops of each unfinished seed domain to `memory`, cut from the
   * clean image by `crops(n)` and degraded at random. Stops, adding nothing more, once `stale()` (a
   * reset or load happened meanwhile). Resolves to true when every seed domain has `seedPerDomain` crops.
   */
  async seed(memory: HardSampleMemory<ReplayCrop>, crops: (count: number) => tf.Tensor4D, rng: Random, stale: () => boolean): Promise<boolean> {
    const { seedDomains, seedPerDomain } = this.options;
    const perFrame = Math.ceil(seedPerDomain / 2);
    for (const kind of seedDomains) {
      const have = this.counts.get(kind) ?? 0;
      const n = Math.min(perFrame, seedPerDomain - have);
      if (n <= 0) continue;
      const clean = crops(n);
      let degraded: tf.Tensor4D | undefined;
      try {
        degraded = degradeAtRandom(kind, clean, rng);
        const pairs = await tensorsToCrops(degraded, clean);
        if (stale()) return false;
        pairs.forEach((crop, i) => memory.add(kind, `seed-${have + i}`, crop, 0));
        this.counts.set(kind, have + n);
      } finally {
        clean.dispose();
        degraded?.dispose();
      }
    }
    return seedDomains.every((k) => (this.counts.get(k) ?? 0) >= seedPerDomain);
  }
}

/** The earlier domains the SDK can synthesise (those with a generator), of `domains`. */
export function synthesizableDomains(domains: readonly string[]): DegradationKind[] {
  return domains.filter((d): d is DegradationKind => (DEGRADATION_KINDS as readonly string[]).includes(d));
}

/** Synthesises crops of earlier domains, round-robin over them, for review next to the memory (`replaySynthesis`). */
export class ReviewSynthesizer {
  /** Crops synthesised so far (they are named `s1`, `s2`, ...). */
  private made = 0;

  /**
   * Adds `count` crops of `domains` to `pool`: each cut by `crop()` from a clean image and degraded with a
   * seed and strength drawn from `rng`.
   */
  addTo(pool: CropPool, domains: readonly DegradationKind[], count: number, crop: () => tf.Tensor4D, rng: Random): void {
    for (let i = 0; i < count; i++) {
      const kind = domains[this.made % domains.length]!;
      const id = `s${++this.made}`;
      const clean = tf.keep(crop());
      try {
        const degraded = tf.keep(degradeAtRandom(kind, clean, rng));
        pool.add({ id, domain: kind, degraded, clean, visits: 0 });
      } catch (e) {
        clean.dispose();
        throw e;
      }
    }
  }
}
