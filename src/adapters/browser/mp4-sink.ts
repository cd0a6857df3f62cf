/**
 * `toMp4`: encodes a stream of `VideoFrame`s with WebCodecs (H.264) and muxes them with mp4box into one
 * MP4 `Blob`, emitted when the stream completes; the audio track of a source MP4 is copied unchanged.
 */
import { BoxParser, createFile, type ISOFile } from 'mp4box';
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { SimpleIRError } from '../../core/errors.js';
import { isPullSource, type PullSubscription } from '../../streams/pull.js';
import { IDENTITY_MATRIX, type Mp4Demuxer, type Mp4Info, type PixelAspectRatio } from './mp4-demuxer.js';
import type { Mp4Source } from './mp4-source.js';

/** Options of {@link toMp4}. */
export interface Mp4SinkOptions {
  /** An H.264 codec string (default `avc1.640033`: High profile, level 5.1, up to 4K). */
  readonly codec?: string;
  /** Target bits per second (default: 0.1 bit per pixel per frame at the frame rate). */
  readonly bitrate?: number;
  /** Frames per second told to the encoder (default: the `source`'s, else 30). */
  readonly framerate?: number;
  /** A key frame every this many frames (default: two seconds' worth). */
  readonly keyFrameInterval?: number;
  /** Units per second of the output's video timestamps (default: the `source`'s, else 90000). */
  readonly timescale?: number;
  /** The MP4 the frames come from: its audio track is copied (see `copyAudio`), and its frame rate and timescale are the defaults. */
  readonly source?: Mp4Source;
  /** Copy the `source`'s audio track, if it has one, into the output sample by sample (default true). */
  readonly copyAudio?: boolean;
  /** Passed to `VideoEncoder.configure` (default `no-preference`). */
  readonly hardwareAcceleration?: HardwareAcceleration;
  /** Start the output at 0 instead of at the first frame's timestamp (default false: timestamps are kept). */
  readonly zeroBased?: boolean;
  /** Encoded frames queued in the encoder before the sink stops pulling (default 4). */
  readonly maxEncodeQueue?: number;
  /**
   * The display matrix written into the video track header (nine numbers as in `tkhd`, see
   * `Mp4VideoTrack.matrix`): players rotate the output as they rotate the `source` (default: the
   * `source`'s matrix, else the identity). Frames are encoded as they come, never rotated.
   */
  readonly matrix?: readonly number[];
  /**
   * Pixel aspect ratio written as a `pasp` box (default: the `source`'s; else, for frames whose display
   * size differs from their visible size, the ratio of the two). Frames are encoded at their visible
   * (stored) size, never scaled to a display size.
   */
  readonly pixelAspectRatio?: PixelAspectRatio;
}

/** One encoded frame, kept until the file is written. */
interface EncodedFrame {
  readonly data: Uint8Array<ArrayBuffer>;
  readonly timestamp: number;
  readonly duration: number | null;
  readonly key: boolean;
}

/**
 * Encodes every frame (closing it) and emits one `video/mp4` Blob when the source completes. Frame
 * timestamps are kept (rounded to the timescale); the frame count is the input's. With `source`, the
 * source file's audio samples are copied into the output unchanged (with its edit list). The output is
 * a fragmented MP4 (mp4box writes a moof per frame), which players and ffmpeg read as usual. A pull source
 * upstream (e.g. the `restore` operator) is pulled only as fast as the encoder keeps up.
 * Unsubscribing closes the encoder. Errors: `UNSUPPORTED_CODEC` (encoder cannot do the config),
 * `INVALID_ARGUMENT` (not an H.264 codec string), `IO_ERROR` (the encoder failed).
 */
