/**
 * Deterministic mutators for the fuzz tests: generic byte mutations (bit flips, byte runs, truncation,
 * insertions, deletions, copies), MP4 box-aware ones (box sizes, types, duplicated and removed boxes,
 * extreme values in box fields), Y4M header and frame-marker ones, and JSON structure ones. Plain
 * TypeScript with no Node or DOM imports: the MP4 fuzzer bundles it into the browser page.
 *
 *   const rng = new Random(seed);
 *   const { bytes, kind } = mutateMp4(valid, rng);
 */
import { Random } from '../../src/core/random.js';

/** A mutated input and the name of the mutation that made it (for the per-kind counts). */
export interface Mutant {
  readonly bytes: Uint8Array;
  readonly kind: string;
}

/** Values that break parsers: zero, one, boundaries of 8/16/32-bit fields, sign bits. */
const EXTREME_U32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function u8(n: number): number {
  return n & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Generic byte mutations

/** Flips 1 to 8 random bits (or only within `[from, to)`). */
export function flipBits(input: Uint8Array, rng: Random, from = 0, to = input.length): Uint8Array {
  const out = input.slice();
  if (to <= from) return out;
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) out[rng.int(from, to - 1)]! ^= 1 << rng.int(0, 7);
  return out;
}

/** Overwrites a run of 1 to 64 bytes with zeros, 0xff, or random bytes. */
export function overwriteRun(input: Uint8Array, rng: Random, from = 0, to = input.length): Uint8Array {
  const out = input.slice();
  if (to <= from) return out;
  const start = rng.int(from, to - 1);
  const len = Math.min(rng.int(1, 64), out.length - start);
  const fill = rng.pick(['zero', 'ff', 'random'] as const);
  for (let i = start; i < start + len; i++) out[i] = fill === 'zero' ? 0 : fill === 'ff' ? 0xff : rng.int(0, 255);
  return out;
}

/** Cuts the input at a random length (biased towards the start, where the headers are). */
export function truncate(input: Uint8Array, rng: Random): Uint8Array {
  const cut = rng.next() < 0.5 ? rng.int(0, Math.min(input.length - 1, 256)) : rng.int(0, input.length - 1);
  return input.slice(0, cut);
}

/** Inserts 1 to 64 random bytes at a random place. */
export function insertRun(input: Uint8Array, rng: Random): Uint8Array {
  const at = rng.int(0, input.length);
  const run = Uint8Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255));
  return concat([input.subarray(0, at), run, input.subarray(at)]);
}

/** Deletes 1 to 64 bytes at a random place. */
export function deleteRun(input: Uint8Array, rng: Random): Uint8Array {
  if (input.length === 0) return input.slice();
  const at = rng.int(0, input.length - 1);
  const len = rng.int(1, 64);
  return concat([input.subarray(0, at), input.subarray(Math.min(input.length, at + len))]);
}

/** Copies a slice of the input over another place (a repeated structure, misplaced). */
export function copyRun(input: Uint8Array, rng: Random): Uint8Array {
  const out = input.slice();
  if (out.length < 2) return out;
  const len = rng.int(1, Math.min(256, out.length));
  const from = rng.int(0, out.length - len);
  const to = rng.int(0, out.length - len);
  out.copyWithin(to, from, from + len);
  return out;
}

