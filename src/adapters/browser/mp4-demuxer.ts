/**
 * MP4 demuxing with mp4box: reads a Blob, buffer or URL in chunks (random access, so the moov may be
 * at either end), describes its tracks, gives the WebCodecs decoder config of a track and hands out
 * samples one by one, reading more of the file only when a track's queue runs dry.
 */
import { createFile, DataStream, Endianness, MP4BoxBuffer, type ISOFile, type Movie, type Sample, type Track } from 'mp4box';
import { SimpleIRError } from '../../core/errors.js';
import type { ByteReader } from './mp4-reader.js';
import { checkMp4Start, describeTruncation, scanBoxes, type BoxScan } from './mp4-boxes.js';

/** The video track of an MP4. */
export interface Mp4VideoTrack {
  /** Track id in the file. */
  readonly id: number;
  /** WebCodecs codec string, e.g. `avc1.64001f`, `vp09.00.10.08`, `av01.0.04M.08`. */
  readonly codec: string;
  /** Coded width in pixels. */
  readonly width: number;
  /** Coded height in pixels. */
  readonly height: number;
  /**
   * Number of frames presented: the samples inside the edit list's window (frames cut by an edit are
   * decoded as references but not presented). Counted over every fragment of a fragmented file.
   */
  readonly frameCount: number;
  /** Number of coded samples (with those an edit list cuts). */
  readonly sampleCount: number;
  /** Average frame rate. */
  readonly fps: number;
  /** Units per second of the track's timestamps. */
  readonly timescale: number;
  /** How long the frames are shown (with an edit list, its window; else the sum of the sample durations), in microseconds. */
  readonly durationUs: number;
  /**
   * The track header's display matrix (`tkhd`, nine 16.16 / 2.30 fixed-point numbers as stored):
   * how players turn the stored picture for display. `toMp4` writes it into its output.
   */
  readonly matrix: readonly number[];
  /** Clockwise display rotation of the matrix in degrees (ffmpeg's `rotate` tag): 0, 90, 180 or 270. */
  readonly rotation: 0 | 90 | 180 | 270;
  /** Pixel aspect ratio (the `pasp` box; 1:1 without one): a stored pixel is `h / v` as wide as high. */
  readonly pixelAspectRatio: PixelAspectRatio;
}

/** The shape of a stored pixel: `h / v` (e.g. 16:15 for an anamorphic 160x96 shown as 171x96). */
export interface PixelAspectRatio {
  /** Horizontal spacing (relative width). */
  readonly h: number;
  /** Vertical spacing (relative height). */
  readonly v: number;
}

/** The identity display matrix of a track header. */
export const IDENTITY_MATRIX: readonly number[] = Object.freeze([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000]);

/** Clockwise rotation in degrees of a display matrix (the nearest quarter turn). */
export function matrixRotation(matrix: readonly number[]): 0 | 90 | 180 | 270 {
  const [a = 0x10000, b = 0] = matrix;
  const degrees = Math.round((Math.atan2(-b, a) * 180) / Math.PI / 90) * 90;
  return (((degrees % 360) + 360) % 360) as 0 | 90 | 180 | 270;
}

/** The audio track of an MP4 (copied as is by `toMp4`). */
export interface Mp4AudioTrack {
  /** Track id in the file. */
  readonly id: number;
  /** Codec string, e.g. `mp4a.40.2`. */
  readonly codec: string;
  /** Samples per second. */
  readonly sampleRate: number;
  /** Number of channels. */
  readonly channels: number;
  /** Number of encoded samples (packets), when known (not for fragmented files). */
  readonly sampleCount: number;
  /** Units per second of the track's timestamps. */
  readonly timescale: number;
}

/** What an MP4 holds, as far as the SDK cares. */
export interface Mp4Info {
  /** The first video track. */
  readonly video: Mp4VideoTrack;
  /** The first audio track, if any. */
  readonly audio: Mp4AudioTrack | null;
  /** True for a fragmented file (moof boxes). */
  readonly fragmented: boolean;
  /** Byte size of the file. */
  readonly byteLength: number;
}

