/**
 * Reliability: 1200 mutated Y4M files through the Node y4m source (`fromY4m`), whole or in random
 * chunks. Every input must either decode (a harmless mutation) or fail with CORRUPT_INPUT or
 * UNSUPPORTED_FORMAT, within 5 s, with every frame well-formed. Seeds are fixed: a failure prints
 * the seed that reproduces it. Counts are recorded in docs/reliability.md.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { lastValueFrom, map, toArray } from 'rxjs';
import { fromY4m } from '../src/adapters/node/y4m-source.js';
import { createY4mWriter } from '../src/adapters/node/y4m.js';
import type { Random } from '../src/core/random.js';
import { failureLines, fuzz, summary } from './helpers/fuzz.js';
import { mutateY4m, type Mutant } from './helpers/mutate.js';

/** A small valid Y4M file made with the SDK's own writer. */
async function validY4m(width: number, height: number, frames: number, range?: 'limited' | 'full'): Promise<Uint8Array> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const writer = createY4mWriter(sink, { width, height, fps: { num: 30000, den: 1001 }, ...(range ? { range } : {}) });
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  for (let t = 0; t < frames; t++) {
    await writer.write({
      y: Uint8Array.from({ length: width * height }, (_, i) => (i * 7 + t * 13) & 255),
      u: Uint8Array.from({ length: cw * ch }, (_, i) => (i * 3 + t) & 255),
      v: Uint8Array.from({ length: cw * ch }, (_, i) => (i * 5 + 2 * t) & 255),
    });
  }
  await writer.close();
  return new Uint8Array(Buffer.concat(chunks));
}

/** The bytes whole, or cut into random chunks (the reader must not care where chunks end). */
function chunked(bytes: Uint8Array, rng: Random): Uint8Array | Uint8Array[] {
  if (rng.next() < 0.5) return bytes;
  const parts: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; ) {
    const n = rng.int(1, 200);
    parts.push(bytes.subarray(o, o + n));
    o += n;
  }
  return parts;
}

test('fuzz: 1200 mutated Y4M files through fromY4m: decoded or a typed error, never a crash or a hang', async () => {
  const bases = [await validY4m(16, 12, 3, 'full'), await validY4m(17, 9, 3)];
  const report = await fuzz({
    name: 'y4m (fromY4m)',
    count: 1200,
    seed: 70_000,
    codes: ['CORRUPT_INPUT', 'UNSUPPORTED_FORMAT'],
    timeoutMs: 5000,
    mutate: (rng, i) => mutateY4m(bases[i % bases.length]!, rng),
    exercise: async (input: Mutant, rng) => {
      const frames = await lastValueFrom(
        fromY4m(chunked(input.bytes, rng)).pipe(
          map((f) => ({ ok: f.data.length === f.width * f.height * 3 && f.channels === 3 && Number.isFinite(f.timestamp) && f.duration! > 0, w: f.width, h: f.height })),
          toArray(),
        ),
      );
      const bad = frames.find((f) => !f.ok);
      if (bad) throw new Error(`a malformed frame was emitted (${bad.w}x${bad.h})`);
    },
  });
  console.log(`# ${summary(report)}`);
  console.log(`# y4m mutation kinds: ${JSON.stringify(report.kinds)}`);
  assert.equal(report.failures.length, 0, `fuzz failures:\n${failureLines(report)}`);
  assert.ok(report.decoded > 0 && Object.keys(report.codes).length > 0, 'the mutants should both decode and fail');
});