/** One generic byte mutation, chosen at random. */
export function mutateBytes(input: Uint8Array, rng: Random): Mutant {
  const kind = rng.pick(['bit-flip', 'byte-run', 'truncate', 'insert', 'delete', 'copy'] as const);
  const bytes =
    kind === 'bit-flip'
      ? flipBits(input, rng)
      : kind === 'byte-run'
        ? overwriteRun(input, rng)
        : kind === 'truncate'
          ? truncate(input, rng)
          : kind === 'insert'
            ? insertRun(input, rng)
            : kind === 'delete'
              ? deleteRun(input, rng)
              : copyRun(input, rng);
  return { bytes, kind };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MP4 boxes

/** A box of an ISO BMFF file: where it is, and its ancestors (outermost first). */
export interface Box {
  readonly type: string;
  readonly start: number;
  readonly size: number;
  /** 8, or 16 for a 64-bit size. */
  readonly header: number;
  readonly depth: number;
  readonly parents: readonly Box[];
}

/** Boxes whose bodies are boxes (after `skip` bytes of their own fields). */
const CONTAINERS: Readonly<Record<string, number>> = {
  moov: 0, trak: 0, mdia: 0, minf: 0, stbl: 0, dinf: 0, edts: 0, mvex: 0, moof: 0, traf: 0, udta: 0, mfra: 0,
  // Sample descriptions: a full-box header and an entry count, then sample entries that hold boxes.
  stsd: 8,
  avc1: 78, avc3: 78, vp09: 78, av01: 78, hvc1: 78, hev1: 78, mp4a: 28,
};

/** Every box of the file, depth first (sample entries and their configuration boxes included). */
export function parseBoxes(bytes: Uint8Array): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  const walk = (from: number, to: number, depth: number, parents: Box[]): void => {
    let o = from;
    while (o + 8 <= to) {
      let size = view.getUint32(o);
      let header = 8;
      if (size === 1) {
        if (o + 16 > to) return;
        size = Number(view.getBigUint64(o + 8));
        header = 16;
      } else if (size === 0) size = to - o;
      if (size < header || o + size > to) return;
      const type = String.fromCharCode(bytes[o + 4]!, bytes[o + 5]!, bytes[o + 6]!, bytes[o + 7]!);
      const box: Box = { type, start: o, size, header, depth, parents };
      out.push(box);
      const skip = CONTAINERS[type];
      if (skip !== undefined) walk(o + header + skip, o + size, depth + 1, [...parents, box]);
      o += size;
    }
  };
  walk(0, bytes.length, 0, []);
  return out;
}

/** Adds `delta` to the 32-bit size field of each box in `boxes` (boxes with a 64-bit size are left alone). */
function resize(out: Uint8Array, boxes: readonly Box[], delta: number, shift: (offset: number) => number = (o) => o): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const b of boxes) {
    if (b.header !== 8) continue;
    const at = shift(b.start);
    view.setUint32(at, (view.getUint32(at) + delta) >>> 0);
  }
}