const CHUNK_BYTES = 1 << 20;
/** Bytes read at a time until the header is parsed: a moov at the end is reached after reading little of the start. */
const HEADER_CHUNK_BYTES = 64 << 10;
/** Samples mp4box hands over per callback: one, so that a truncated file still gives the samples it has. */
const EXTRACT_BATCH = 1;

function corrupt(message: string, cause?: unknown): SimpleIRError {
  return new SimpleIRError('CORRUPT_INPUT', `corrupt or unreadable MP4: ${message}`, {}, cause === undefined ? undefined : { cause });
}

interface SampleEntryLike {
  type: string;
  width?: number;
  height?: number;
  boxes?: unknown[];
  avcC?: { write(s: DataStream): void };
  hvcC?: { write(s: DataStream): void };
  av1C?: { write(s: DataStream): void };
  pasp?: { hSpacing: number; vSpacing: number };
}

/** The body of a box (without its 8-byte header), as WebCodecs wants a `description`. */
function boxBody(box: { write(s: DataStream): void }): Uint8Array {
  const stream = new DataStream(undefined, 0, Endianness.BIG_ENDIAN);
  box.write(stream);
  return new Uint8Array(stream.buffer, 8);
}

/**
 * Where a track's samples are shown, from its edit list, in track units: a sample of composition time
 * `cts` is presented at `cts - shift` when that falls in `[start, end)`, and cut otherwise (decoded as a
 * reference only). An empty edit first delays the track; a media edit's `media_time` is the first
 * composition time shown (`ffmpeg -ss 0.1 -c copy` keeps the frames from the key frame before the cut
 * and starts the edit at the cut). Without an edit list every sample is shown at its `cts`.
 */
export interface EditWindow {
  /** Subtracted from a composition time to give the presentation time. */
  readonly shift: number;
  /** First presentation time shown (-Infinity without an edit list). */
  readonly start: number;
  /** Presentation time where the showing ends, exclusive (Infinity when the edit runs to the end). */
  readonly end: number;
}

/**
 * The {@link EditWindow} of `track`: its empty edits, then its first media edit (later edits are not
 * followed). In a `fragmented` file the edit's end is not applied: writers set its duration from the
 * samples in the moov, before the fragments that follow.
 */
export function editWindow(track: Track, fragmented = false): EditWindow {
  let delay = 0;
  for (const edit of track.edits ?? []) {
    const duration = (edit.segment_duration * track.timescale) / track.movie_timescale;
    if (edit.media_time === -1) {
      delay += duration;
      continue;
    }
    // A duration of 0 (fragmented files written before their length is known): to the end.
    return { shift: edit.media_time - delay, start: delay, end: duration > 0 && !fragmented ? delay + duration : Infinity };
  }
  return { shift: -delay, start: -Infinity, end: Infinity };
}

/** True when a sample of composition time `cts` is presented in `window`. */
export function inWindow(window: EditWindow, cts: number): boolean {
  const t = cts - window.shift;
  return t >= window.start && t < window.end;
}

/**
 * How long each sample of a plain file is shown, by sample number, in track units: from its composition
 * time to the next one's (the decode-time deltas of `stts` differ from it with B-frames and variable frame
 * rates), the last to the end of the edit window (else its own duration). Empty for a fragmented file,
 * whose samples are not all known up front.
 */
function presentationDurations(samples: readonly Sample[], window: EditWindow): Map<number, number> {
  const order = [...samples].sort((a, b) => a.cts - b.cts);
  const out = new Map<number, number>();
  for (const [i, sample] of order.entries()) {
    const next = order[i + 1];
    const end = next ? next.cts : Number.isFinite(window.end) ? window.end + window.shift : sample.cts + sample.duration;
    out.set(sample.number, end > sample.cts ? end - sample.cts : sample.duration);
  }
  return out;
}

/** Which track's samples a demuxer hands out. */
export type Mp4TrackKind = 'video' | 'audio' | 'none';

/** An MP4 file being demuxed. Create with {@link Mp4Demuxer.open}; {@link Mp4Demuxer.close} when done. */
export class Mp4Demuxer {
  private infoValue: Mp4Info | undefined;
  private readonly queues = new Map<number, Sample[]>();
  private readonly windows = new Map<number, EditWindow>();
  private readonly durations = new Map<number, Map<number, number>>();
  private readonly extracted = new Map<number, number>();
  private readonly file: ISOFile = createFile();
  private readonly guard: (bytes?: number) => void;
  private movie: Movie | null = null;
  private scan: BoxScan | null = null;
  private position = 0;
  private eof = false;
  private failure: SimpleIRError | null = null;
  private closed = false;

