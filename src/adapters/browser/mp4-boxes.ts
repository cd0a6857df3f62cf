/**
 * A check of an MP4's box structure before mp4box parses it: every table box (sample sizes, chunk
 * offsets, time-to-sample, track runs, edit lists, ...) must hold the entries it claims. mp4box trusts
 * those counts: a damaged count made it loop for seconds on a few bytes (an empty `trun` loop of four
 * billion samples) or fill an array of billions (`stsz` with a constant size). The same pass counts
 * the samples of each track over every fragment (a fragmented file's header knows only the first).
 */
import { SimpleIRError } from '../../core/errors.js';
import type { ByteReader } from './mp4-reader.js';

/** A top-level box: size (0 in the file = to the end), type and header length. */
interface BoxHeader {
  readonly size: number;
  readonly type: string;
  readonly header: number;
}

/** What {@link scanBoxes} learns. */
export interface BoxScan {
  /** Samples per track id over every `moof` (empty for a file that is not fragmented). */
  readonly fragmentSamples: ReadonlyMap<number, number>;
  /** The top-level box that runs past the end of the file (a cut-off file), or null. */
  readonly truncated: { readonly type: string; readonly offset: number; readonly size: number } | null;
}

/** How a cut-off file reads in a message: where it ends and in which box. */
export function describeTruncation(scan: BoxScan, fileSize: number): string {
  const t = scan.truncated;
  if (!t) return '';
  return ` The file ends at byte ${fileSize}, inside its '${t.type}' box (bytes ${t.offset} to ${t.offset + t.size}): it was cut off (an incomplete download or copy, or a recording that was not finished); get the whole file.`;
}

/** Boxes whose bodies are boxes, after `skip` bytes of their own fields. */
const CONTAINERS: Readonly<Record<string, number>> = {
  moov: 0, trak: 0, mdia: 0, minf: 0, stbl: 0, dinf: 0, edts: 0, mvex: 0, moof: 0, traf: 0, mfra: 0, udta: 0, sinf: 0, schi: 0, meta: 4,
};

/** Top-level boxes read whole and checked (the media data is not). */
const CHECKED_TOP = new Set(['moov', 'moof', 'mfra', 'meta']);

function corrupt(message: string): SimpleIRError {
  return new SimpleIRError('CORRUPT_INPUT', `corrupt or unreadable MP4: ${message}`);
}

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

/**
 * Bytes a table box's entries need, from its count fields, or null when the box is not a table.
 * `body` is the offset of the full-box version byte, `length` the body's bytes, `fileSize` bounds
 * tables whose entries take no bytes of their own (every sample takes at least a byte of the file).
 */
function tableNeeds(type: string, view: DataView, body: number, length: number, fileSize: number): { needed: number; count: number } | null {
  if (length < 4) return null;
  const version = view.getUint8(body);
  const flags = view.getUint32(body) & 0xffffff;
  const count = (at: number): number => (at + 4 <= length ? view.getUint32(body + at) : 0);
  const table = (at: number, entry: number): { needed: number; count: number } => ({ needed: at + 4 + count(at) * entry, count: count(at) });
  switch (type) {
    case 'stts':
    case 'ctts':
    case 'stsh':
    case 'co64':
      return table(4, 8);
    case 'stss':
    case 'stco':
      return table(4, 4);
    case 'stsc':
      return table(4, 12);
    case 'stsd':
    case 'dref':
      return table(4, 8);
    case 'elst':
      return table(4, version === 1 ? 20 : 12);
    case 'stsz': {
      const size = count(4);
      const n = count(8);
      return size === 0 ? { needed: 12 + 4 * n, count: n } : { needed: n * size <= fileSize ? 12 : Infinity, count: n };
    }
    case 'stz2': {
      const field = length >= 8 ? view.getUint8(body + 7) : 0;
      const n = count(8);
      return { needed: 12 + Math.ceil((n * field) / 8), count: n };
    }
    case 'trun': {
      const fixed = 8 + (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0);
      const per = 4 * popcount(flags & 0xf00);
      const n = count(4);
      return per > 0 ? { needed: fixed + n * per, count: n } : { needed: n <= fileSize ? 8 : Infinity, count: n };
    }
    case 'sbgp':
      return table(version === 1 ? 12 : 8, 8);
    case 'saio':
      return table(flags & 1 ? 12 : 4, version === 0 ? 4 : 8);
    case 'saiz': {
      const at = flags & 1 ? 12 : 4;
      const defaultSize = at < length ? view.getUint8(body + at) : 0;
      const n = count(at + 1);
      return defaultSize === 0 ? { needed: at + 5 + n, count: n } : { needed: n <= fileSize ? at + 5 : Infinity, count: n };
    }
    case 'subs':
      return table(4, 6);
    case 'sgpd':
      // At least a byte per group description.
      return table(version >= 1 ? 12 : 8, 1);
    case 'tfra':
      return table(12, (version === 1 ? 16 : 8) + 3);
    default:
      return null;
  }
}