/** One box-aware mutation of an MP4, chosen at random; falls back to a byte mutation when no box is found. */
export function mutateMp4(input: Uint8Array, rng: Random): Mutant {
  const boxes = parseBoxes(input);
  const r = rng.next();
  if (boxes.length === 0 || r < 0.35) return mutateBytes(input, rng);
  // Half the time aim at the boxes the demuxer reads most (headers and tables), not the media data.
  const headers = boxes.filter((b) => b.type !== 'mdat' && b.type !== 'free');
  const box = rng.next() < 0.5 && headers.length > 0 ? rng.pick(headers) : rng.pick(boxes);
  const out = input.slice();
  const view = new DataView(out.buffer);
  const kind = rng.pick(['box-size', 'box-type', 'box-duplicate', 'box-remove', 'box-field', 'box-bits'] as const);
  switch (kind) {
    case 'box-size': {
      const choices = [0, 1, 7, 8, box.size - 1, box.size + 1, box.size * 2, 0xffffffff, rng.int(0, 0xffffffff), box.size + rng.int(-16, 16)];
      view.setUint32(box.start, rng.pick(choices) >>> 0);
      return { bytes: out, kind };
    }
    case 'box-type': {
      const known = ['moov', 'trak', 'mdia', 'mdat', 'stsd', 'stsz', 'stco', 'co64', 'stts', 'ctts', 'stss', 'stsc', 'avcC', 'free', 'moof', 'trun', 'elst'];
      const type = rng.next() < 0.5 ? rng.pick(known) : String.fromCharCode(rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), rng.int(0, 255));
      for (let i = 0; i < 4; i++) out[box.start + 4 + i] = type.charCodeAt(i);
      return { bytes: out, kind };
    }
    case 'box-duplicate': {
      const copy = input.subarray(box.start, box.start + box.size);
      const at = box.start + box.size;
      const result = concat([input.subarray(0, at), copy, input.subarray(at)]);
      // Usually keep the file consistent (ancestors grown); sometimes leave the sizes stale.
      if (rng.next() < 0.75) resize(result, box.parents, box.size);
      return { bytes: result, kind };
    }
    case 'box-remove': {
      const result = concat([input.subarray(0, box.start), input.subarray(box.start + box.size)]);
      if (rng.next() < 0.75) resize(result, box.parents, -box.size);
      return { bytes: result, kind };
    }
    case 'box-field': {
      // An extreme value over a 4-byte field of the body (counts, offsets, sizes, durations).
      const body = box.size - box.header;
      if (body < 4) return mutateBytes(input, rng);
      const at = box.start + box.header + 4 * rng.int(0, Math.min(16, Math.floor(body / 4) - 1));
      view.setUint32(at, rng.pick(EXTREME_U32) >>> 0);
      return { bytes: out, kind };
    }
    case 'box-bits': {
      return { bytes: flipBits(input, rng, box.start, Math.min(input.length, box.start + Math.min(box.size, 256))), kind };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Y4M

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function fromLatin1(s: string): Uint8Array {
  return Uint8Array.from({ length: s.length }, (_, i) => u8(s.charCodeAt(i)));
}

/** A strange value for a header tag. */
function oddTagValue(rng: Random): string {
  return rng.pick(['0', '-1', '1', '3', '65535', '32768', '32769', '99999999999', '1e3', '0x10', '', ' ', 'abc', '1:0', '0:0', '0:1', '4294967296:1', '1:1:1', '?', '420p10', '444', 'mono', '420jpeg\0']);
}

/** One Y4M-aware mutation (header tags, frame markers) or a generic byte mutation. */
export function mutateY4m(input: Uint8Array, rng: Random): Mutant {
  const nl = input.indexOf(0x0a);
  const r = rng.next();
  if (nl < 0 || r < 0.4) return mutateBytes(input, rng);
  const header = latin1(input.subarray(0, nl));
  const rest = input.subarray(nl);
  const tokens = header.split(' ');
  const kind = rng.pick(['y4m-tag', 'y4m-tag-drop', 'y4m-tag-dup', 'y4m-header-bits', 'y4m-marker', 'y4m-frame-size'] as const);
  switch (kind) {
    case 'y4m-tag': {
      const i = rng.int(1, Math.max(1, tokens.length - 1));
      const tag = tokens[i]?.[0] ?? rng.pick(['W', 'H', 'F', 'A', 'I', 'C', 'X']);
      tokens[i] = `${rng.next() < 0.8 ? tag : rng.pick(['W', 'H', 'F', 'A', 'I', 'C', 'X', 'Z'])}${oddTagValue(rng)}`;
      return { bytes: concat([fromLatin1(tokens.join(' ')), rest]), kind };
    }
    case 'y4m-tag-drop': {
      tokens.splice(rng.int(0, tokens.length - 1), 1);
      return { bytes: concat([fromLatin1(tokens.join(' ')), rest]), kind };
    }
    case 'y4m-tag-dup': {
      const i = rng.int(1, Math.max(1, tokens.length - 1));
      tokens.splice(rng.int(1, tokens.length), 0, `${tokens[i]?.[0] ?? 'W'}${oddTagValue(rng)}`);
      return { bytes: concat([fromLatin1(tokens.join(' ')), rest]), kind };
    }
    case 'y4m-header-bits':
      return { bytes: flipBits(input, rng, 0, nl + 1), kind };
    case 'y4m-marker': {
      // Damage one FRAME marker: its letters, its newline, or add parameters.
      const marks: number[] = [];
      for (let o = input.indexOf(0x46, nl); o >= 0; o = input.indexOf(0x46, o + 1)) {
        if (latin1(input.subarray(o, o + 6)) === 'FRAME\n') marks.push(o);
      }
      if (marks.length === 0) return mutateBytes(input, rng);
      const at = rng.pick(marks);
      const how = rng.int(0, 3);
      if (how === 0) return { bytes: flipBits(input, rng, at, at + 6), kind };
      if (how === 1) return { bytes: concat([input.subarray(0, at + 5), input.subarray(at + 6)]), kind };
      if (how === 2) return { bytes: concat([input.subarray(0, at + 5), fromLatin1(` I${oddTagValue(rng)} X${'='.repeat(rng.int(0, 5000))}`), input.subarray(at + 5)]), kind };
      return { bytes: concat([input.subarray(0, at), input.subarray(at + 6)]), kind };
    }
    case 'y4m-frame-size': {
      // A frame shorter or longer than the header says (a byte run removed or added inside frame data).
      const at = rng.int(nl + 1, Math.max(nl + 1, input.length));
      const len = rng.int(1, 64);
      const bytes = rng.next() < 0.5
        ? concat([input.subarray(0, at), input.subarray(Math.min(input.length, at + len))])
        : concat([input.subarray(0, at), Uint8Array.from({ length: len }, () => rng.int(0, 255)), input.subarray(at)]);
      return { bytes, kind };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

/** A value that a schema check should refuse (or accept, when harmless). */
export function oddJsonValue(rng: Random): unknown {
  return rng.pick<unknown>([
    null, true, false, 0, -1, 1, 2, 0.5, -0.5, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53),
    '', 'x', '0', '1', 'NaN', 'Infinity', 'float64', 'int8', '../weights.bin', '/etc/passwd', 'tiny.bin',
    [], [0], [-1], [1, 2], [1e9, 1e9, 1e9, 1e9], {}, { a: 1 }, { __proto__: { polluted: 1 } },
  ]);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (list of keys) in a JSON value, the root included. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) paths(value[k]!, [...prefix, k], out);
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const k of path) v = (v as Record<string | number, Json>)[k]!;
  return v;
}

/**
 * One structural mutation of a JSON document: a value replaced by an odd one, a key removed or
 * added, an array element duplicated, removed or swapped, a number nudged. Returns a new value.
 */
export function mutateJson(doc: unknown, rng: Random): { value: unknown; kind: string } {
  const root = JSON.parse(JSON.stringify(doc)) as Json;
  const all = paths(root);
  // Half the time a shallow path (top-level fields and their direct children: format, version,
  // config.*, dtype, sizes, file names), which long arrays would otherwise crowd out.
  const shallow = all.filter((p) => p.length <= 2 && p.every((k) => typeof k === 'string'));
  const path = rng.next() < 0.5 && shallow.length > 0 ? rng.pick(shallow) : rng.pick(all);
  const kind = rng.pick(['json-replace', 'json-delete', 'json-add', 'json-array', 'json-number'] as const);
  if (path.length === 0) return { value: oddJsonValue(rng), kind: 'json-root' };
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = path[path.length - 1]!;
  switch (kind) {
    case 'json-replace':
      (parent as Record<string | number, unknown>)[key] = oddJsonValue(rng);
      break;
    case 'json-delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete (parent as Record<string, Json>)[key];
      break;
    case 'json-add':
      if (Array.isArray(parent)) parent.push(oddJsonValue(rng) as Json);
      else (parent as Record<string, unknown>)[rng.pick(['extra', 'format', 'version', 'dtype', 'offset', 'shape', 'name', 'config', 'width'])] = oddJsonValue(rng);
      break;
    case 'json-array': {
      const arrays = all.filter((p) => Array.isArray(getAt(root, p)) && (getAt(root, p) as Json[]).length > 0);
      if (arrays.length === 0) {
        (parent as Record<string | number, unknown>)[key] = oddJsonValue(rng);
        break;
      }
      const arr = getAt(root, rng.pick(arrays)) as Json[];
      const i = rng.int(0, arr.length - 1);
      const j = rng.int(0, arr.length - 1);
      const how = rng.int(0, 2);
      if (how === 0) arr.splice(i, 0, JSON.parse(JSON.stringify(arr[i])) as Json);
      else if (how === 1) arr.splice(i, 1);
      else [arr[i], arr[j]] = [arr[j]!, arr[i]!];
      break;
    }
    case 'json-number': {
      const numbers = all.filter((p) => p.length > 0 && typeof getAt(root, p) === 'number');
      const p = numbers.length > 0 ? rng.pick(numbers) : path;
      const holder = getAt(root, p.slice(0, -1)) as Record<string | number, Json>;
      const k = p[p.length - 1]!;
      const n = typeof holder[k] === 'number' ? (holder[k] as number) : 0;
      holder[k] = rng.pick([n + 1, n - 1, n * 2, -n, n + 2, n + 0.5, 0, n * 1024]);
      break;
    }
  }
  return { value: root, kind };
}