  private constructor(
    private readonly reader: ByteReader,
    private readonly kind: Mp4TrackKind,
  ) {
    this.guard = progressGuard(reader.size);
    const file = this.file;
    file.onReady = (movie) => {
      this.movie = movie;
      // Extraction must start inside onReady: mp4box drops the media bytes it has once the header is parsed.
      const track = kind === 'video' ? movie.videoTracks[0] : kind === 'audio' ? movie.audioTracks[0] : undefined;
      if (!track) return;
      this.queues.set(track.id, []);
      const window = editWindow(track, movie.isFragmented);
      this.windows.set(track.id, window);
      if (!movie.isFragmented) this.durations.set(track.id, presentationDurations(file.getTrackById(track.id)?.samples ?? [], window));
      file.setExtractionOptions(track.id, undefined, { nbSamples: EXTRACT_BATCH });
      file.start();
    };
    file.onSamples = (id, _user, samples) => {
      const queue = this.queues.get(id);
      if (!queue || this.closed) return;
      queue.push(...samples);
      this.extracted.set(id, (this.extracted.get(id) ?? 0) + samples.length);
    };
    file.onError = (module, message) => {
      this.failure ??= corrupt(`${module}: ${message}`);
    };
  }

  /**
   * Parses the file up to its track list, ready to hand out the samples of the first track of `kind`
   * (default `video`) through {@link nextSample}.
   * @throws SimpleIRError `CORRUPT_INPUT` (not an MP4, truncated header) or `UNSUPPORTED_FORMAT` (no video track)
   */
  static async open(reader: ByteReader, kind: Mp4TrackKind = 'video'): Promise<Mp4Demuxer> {
    const r = reader as Partial<ByteReader> | null;
    if (typeof r?.size !== 'number' || !(r.size >= 0) || typeof r.read !== 'function') {
      throw new SimpleIRError('INVALID_ARGUMENT', 'Mp4Demuxer.open takes a ByteReader ({ size, read(offset, length) }), e.g. from openByteReader(blob)');
    }
    if (kind !== 'video' && kind !== 'audio' && kind !== 'none') throw new SimpleIRError('INVALID_ARGUMENT', `kind must be 'video', 'audio' or 'none', got ${JSON.stringify(kind)}`);
    const d = new Mp4Demuxer(reader, kind);
    try {
      checkMp4Start(new Uint8Array(await reader.read(0, 256)), reader.size);
      // Table counts are checked before mp4box sees them (it trusts them); fragments are counted.
      const scan = await scanBoxes(reader);
      d.scan = scan;
      while (!d.movie && !d.failure && d.position < reader.size) d.position = await appendChunk(d.file, reader, d.position, d.guard, HEADER_CHUNK_BYTES);
      if (d.failure) throw d.failure;
      const movie = d.movie as Movie | null;
      if (!movie) {
        throw corrupt(
          `no movie header (moov box) in its ${reader.size} bytes.${describeTruncation(scan, reader.size) || ' A recording that was not finished has none (the moov is written last); remux or re-record the file.'}`,
        );
      }
      if (movie.videoTracks.length === 0) throw new SimpleIRError('UNSUPPORTED_FORMAT', `the MP4 has no video track (its tracks: ${movie.tracks.map((t) => `${t.codec || 'unknown'}`).join(', ') || 'none'}); give fromMp4 a video file`);
      const fragmentCount = movie.isFragmented ? (scan.fragmentSamples.get(movie.videoTracks[0]!.id) ?? 0) : null;
      d.infoValue = describe(d.file, movie, reader.size, fragmentCount);
      const v = d.infoValue.video;
      if (v.sampleCount === 0) {
        throw new SimpleIRError(
          'UNSUPPORTED_FORMAT',
          `the MP4's video track (id ${v.id}, ${v.codec}, ${v.width}x${v.height}) has no frames: ${movie.isFragmented ? 'a fragmented file holding its header (init segment) only: give the init segment and its media segments joined into one file' : 'the recording stopped before its first frame was written'}; there is nothing to restore`,
          { trackId: v.id },
        );
      }
      return d;
    } catch (e) {
      d.close();
      throw e;
    }
  }