/** The four-character codes {@link tableNeeds} knows, as 32-bit numbers. */
const TABLE_CODES = new Set(['stts', 'ctts', 'stsh', 'co64', 'stss', 'stco', 'stsc', 'stsd', 'dref', 'elst', 'stsz', 'stz2', 'trun', 'sbgp', 'saio', 'saiz', 'subs', 'sgpd', 'tfra'].map(codeOf));

function codeOf(type: string): number {
  return ((type.charCodeAt(0) << 24) | (type.charCodeAt(1) << 16) | (type.charCodeAt(2) << 8) | type.charCodeAt(3)) >>> 0;
}

/**
 * Checks every table box inside `[from, to)` of `view`, wherever it sits: mp4box parses boxes inside
 * containers, sample entries and other boxes' bodies, so each position where a table's code follows a
 * plausible size (one that fits in the rest of the range) is checked as a box. Text, the usual content
 * that is not boxes, cannot look like a plausible size (its bytes are >= 0x20, so its sizes are >= 512 MiB).
 */
function checkTables(view: DataView, from: number, to: number, where: string, fileSize: number): void {
  for (let p = from + 4; p + 4 <= to; p++) {
    if (!TABLE_CODES.has(view.getUint32(p))) continue;
    const start = p - 4;
    const type = fourcc(view, p);
    let size = view.getUint32(start);
    let header = 8;
    if (size === 1) {
      if (p + 12 > to) continue;
      size = Number(view.getBigUint64(p + 4));
      header = 16;
      // mp4box reads a 64-bit size of 0 as "no size" and parses the box on into whatever follows.
      if (size < 16) throw corrupt(`a ${type} box in ${where} has a 64-bit size of ${size}`);
    }
    if (size < header || start + size > to) continue;
    const length = size - header;
    const table = tableNeeds(type, view, start + header, length, fileSize);
    if (table && table.needed > length) throw corrupt(`a ${type} box in ${where} claims ${table.count} entries but holds ${length} bytes`);
  }
}

/** Calls `visit` for each box inside `[from, to)` of `view`, recursively through containers. */
function walkBoxes(view: DataView, from: number, to: number, visit: (type: string, body: number, end: number) => void): void {
  for (let o = from; o + 8 <= to; ) {
    const size = view.getUint32(o);
    if (size < 8 || o + size > to) return;
    const type = fourcc(view, o + 4);
    visit(type, o + 8, o + size);
    const skip = CONTAINERS[type];
    if (skip !== undefined) walkBoxes(view, o + 8 + skip, o + size, visit);
    o += size;
  }
}

/** A visitor that sums `trun.sample_count` by the `tfhd.track_ID` of each `traf` of a moof. */
function moofSampleCounter(view: DataView, into: Map<number, number>): (type: string, body: number) => void {
  let track = -1;
  return (type, body) => {
    // tfhd and trun are full boxes: 4 bytes of version and flags first.
    if (type === 'traf') track = -1;
    if (type === 'tfhd' && body + 8 <= view.byteLength) track = view.getUint32(body + 4);
    if (type === 'trun' && body + 8 <= view.byteLength && track >= 0) into.set(track, (into.get(track) ?? 0) + view.getUint32(body + 4));
  };
}

/** Reads a box header at `offset`: size (0 = to the end) and type. */
async function boxHeader(reader: ByteReader, offset: number): Promise<BoxHeader | null> {
  if (offset + 8 > reader.size) return null;
  const v = new DataView(await reader.read(offset, 16));
  if (v.byteLength < 8) return null;
  let size = v.getUint32(0);
  const type = fourcc(v, 4);
  let header = 8;
  if (size === 1 && v.byteLength >= 16) {
    size = Number(v.getBigUint64(8));
    header = 16;
    if (size < 16) throw corrupt(`top-level box ${type} has a 64-bit size of ${size}`);
  } else if (size === 0) {
    size = reader.size - offset;
  }
  if (size < header) return null;
  return { size, type, header };
}

/**
 * Walks the top-level boxes (headers only), reads each `moov`, `moof`, `mfra` and `meta` whole and
 * checks its tables, and counts the samples of the fragments.
 * @throws SimpleIRError `CORRUPT_INPUT` naming the box whose count does not fit
 */
