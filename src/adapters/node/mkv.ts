/**
 * A minimal Matroska writer for raw 4:2:0 frames, the pipe format of the ffmpeg sink: unlike Y4M it
 * keeps each frame's own timestamp and duration (variable frame rate) and the colour tags.
 */
import { once } from 'node:events';
import { SimpleIRError } from '../../core/errors.js';
import type { ColourTags, Rational, Y4mInterlace, Yuv420Planes } from './y4m.js';

/** Options of {@link createMkvWriter}. */
export interface MkvWriterOptions {
  /** Luma width in pixels. */
  readonly width: number;
  /** Luma height in pixels. */
  readonly height: number;
  /** Colour tags written in the track's `Colour` element (values ffmpeg knows; others are left out). */
  readonly colour?: ColourTags;
  /** Field order written in `FlagInterlaced`/`FieldOrder` (default: not written). */
  readonly interlace?: Y4mInterlace;
  /** Pixel aspect ratio, written as display width and height (default: not written, square pixels). */
  readonly aspect?: Rational;
  /**
   * The usual frame duration in microseconds (`DefaultDuration`): ffmpeg 5 gives it to the last
   * frame, whose own duration an H.264 encoder drops (without it a one-frame video lasts 1 µs).
   */
  readonly frameDuration?: number;
}

/** Timing of one frame, in microseconds. */
export interface FrameTiming {
  /** Presentation time, >= 0 and increasing. */
  readonly timestamp: number;
  /** Display duration, when known. */
  readonly duration?: number;
}

/** Writes raw I420 frames with their times into a Matroska stream. */
export interface MkvWriter {
  /** Appends one frame; resolves once the destination can take more. */
  write(planes: Pick<Yuv420Planes, 'y' | 'u' | 'v'>, timing: FrameTiming): Promise<void>;
  /** Ends the stream and waits until it is flushed. */
  close(): Promise<void>;
}

// Codes of ITU-T H.273 (the numbers Matroska's Colour element uses), by ffmpeg's names.
const MATRIX: Record<string, number> = { gbr: 0, bt709: 1, fcc: 4, bt470bg: 5, smpte170m: 6, smpte240m: 7, ycgco: 8, 'bt2020nc': 9, 'bt2020c': 10 };
const PRIMARIES: Record<string, number> = { bt709: 1, bt470m: 4, bt470bg: 5, smpte170m: 6, smpte240m: 7, film: 8, bt2020: 9 };
const TRANSFER: Record<string, number> = {
  bt709: 1, gamma22: 4, bt470m: 4, gamma28: 5, bt470bg: 5, smpte170m: 6, smpte240m: 7, linear: 8, 'iec61966-2-4': 11, 'bt1361e': 12, 'iec61966-2-1': 13, 'bt2020-10': 14, 'bt2020-12': 15, smpte2084: 16, 'arib-std-b67': 18,
};
const FIELD_ORDER: Partial<Record<Y4mInterlace, number>> = { 'top-first': 1, 'bottom-first': 6 };
const UNKNOWN_SIZE = Uint8Array.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/**
 * Starts a Matroska stream of one raw video track (`V_UNCOMPRESSED`, I420) on `stream`, timestamps in
 * microseconds (TimestampScale 1000 ns). Each frame is one cluster holding one block with its duration,
 * so any timestamp sequence is stored exactly.
 * @throws SimpleIRError `INVALID_ARGUMENT` from `write` for a timestamp that is negative, not an integer
 *   number of microseconds after rounding, or not after the previous frame's; `IO_ERROR` when the stream fails.
 */