  /** The file's tracks. */
  get info(): Mp4Info {
    return this.infoValue!;
  }

  /** Id of the track whose samples {@link nextSample} hands out, or null (kind `none`, or no such track). */
  get trackId(): number | null {
    const first = this.queues.keys().next();
    return first.done ? null : first.value;
  }

  /** The WebCodecs config that decodes track `id` (the video track by default). */
  decoderConfig(id = this.info.video.id): VideoDecoderConfig {
    const entry = this.sampleEntry(id);
    const track = this.track(id);
    const config: VideoDecoderConfig = { codec: track.codec, codedWidth: entry.width ?? track.video?.width, codedHeight: entry.height ?? track.video?.height };
    const box = entry.avcC ?? entry.hvcC ?? entry.av1C;
    if (box) config.description = boxBody(box);
    return config;
  }

  /** The parsed sample entry (stsd) of track `id`, e.g. to copy it into another file. */
  sampleEntry(id: number): SampleEntryLike {
    const entry = this.file.getTrackById(id)?.mdia?.minf?.stbl?.stsd?.entries?.[0] as SampleEntryLike | undefined;
    if (!entry) throw corrupt(`track ${id} has no sample description`);
    return entry;
  }

  /** The track's description from mp4box. */
  track(id: number): Track {
    const t = this.movieTracks().find((x) => x.id === id);
    if (!t) throw new SimpleIRError('INVALID_ARGUMENT', `no track ${id} in this MP4`);
    return t;
  }

  /** The edit list's presentation window of track `id` (see {@link EditWindow}). */
  window(id: number): EditWindow {
    return this.windows.get(id) ?? editWindow(this.track(id), this.info.fragmented);
  }

  /**
   * The next sample of the extracted track ({@link trackId}) with its presentation time in track units
   * (edit list applied) and how long it is shown (to the next presentation time; the sample's own
   * duration in a fragmented file), or null at the end of the track; `shown` is false for a sample the
   * edit list cuts (decode it as a reference, do not present it). Reads more of the file as needed.
   * @throws SimpleIRError `CORRUPT_INPUT` when the file is damaged or ends early
   */
  async nextSample(): Promise<{ sample: Sample; pts: number; duration: number; shown: boolean } | null> {
    const id = this.trackId;
    const queue = id === null ? undefined : this.queues.get(id);
    if (id === null || !queue) return null;
    while (queue.length === 0 && !this.eof && !this.closed) {
      if (this.failure) throw this.failure;
      if (this.position >= this.reader.size) {
        this.file.flush();
        this.eof = true;
        break;
      }
      this.position = await appendChunk(this.file, this.reader, this.position, this.guard);
    }
    if (this.failure) throw this.failure;
    const sample = queue.shift();
    if (!sample) {
      this.checkComplete(id);
      return null;
    }
    const window = this.window(id);
    const duration = this.durations.get(id)?.get(sample.number) ?? sample.duration;
    return { sample, pts: sample.cts - window.shift, duration, shown: inWindow(window, sample.cts) };
  }

  /** Lets mp4box free the bytes of the extracted track's samples up to `sample`. */
  release(sample: Sample): void {
    this.file.releaseUsedSamples(sample.track_id, sample.number + 1);
  }

  /** Stops parsing and drops queued samples. */
  close(): void {
    this.closed = true;
    this.queues.clear();
    try {
      this.file.stop();
    } catch {
      // Stopping a file that failed to parse is harmless.
    }
  }

  private movieTracks(): Track[] {
    return this.file.getInfo().tracks;
  }

  /** At the end of a track: every sample its headers list must have come out. */
  private checkComplete(id: number): void {
    const expected = id === this.info.video.id ? this.info.video.sampleCount : this.info.fragmented ? 0 : (this.file.getTrackById(id)?.samples?.length ?? 0);
    const got = this.extracted.get(id) ?? 0;
    if (got < expected) {
      const why = (this.scan && describeTruncation(this.scan, this.reader.size)) || ' The file is damaged or was cut off; get the whole file again.';
      throw corrupt(`track ${id} ends after ${got} of the ${expected} samples its header lists.${why}`);
    }
  }
}