export async function scanBoxes(reader: ByteReader): Promise<BoxScan> {
  const fragmentSamples = new Map<number, number>();
  let truncated: BoxScan['truncated'] = null;
  for (let offset = 0; ; ) {
    const box = await boxHeader(reader, offset);
    if (!box) break;
    if (offset + box.size > reader.size) truncated = { type: box.type, offset, size: box.size };
    if (TABLE_CODES.has(codeOf(box.type))) {
      // A table at the top level (a damaged type): mp4box parses it like any other.
      const head = new DataView(await reader.read(offset, box.header + 24));
      const length = box.size - box.header;
      const table = tableNeeds(box.type, head, box.header, Math.min(length, head.byteLength - box.header), reader.size);
      if (table && table.needed > length) throw corrupt(`a ${box.type} box at byte ${offset} claims ${table.count} entries but holds ${length} bytes`);
    } else if (CHECKED_TOP.has(box.type)) {
      const view = new DataView(await reader.read(offset, Math.min(box.size, reader.size - offset)));
      const skip = CONTAINERS[box.type] ?? 0;
      checkTables(view, box.header + skip, view.byteLength, `the ${box.type} at byte ${offset}`, reader.size);
      if (box.type === 'moof') walkBoxes(view, box.header, view.byteLength, moofSampleCounter(view, fragmentSamples));
    }
    offset += box.size;
  }
  return { fragmentSamples, truncated };
}

/** What a file that is not an MP4 is, from its first bytes, and what to do with it. */
interface OtherFormat {
  readonly name: string;
  readonly advice: string;
}

const REMUX = 'remux it into MP4 without re-encoding (e.g. `ffmpeg -i input -c copy output.mp4`), or re-encode it as H.264 MP4 when its codec does not fit MP4';

/** Recognises the common containers and images by their signatures. */
function otherFormat(head: Uint8Array): OtherFormat | null {
  const ascii = (from: number, to: number): string => String.fromCharCode(...head.subarray(from, to));
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1a, 0x45, 0xdf, 0xa3)) {
    const webm = /webm/.test(ascii(0, Math.min(head.length, 64)));
    return { name: webm ? 'a WebM (Matroska) file' : 'a Matroska (MKV) file', advice: `${REMUX}; a browser can also play it in a <video> element (fromVideoElement)` };
  }
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'AVI ') return { name: 'an AVI file', advice: REMUX };
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return { name: 'a WAV audio file (no video)', advice: 'give fromMp4 a video file' };
  if (ascii(0, 3) === 'FLV') return { name: 'an FLV file', advice: REMUX };
  if (ascii(0, 4) === 'OggS') return { name: 'an Ogg file', advice: REMUX };
  if (ascii(0, 9) === 'YUV4MPEG2') return { name: 'a Y4M (raw YUV) video', advice: 'read it with fromY4m (Node), or encode it as MP4 (e.g. `ffmpeg -i input.y4m -c:v libx264 output.mp4`)' };
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47)) return { name: 'an MPEG transport stream (.ts)', advice: REMUX };
  if (starts(0, 0, 1, 0xba)) return { name: 'an MPEG program stream (.mpg)', advice: REMUX };
  if (starts(0x89, 0x50, 0x4e, 0x47)) return { name: 'a PNG image', advice: 'give fromMp4 a video; restore an image with model.restore' };
  if (starts(0xff, 0xd8, 0xff)) return { name: 'a JPEG image', advice: 'give fromMp4 a video; restore an image with model.restore' };
  if (ascii(0, 4) === 'GIF8') return { name: 'a GIF image', advice: 'convert it to MP4 (e.g. `ffmpeg -i input.gif -c:v libx264 -pix_fmt yuv420p output.mp4`)' };
  return null;
}

/** Four printable characters, as every MP4 box type is. */
function isBoxType(head: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) if (head[i] === undefined || head[i]! < 0x20 || head[i]! > 0x7e) return false;
  return true;
}

/**
 * Checks that a file of `size` bytes beginning with `head` (its first 200 bytes or so) starts like an
 * MP4: a box with a printable type whose size fits. Another container (WebM, Matroska, AVI, MPEG-TS, ...)
 * is named, with what to do.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` for a known other format, `CORRUPT_INPUT` for anything else that is not an MP4
 */
export function checkMp4Start(head: Uint8Array, size: number): void {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const boxSize = head.length >= 8 ? view.getUint32(0) : -1;
  const plausible = head.length >= 8 && isBoxType(head, 4) && (boxSize === 0 || boxSize === 1 || (boxSize >= 8 && boxSize <= size));
  if (plausible) return;
  const other = otherFormat(head);
  if (other) throw new SimpleIRError('UNSUPPORTED_FORMAT', `this is ${other.name}, not an MP4: fromMp4 reads MP4 (ISO BMFF) files only; ${other.advice}`, { format: other.name });
  if (size === 0) throw corrupt('the file is empty (0 bytes)');
  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw corrupt(`not an MP4: an MP4 begins with a box (4-byte size, then a type such as 'ftyp'), this file (${size} bytes) begins with ${hex}; check that it is the video file (not an HTML error page or another format), or re-encode it as MP4`);
}