export function toMp4(options: Mp4SinkOptions = {}): OperatorFunction<VideoFrame, Blob> {
  checkSinkOptions(options);
  const codec = options.codec ?? 'avc1.640033';
  if (typeof codec !== 'string' || !/^avc[13]\./.test(codec)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMp4 writes H.264 only: codec must be an avc1/avc3 string such as 'avc1.640033', got ${JSON.stringify(codec)}`);
  }
  return (source) =>
    new Observable<Blob>((subscriber) => {
      const sink = new EncodeRun({ ...options, codec });
      let upstream: PullSubscription | Subscription;
      const observer = {
        next: (frame: VideoFrame) => sink.add(frame),
        error: (e: unknown) => {
          sink.close();
          subscriber.error(e);
        },
        complete: () => {
          sink.finish().then(
            (blob) => {
              subscriber.next(blob);
              subscriber.complete();
            },
            (e: unknown) => subscriber.error(e),
          );
        },
      };
      sink.onError = (e) => {
        upstream?.unsubscribe();
        sink.close();
        subscriber.error(e);
      };
      if (isPullSource(source)) {
        const pull = source.pull(observer);
        sink.request = (n) => pull.request(n);
        upstream = pull;
        sink.pump();
      } else {
        upstream = source.subscribe(observer);
      }
      return () => {
        upstream.unsubscribe();
        sink.close();
      };
    });
}

/** Refuses options the encoder would misreport (a negative bitrate came back as "cannot encode at 16x16"). */
function checkSinkOptions(options: Mp4SinkOptions): void {
  if (typeof options !== 'object' || options === null) throw new SimpleIRError('INVALID_ARGUMENT', `toMp4 takes an options object, got ${String(options)}`);
  const positive = (name: 'bitrate' | 'framerate'): void => {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new SimpleIRError('INVALID_ARGUMENT', `toMp4: ${name} must be a positive number, got ${JSON.stringify(v)}`);
  };
  const count = (name: 'keyFrameInterval' | 'timescale' | 'maxEncodeQueue'): void => {
    const v = options[name];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1)) throw new SimpleIRError('INVALID_ARGUMENT', `toMp4: ${name} must be an integer >= 1, got ${JSON.stringify(v)}`);
  };
  positive('bitrate');
  positive('framerate');
  const { matrix, pixelAspectRatio: par } = options;
  if (matrix !== undefined && !(Array.isArray(matrix) && matrix.length === 9 && matrix.every((x) => Number.isInteger(x) && Math.abs(x) <= 0x7fffffff))) {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMp4: matrix must be nine 32-bit integers as in an MP4 track header (e.g. the source's info.video.matrix), got ${JSON.stringify(matrix)}`);
  }
  if (par !== undefined && !(typeof par === 'object' && par !== null && [par.h, par.v].every((x) => Number.isInteger(x) && x >= 1 && x <= 0xffffffff))) {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMp4: pixelAspectRatio must be { h, v } with integers >= 1 (e.g. { h: 16, v: 15 }), got ${JSON.stringify(par)}`);
  }
  count('keyFrameInterval');
  count('timescale');
  count('maxEncodeQueue');
  const source = options.source as Partial<Mp4Source> | undefined;
  if (source !== undefined && (typeof source !== 'object' || source === null || typeof source.demux !== 'function')) {
    throw new SimpleIRError('INVALID_ARGUMENT', 'toMp4: source must be the fromMp4(...) source the frames come from (its audio and timing are copied)');
  }
}

/** One subscription of the sink: encoder, encoded frames, muxing. */
class EncodeRun {
  /** Set for a pull source: asks upstream for more frames. */
  request: ((n: number) => void) | null = null;
  /** Called once with a fatal error. */
  onError: (e: SimpleIRError) => void = () => {};
  private encoder: VideoEncoder | undefined;
  private configuring: Promise<void> | undefined;
  private readonly chunks: EncodedFrame[] = [];
  private description: Uint8Array | undefined;
  private width = 0;
  private height = 0;
  /** The first frame's pixel aspect ratio, from its display and visible sizes. */
  private frameAspect: PixelAspectRatio = { h: 1, v: 1 };
  private sourceInfo: Mp4Info | undefined;
  private framerate = 30;
  private timescale = 90_000;
  private frames = 0;
  private requested = 0;
  private received = 0;
  private closed = false;
  private failed = false;

  constructor(private readonly options: Mp4SinkOptions & { codec: string }) {}

  /** Asks a pull source for frames while the encoder has room. */
  pump(): void {
    if (!this.request || this.closed) return;
    const queue = this.encoder?.encodeQueueSize ?? 0;
    const maxQueue = this.options.maxEncodeQueue ?? 4;
    while (this.requested - this.received < 2 && queue + (this.requested - this.received) < maxQueue) {
      this.requested++;
      this.request(1);
    }
  }

  add(frame: VideoFrame): void {
    this.received++;
    if (this.closed) {
      frame.close();
      return;
    }
    // Frames are encoded in order once the encoder is configured (asynchronously, from the first frame).
    this.configuring ??= this.configure(frame);
    const index = this.frames++;
    this.configuring.then(
      () => this.encode(frame, index),
      () => frame.close(),
    );
  }

  /** Flushes the encoder and writes the file. */
  async finish(): Promise<Blob> {
    if (this.frames === 0) throw new SimpleIRError('INVALID_ARGUMENT', 'toMp4: the stream had no frames');
    await this.configuring;
    const encoder = this.encoder!;
    try {
      await encoder.flush();
    } catch (e) {
      throw this.encoderError(e);
    }
    this.close();
    const file = await this.mux();
    const out = file.getBuffer();
    return new Blob([out.buffer], { type: 'video/mp4' });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  private async configure(first: VideoFrame): Promise<void> {
    if (typeof VideoEncoder === 'undefined') throw this.fail(new SimpleIRError('UNSUPPORTED_CODEC', 'this runtime has no VideoEncoder (WebCodecs); toMp4 needs it'));
    // The stored pixels are encoded: an anamorphic frame keeps its size and gets a pasp box.
    this.width = first.visibleRect?.width ?? first.codedWidth;
    this.height = first.visibleRect?.height ?? first.codedHeight;
    this.frameAspect = reduceRatio(first.displayWidth * this.height, first.displayHeight * this.width);
    const info = await this.options.source?.info.catch(() => undefined);
    this.sourceInfo = info;
    this.framerate = this.options.framerate ?? (info?.video.fps || 30);
    this.timescale = this.options.timescale ?? info?.video.timescale ?? 90_000;
    const config: VideoEncoderConfig = {
      codec: this.options.codec,
      width: this.width,
      height: this.height,
      bitrate: this.options.bitrate ?? Math.max(100_000, Math.round(0.1 * this.width * this.height * this.framerate)),
      framerate: this.framerate,
      avc: { format: 'avc' },
      hardwareAcceleration: this.options.hardwareAcceleration ?? 'no-preference',
    };
    let supported = false;
    try {
      supported = (await VideoEncoder.isConfigSupported(config)).supported === true;
    } catch {
      supported = false;
    }
    if (!supported) {
      throw this.fail(new SimpleIRError('UNSUPPORTED_CODEC', `this browser cannot encode ${config.codec} at ${this.width}x${this.height} (H.264 needs even sizes; try another level)`, { codec: config.codec }));
    }
    if (this.closed) return;
    const encoder = new VideoEncoder({
      output: (chunk, meta) => {
        if (!this.description && meta?.decoderConfig?.description) this.description = copyBytes(meta.decoderConfig.description);
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        this.chunks.push({ data, timestamp: chunk.timestamp, duration: chunk.duration, key: chunk.type === 'key' });
      },
      error: (e) => this.fail(this.encoderError(e)),
    });
    encoder.addEventListener('dequeue', () => this.pump());
    encoder.configure(config);
    this.encoder = encoder;
  }

  private encode(frame: VideoFrame, index: number): void {
    try {
      if (this.closed || !this.encoder || this.encoder.state !== 'configured') return;
      const interval = this.options.keyFrameInterval ?? Math.max(1, Math.round(2 * this.framerate));
      this.encoder.encode(frame, { keyFrame: index % interval === 0 });
    } catch (e) {
      this.fail(this.encoderError(e));
    } finally {
      frame.close();
      this.pump();
    }
  }

  private encoderError(e: unknown): SimpleIRError {
    if (e instanceof SimpleIRError) return e;
    return new SimpleIRError('IO_ERROR', `the video encoder failed: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }

  /** Reports a fatal error once and returns it (to throw as well). */
  private fail(e: SimpleIRError): SimpleIRError {
    if (!this.failed) {
      this.failed = true;
      queueMicrotask(() => this.onError(e));
    }
    return e;
  }

  /** Display matrix and width (`tkhd`) and pixel aspect ratio (`pasp`) of the video track. */
  private describeVideo(file: ISOFile, id: number): void {
    const video = this.sourceInfo?.video;
    const matrix = this.options.matrix ?? video?.matrix ?? IDENTITY_MATRIX;
    const par = this.options.pixelAspectRatio ?? video?.pixelAspectRatio ?? this.frameAspect;
    const trak = file.getTrackById(id) as unknown as { tkhd: { matrix: number[]; width: number }; mdia: { minf: { stbl: { stsd: { entries: { addBox<T>(b: T): T }[] } } } } };
    trak.tkhd.matrix = [...matrix];
    // The track header's width is the display width (16.16 fixed point): the stored width times the ratio.
    trak.tkhd.width = Math.round(((this.width * par.h) / par.v) * 0x10000);
    if (par.h === par.v) return;
    const pasp = new (BoxParser.box as unknown as Record<string, new () => { data?: Uint8Array }>).pasp!();
    const body = new DataView(new ArrayBuffer(8));
    body.setUint32(0, par.h);
    body.setUint32(4, par.v);
    pasp.data = new Uint8Array(body.buffer);
    trak.mdia.minf.stbl.stsd.entries[0]!.addBox(pasp);
  }

  private async mux(): Promise<ISOFile> {
    if (!this.description) throw new SimpleIRError('IO_ERROR', 'the encoder gave no decoder configuration (avcC)');
    const file = createFile();
    const videoId = file.addTrack({
      timescale: this.timescale,
      width: this.width,
      height: this.height,
      avcDecoderConfigRecord: this.description.slice().buffer,
      name: 'SimpleIR',
    });
    this.describeVideo(file, videoId);
    const units = (us: number): number => Math.round((us * this.timescale) / 1e6);
    const sorted = [...this.chunks].sort((a, b) => a.timestamp - b.timestamp);
    const first = units(sorted[0]!.timestamp);
    // Decode times start at 0 (mp4box writes them relative to the first); a later start is kept as a
    // composition offset, so the presentation times are the frames' own (or from 0 with `zeroBased`).
    const origin = this.options.zeroBased || first < 0 ? first : 0;
    const times = sorted.map((c) => units(c.timestamp) - origin);
    for (const [i, c] of sorted.entries()) {
      const t = times[i]!;
      const next = times[i + 1];
      const duration = next !== undefined ? next - t : c.duration ? units(c.duration) : i > 0 ? t - times[i - 1]! : units(1e6 / this.framerate);
      file.addSample(videoId, c.data, { duration: Math.max(1, duration), dts: t - times[0]!, cts: t, is_sync: c.key });
    }
    const { source } = this.options;
    if (source && this.options.copyAudio !== false) await copyAudio(file, await source.demux('audio'), this.timescale);
    return file;
  }
}