/**
 * Throws once far more bytes were fed to mp4box than the file holds (a parser going round in circles).
 * A sound file is read about once (twice with its moov at the end).
 */
function progressGuard(size: number): (bytes?: number) => void {
  let fed = 0;
  return (bytes = 0) => {
    fed += bytes;
    if (fed > 8 * size + 256 * 1024) throw corrupt('the parser does not progress through the file');
  };
}

/** Appends the chunk at `position`; returns the position mp4box wants next (it may jump to a moov at the end and back). */
async function appendChunk(file: ISOFile, reader: ByteReader, position: number, guard: (bytes?: number) => void, length = CHUNK_BYTES): Promise<number> {
  const bytes = await reader.read(position, length);
  guard(bytes.byteLength + 1);
  const last = position + bytes.byteLength >= reader.size;
  let next: number | undefined;
  try {
    next = file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes, position), last);
  } catch (e) {
    throw corrupt(`its boxes are damaged near byte ${position} and mp4box could not parse them (${(e as Error).message}); get an intact copy of the file or re-encode it`, e);
  }
  if (typeof next !== 'number' || !Number.isFinite(next)) return position + bytes.byteLength;
  // A damaged box size makes mp4box ask for a position before the file (a 32-bit overflow).
  if (next < 0 || !Number.isInteger(next)) throw corrupt(`a box size points outside the file (byte ${next})`);
  return next;
}

function describe(file: ISOFile, movie: Movie, byteLength: number, fragmentCount: number | null): Mp4Info {
  const v = movie.videoTracks[0]!;
  const entry = file.getTrackById(v.id)?.mdia?.minf?.stbl?.stsd?.entries?.[0] as SampleEntryLike | undefined;
  const sampleCount = fragmentCount ?? v.nb_samples;
  const window = editWindow(v, movie.isFragmented);
  // A plain file's sample table is known whole: count the samples the edit list shows.
  const samples = fragmentCount === null ? (file.getTrackById(v.id)?.samples ?? []) : [];
  const known = fragmentCount === null && samples.length === sampleCount;
  const shown = known ? samples.filter((s) => inWindow(window, s.cts)) : [];
  const frameCount = known ? shown.length : sampleCount;
  // A fragmented file's header knows only its first fragment: rate from it, duration from the count.
  const average = v.nb_samples > 0 ? v.samples_duration / v.nb_samples : 0;
  const perFrame = average > 0 ? average : v.timescale / 30;
  let durationUnits = fragmentCount === null ? v.samples_duration : perFrame * sampleCount;
  if (known && v.edits?.length) {
    const durations = presentationDurations(samples, window);
    durationUnits = shown.reduce((sum, s) => sum + (durations.get(s.number) ?? s.duration), 0);
  }
  const matrix = v.matrix && v.matrix.length === 9 ? Array.from(v.matrix) : [...IDENTITY_MATRIX];
  const pasp = entry?.pasp;
  const a = movie.audioTracks[0];
  return {
    video: {
      id: v.id,
      codec: v.codec,
      width: entry?.width ?? v.video?.width ?? v.track_width,
      height: entry?.height ?? v.video?.height ?? v.track_height,
      frameCount,
      sampleCount,
      fps: perFrame > 0 ? v.timescale / perFrame : 0,
      timescale: v.timescale,
      durationUs: Math.round((durationUnits * 1e6) / v.timescale),
      matrix,
      rotation: matrixRotation(matrix),
      pixelAspectRatio: pasp && pasp.hSpacing > 0 && pasp.vSpacing > 0 ? { h: pasp.hSpacing, v: pasp.vSpacing } : { h: 1, v: 1 },
    },
    audio: a
      ? { id: a.id, codec: a.codec, sampleRate: a.audio?.sample_rate ?? 0, channels: a.audio?.channel_count ?? 0, sampleCount: movie.isFragmented ? 0 : a.nb_samples, timescale: a.timescale }
      : null,
    fragmented: movie.isFragmented,
    byteLength,
  };
}