export function createMkvWriter(stream: NodeJS.WritableStream, options: MkvWriterOptions): MkvWriter {
  const { width, height } = options;
  let failure: SimpleIRError | undefined;
  stream.on('error', (e: Error) => {
    failure ??= new SimpleIRError('IO_ERROR', `cannot write the video stream: ${e.message}`, {}, { cause: e });
  });
  stream.write(header(options));
  let last = -1;
  let closed = false;
  const lumaSize = width * height;
  const chromaSize = Math.ceil(width / 2) * Math.ceil(height / 2);

  async function waitFor(event: 'drain' | 'finish'): Promise<void> {
    const ac = new AbortController();
    const on = (e: string): Promise<string> => once(stream, e, { signal: ac.signal }).then(() => e, () => 'error');
    const first = await Promise.race([on(event), on('error'), on('close')]);
    ac.abort();
    if (first !== event) failure ??= new SimpleIRError('IO_ERROR', 'cannot write the video stream: it closed early');
    if (failure) throw failure;
  }

  return {
    async write(planes, timing) {
      if (failure) throw failure;
      const ts = Math.round(timing.timestamp);
      if (!(ts >= 0) || ts <= last) {
        throw new SimpleIRError(
          'INVALID_ARGUMENT',
          `frame timestamps must be >= 0 and increasing (microseconds); got ${timing.timestamp} after ${last < 0 ? 'the start' : last}. Give each frame its presentation time, or set the sink's fps for a constant rate.`,
          { timestamp: timing.timestamp, previous: last },
        );
      }
      if (planes.y.length !== lumaSize || planes.u.length !== chromaSize || planes.v.length !== chromaSize) {
        throw new SimpleIRError('INVALID_ARGUMENT', `video stream ${width}x${height}: planes of ${planes.y.length}/${planes.u.length}/${planes.v.length} bytes do not match`);
      }
      last = ts;
      const duration = timing.duration !== undefined && timing.duration > 0 ? [element(0x9b, uint(Math.round(timing.duration)))] : [];
      const block = element(0xa1, concat([Uint8Array.from([0x81, 0, 0, 0]), planes.y, planes.u, planes.v]));
      const cluster = element(0x1f43b675, concat([element(0xe7, uint(ts)), element(0xa0, concat([block, ...duration]))]));
      if (!stream.write(cluster)) await waitFor('drain');
      if (failure) throw failure;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (failure) throw failure;
      const finished = waitFor('finish');
      stream.end();
      await finished;
    },
  };
}

function header(options: MkvWriterOptions): Uint8Array {
  const ebml = element(0x1a45dfa3, concat([
    element(0x4286, uint(1)), element(0x42f7, uint(1)), element(0x42f2, uint(4)), element(0x42f3, uint(8)),
    element(0x4282, text('matroska')), element(0x4287, uint(4)), element(0x4285, uint(2)),
  ]));
  const info = element(0x1549a966, concat([element(0x2ad7b1, uint(1000)), element(0x4d80, text('simpleir-stream')), element(0x5741, text('simpleir-stream'))]));
  const c = options.colour ?? {};
  const colour = [
    ...(c.space !== undefined && c.space in MATRIX ? [element(0x55b1, uint(MATRIX[c.space]!))] : []),
    ...(c.range ? [element(0x55b9, uint(c.range === 'pc' ? 2 : 1))] : []),
    ...(c.transfer !== undefined && c.transfer in TRANSFER ? [element(0x55ba, uint(TRANSFER[c.transfer]!))] : []),
    ...(c.primaries !== undefined && c.primaries in PRIMARIES ? [element(0x55bb, uint(PRIMARIES[c.primaries]!))] : []),
  ];
  const fields = options.interlace === undefined || options.interlace === 'unknown' || options.interlace === 'mixed'
    ? []
    : options.interlace === 'progressive'
      ? [element(0x9a, uint(2)), element(0x9d, uint(0))]
      : [element(0x9a, uint(1)), element(0x9d, uint(FIELD_ORDER[options.interlace]!))];
  // ffmpeg reads the pixel aspect back as (height * DisplayWidth) : (width * DisplayHeight).
  const a = options.aspect;
  const display = a && a.num > 0 && a.den > 0 && a.num !== a.den ? [element(0x54b0, uint(options.width * a.num)), element(0x54ba, uint(options.height * a.den))] : [];
  const video = element(0xe0, concat([
    element(0xb0, uint(options.width)), element(0xba, uint(options.height)), ...display, element(0x2eb524, text('I420')),
    ...fields, ...(colour.length > 0 ? [element(0x55b0, concat(colour))] : []),
  ]));
  const track = element(0xae, concat([
    element(0xd7, uint(1)), element(0x73c5, uint(1)), element(0x83, uint(1)), element(0x9c, uint(0)),
    ...(options.frameDuration && options.frameDuration > 0 ? [element(0x23e383, uint(Math.round(options.frameDuration * 1000)))] : []),
    element(0x86, text('V_UNCOMPRESSED')), video,
  ]));
  const segmentStart = concat([id(0x18538067), UNKNOWN_SIZE]);
  return concat([ebml, segmentStart, info, element(0x1654ae6b, track)]);
}

function id(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.from(bytes);
}

/** An EBML variable-size integer, in the fewest bytes (all-ones values are reserved). */
function size(n: number): Uint8Array {
  let length = 1;
  while (n >= 2 ** (7 * length) - 1) length++;
  const out = new Uint8Array(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x80 >> (length - 1);
  return out;
}

function uint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.from(bytes.length > 0 ? bytes : [0]);
}

function text(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

function element(elementId: number, payload: Uint8Array): Uint8Array {
  return concat([id(elementId), size(payload.length), payload]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