/** `h:v` in lowest terms (1:1 for anything not positive). */
function reduceRatio(h: number, v: number): PixelAspectRatio {
  if (!(h > 0 && v > 0) || !Number.isInteger(h) || !Number.isInteger(v)) return { h: 1, v: 1 };
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(h, v);
  return { h: h / g, v: v / g };
}

function copyBytes(source: AllowSharedBufferSource): Uint8Array {
  const view = ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
  return view.slice();
}

/** Copies the audio track of `demuxer` (if any) into `file`: sample entry, edit list and every sample. */
async function copyAudio(file: ISOFile, demuxer: Mp4Demuxer, movieTimescale: number): Promise<void> {
  try {
    const audio = demuxer.info.audio;
    if (!audio) return;
    const entry = demuxer.sampleEntry(audio.id) as { type: string; boxes?: unknown[]; channel_count?: number; samplesize?: number; samplerate?: number };
    const track = demuxer.track(audio.id);
    const id = file.addTrack({
      type: entry.type as never,
      hdlr: 'soun',
      timescale: audio.timescale,
      samplerate: entry.samplerate,
      channel_count: entry.channel_count,
      samplesize: entry.samplesize,
      description_boxes: (entry.boxes ?? []) as never,
      name: 'SoundHandler',
    });
    const edits = track.edits ?? [];
    if (edits.length > 0) {
      const trak = file.getTrackById(id) as unknown as { addBox<T>(b: T): T };
      const box = BoxParser.box as unknown as Record<string, new () => { addBox<T>(b: T): T; entries?: unknown[] }>;
      const edts = trak.addBox(new box.edts!());
      const elst = edts.addBox(new box.elst!());
      elst.entries = edits.map((e) => ({
        segment_duration: Math.round((e.segment_duration * movieTimescale) / track.movie_timescale),
        media_time: e.media_time,
        media_rate_integer: e.media_rate_integer,
        media_rate_fraction: e.media_rate_fraction,
      }));
    }
    for (;;) {
      const next = await demuxer.nextSample();
      if (!next) break;
      const { sample } = next;
      file.addSample(id, sample.data!, { duration: sample.duration, dts: sample.dts, cts: sample.cts, is_sync: sample.is_sync });
      demuxer.release(sample);
    }
  } finally {
    demuxer.close();
  }
}
