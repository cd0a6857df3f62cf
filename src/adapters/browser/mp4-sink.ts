/**
 * `toMp4`: encodes a stream of `VideoFrame`s with WebCodecs (H.264) and writes them as a fragmented MP4,
 * fragment by fragment, to a `WritableStream` the app gives (memory bounded) or into one `Blob`; the audio
 * track of a source MP4 is copied unchanged.
 */
import { BoxParser } from 'mp4box';
import { Observable, type OperatorFunction } from 'rxjs';
import { describeValue, SimpleIRError } from '../../core/errors.js';
import { pullFrom, type PullSubscription } from '../../streams/pull.js';
import { IDENTITY_MATRIX, type Mp4Demuxer, type Mp4Info, type PixelAspectRatio } from './mp4-demuxer.js';
import { addAudioTrack, FragmentedMp4Writer } from './mp4-muxer.js';
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
  /**
   * Where the file goes, written as it is made (e.g. a `FileSystemWritableFileStream` from the File System
   * Access API or OPFS): the operator then emits an {@link Mp4WriteSummary} instead of a Blob, closes the
   * stream at the end and aborts it on an error or an unsubscribe. Without it, the file is kept in memory
   * and emitted as one Blob.
   */
  readonly target?: WritableStream<Uint8Array>;
  /**
   * With a `target` and a pull source upstream (e.g. `fromMp4(...).pipe(restore(model))`), the sink stops
   * pulling frames while it holds this many encoded bytes not yet taken by the target (default 16 MiB,
   * about 5 s of 4K at the default bitrate). A push source upstream cannot be held back.
   */
  readonly maxBufferedBytes?: number;
}

/** What `toMp4({ target })` emits once the file is written and the target closed. */
export interface Mp4WriteSummary {
  /** Bytes written to the target. */
  readonly bytes: number;
  /** Video frames written. */
  readonly frames: number;
  /** Audio samples copied from the `source`. */
  readonly audioSamples: number;
  /** The most encoded bytes the sink held at once: encoded and not yet written, or handed to the target and not yet taken. */
  readonly peakBufferedBytes: number;
}

/**
 * Encodes every frame (closing it) into a fragmented MP4 (a moof per frame; players and ffmpeg read it
 * as usual). With `target`, each fragment is written to the stream as soon as the frame after it is
 * encoded, and the operator emits an {@link Mp4WriteSummary} when the stream is closed; without, it emits
 * one `video/mp4` Blob when the source completes. Frame timestamps and durations are kept (rounded to the
 * timescale; frames must come in timestamp order: one not later than the frame before is placed a tick
 * after it); the frame count is the input's. The `source`'s display matrix and pixel aspect ratio are
 * written too, and its audio samples are copied unchanged (with its edit list), interleaved with the video.
 * A pull source upstream (e.g. the `restore` operator) is pulled only as fast as the encoder and the
 * target keep up. Unsubscribing closes the encoder (and aborts the target). Errors: `UNSUPPORTED_CODEC`
 * (encoder cannot do the config), `INVALID_ARGUMENT` (bad options, no frames), `IO_ERROR` (the encoder
 * or the target failed).
 */
export function toMp4(options: Mp4SinkOptions & { readonly target: WritableStream<Uint8Array> }): OperatorFunction<VideoFrame, Mp4WriteSummary>;
export function toMp4(options?: Mp4SinkOptions): OperatorFunction<VideoFrame, Blob>;
export function toMp4(options: Mp4SinkOptions = {}): OperatorFunction<VideoFrame, Blob | Mp4WriteSummary> {
  checkSinkOptions(options);
  const codec = options.codec ?? 'avc1.640033';
  if (typeof codec !== 'string' || !/^avc[13]\./.test(codec)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMp4 writes H.264 only: codec must be an avc1/avc3 string such as 'avc1.640033', got ${JSON.stringify(codec)}`);
  }
  return (source) =>
    new Observable<Blob | Mp4WriteSummary>((subscriber) => {
      const sink = new EncodeRun({ ...options, codec });
      let upstream: PullSubscription | undefined;
      const observer = {
        next: (frame: VideoFrame) => sink.add(frame),
        error: (e: unknown) => {
          sink.close(e);
          subscriber.error(e);
        },
        complete: () => {
          sink.finish().then(
            (result) => {
              subscriber.next(result);
              subscriber.complete();
            },
            (e: unknown) => {
              sink.close(e);
              subscriber.error(e);
            },
          );
        },
      };
      sink.onError = (e) => {
        upstream?.unsubscribe();
        sink.close(e);
        subscriber.error(e);
      };
      const pull = pullFrom(source, observer);
      upstream = pull;
      sink.request = (n) => pull.request(n);
      sink.pump();
      return () => {
        pull.unsubscribe();
        sink.close(new SimpleIRError('ABORTED', 'toMp4 was unsubscribed before the file was finished'));
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
  const count = (name: 'keyFrameInterval' | 'timescale' | 'maxEncodeQueue' | 'maxBufferedBytes'): void => {
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
  count('maxBufferedBytes');
  const target = options.target as Partial<WritableStream<Uint8Array>> | undefined;
  if (target !== undefined && (typeof target !== 'object' || target === null || typeof target.getWriter !== 'function')) {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMp4: target must be a WritableStream<Uint8Array> (e.g. await fileHandle.createWritable()), got ${describeValue(target)}`);
  }
  if (target?.locked) throw new SimpleIRError('INVALID_ARGUMENT', 'toMp4: the target WritableStream is locked (another writer holds it); give an unlocked stream');
  const source = options.source as Partial<Mp4Source> | undefined;
  if (source !== undefined && (typeof source !== 'object' || source === null || typeof source.demux !== 'function')) {
    throw new SimpleIRError('INVALID_ARGUMENT', 'toMp4: source must be the fromMp4(...) source the frames come from (its audio and timing are copied)');
  }
}

/** One encoded frame, waiting to be written. */
interface EncodedFrame {
  readonly data: Uint8Array<ArrayBuffer>;
  readonly timestamp: number;
  readonly duration: number | null;
  readonly key: boolean;
}

/** Where the muxer's bytes go: into the target stream, or kept for a Blob. */
interface ByteSink {
  readonly write: (bytes: Uint8Array) => void;
  /** Bytes handed over and not yet taken (0 for a Blob). */
  readonly inFlight: () => number;
  /** Closes the output: the Blob, or the bytes written to the target. */
  readonly finish: () => Promise<Blob | number>;
  readonly abort: (reason: unknown) => void;
}

function blobSink(): ByteSink {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  return {
    write: (bytes) => parts.push(bytes as Uint8Array<ArrayBuffer>),
    inFlight: () => 0,
    finish: async () => new Blob(parts, { type: 'video/mp4' }),
    abort: () => {
      parts.length = 0;
    },
  };
}

/** Writes into `target` without waiting; `onTaken` runs each time the stream takes a piece, `onError` once if it fails. */
function streamSink(target: WritableStream<Uint8Array>, onTaken: () => void, onError: (e: SimpleIRError) => void): ByteSink {
  const writer = target.getWriter();
  let inFlight = 0;
  let written = 0;
  let done = false;
  const failed = (e: unknown): SimpleIRError => new SimpleIRError('IO_ERROR', `toMp4: the target stream failed: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  return {
    write: (bytes) => {
      inFlight += bytes.byteLength;
      writer.write(bytes).then(
        () => {
          inFlight -= bytes.byteLength;
          written += bytes.byteLength;
          onTaken();
        },
        (e: unknown) => {
          if (!done) onError(failed(e));
        },
      );
    },
    inFlight: () => inFlight,
    finish: async () => {
      try {
        await writer.close();
      } catch (e) {
        throw failed(e);
      }
      done = true;
      return written;
    },
    abort: (reason) => {
      if (done) return;
      done = true;
      writer.abort(reason).catch(() => undefined);
    },
  };
}

/** The source's audio being copied: its track in the output and the next sample to write. */
interface AudioCopy {
  readonly id: number;
  readonly demuxer: Mp4Demuxer;
  readonly timescale: number;
  next: Awaited<ReturnType<Mp4Demuxer['nextSample']>>;
  count: number;
}

/** One subscription of the sink: encoder, muxer, output. */
class EncodeRun {
  /** Asks upstream for more frames (nothing happens for a push source). */
  request: ((n: number) => void) | null = null;
  /** Called once with a fatal error. */
  onError: (e: SimpleIRError) => void = () => {};
  private encoder: VideoEncoder | undefined;
  private configuring: Promise<void> | undefined;
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
  private finished = false;
  private readonly output: ByteSink;
  /** Muxing steps, one after the other (the header waits for the encoder's first chunk and the audio track). */
  private muxing: Promise<void> = Promise.resolve();
  private writer: FragmentedMp4Writer | undefined;
  private videoId = 0;
  private audio: AudioCopy | null = null;
  /** The last frame encoded, with its place on the timeline: written when the next one gives its duration. */
  private pendingFrame: { frame: EncodedFrame; time: number } | null = null;
  /** Presentation time (track units) of the first frame, after the origin (subtracted from all) is. */
  private firstTime: number | null = null;
  private origin = 0;
  private lastDuration = 0;
  private framesWritten = 0;
  /** Encoded bytes not yet written to the output. */
  private held = 0;
  private peakBuffered = 0;

  constructor(private readonly options: Mp4SinkOptions & { codec: string }) {
    this.output = options.target ? streamSink(options.target, () => this.pump(), (e) => this.fail(e)) : blobSink();
  }

  /** Asks a pull source for frames while the encoder has room and the output keeps up. */
  pump(): void {
    if (!this.request || this.closed) return;
    const queue = this.encoder?.encodeQueueSize ?? 0;
    const maxQueue = this.options.maxEncodeQueue ?? 4;
    const maxBytes = this.options.maxBufferedBytes ?? 16 * 1024 * 1024;
    while (this.requested - this.received < 2 && queue + (this.requested - this.received) < maxQueue && this.buffered() < maxBytes) {
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

  /** Flushes the encoder, writes the last frame and the rest of the audio, and closes the output. */
  async finish(): Promise<Blob | Mp4WriteSummary> {
    if (this.frames === 0) throw new SimpleIRError('INVALID_ARGUMENT', 'toMp4: the stream had no frames');
    await this.configuring;
    const encoder = this.encoder!;
    try {
      await encoder.flush();
    } catch (e) {
      throw this.encoderError(e);
    }
    this.closeEncoder();
    this.mux(() => this.writeEnd());
    await this.muxing;
    if (this.failed || this.closed) throw new SimpleIRError('IO_ERROR', 'toMp4: the file could not be finished (an earlier error stopped it)');
    this.finished = true;
    const out = await this.output.finish();
    if (out instanceof Blob) return out;
    return { bytes: out, frames: this.framesWritten, audioSamples: this.audio?.count ?? 0, peakBufferedBytes: this.peakBuffered };
  }

  /** Releases the encoder and the audio demuxer; aborts the output unless it was finished. */
  close(reason?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.closeEncoder();
    this.audio?.demuxer.close();
    if (!this.finished) this.output.abort(reason);
  }

  private closeEncoder(): void {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  /** Bytes held: encoded and not written, plus written and not yet taken by the target. */
  private buffered(): number {
    return this.held + this.output.inFlight();
  }

  private notePeak(): void {
    this.peakBuffered = Math.max(this.peakBuffered, this.buffered());
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
        const frame: EncodedFrame = { data, timestamp: chunk.timestamp, duration: chunk.duration, key: chunk.type === 'key' };
        this.held += data.byteLength;
        this.notePeak();
        this.mux(() => this.writeFrame(frame));
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

  /** Runs a muxing step after the ones before it; a failing step is fatal. */
  private mux(step: () => void | Promise<void>): void {
    this.muxing = this.muxing
      .then(() => (this.closed || this.failed ? undefined : step()))
      .catch((e: unknown) => {
        this.fail(e instanceof SimpleIRError ? e : new SimpleIRError('IO_ERROR', `toMp4 could not write the file: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e }));
      });
  }

  private units(us: number): number {
    return Math.round((us * this.timescale) / 1e6);
  }

  /** Tracks and header, from the encoder's first chunk (its avcC) and the source's audio. */
  private async start(): Promise<FragmentedMp4Writer> {
    if (!this.description) throw new SimpleIRError('IO_ERROR', 'the encoder gave no decoder configuration (avcC)');
    const writer = new FragmentedMp4Writer((bytes) => this.output.write(bytes));
    this.videoId = writer.addTrack({
      timescale: this.timescale,
      width: this.width,
      height: this.height,
      avcDecoderConfigRecord: this.description.slice().buffer,
      name: 'SimpleIR',
    });
    this.describeVideo(writer);
    const { source } = this.options;
    if (source && this.options.copyAudio !== false) {
      const demuxer = await source.demux('audio');
      const id = this.closed ? null : addAudioTrack(writer, demuxer, this.timescale);
      if (id === null) demuxer.close();
      else this.audio = { id, demuxer, timescale: demuxer.info.audio!.timescale, next: await demuxer.nextSample(), count: 0 };
    }
    writer.writeHeader();
    this.writer = writer;
    return writer;
  }

  /** Places `frame` on the timeline and writes the frame before it, whose duration it gives. */
  private async writeFrame(frame: EncodedFrame): Promise<void> {
    const writer = this.writer ?? (await this.start());
    let time = this.units(frame.timestamp);
    if (this.firstTime === null) {
      // A stream starting before 0 (or zeroBased) is shifted to start at 0; a later start is kept.
      this.origin = this.options.zeroBased || time < 0 ? time : 0;
      this.firstTime = time - this.origin;
    }
    time -= this.origin;
    const previous = this.pendingFrame;
    if (previous) {
      time = Math.max(time, previous.time + 1);
      this.writeVideo(writer, previous.frame, previous.time, time - previous.time);
    }
    this.pendingFrame = { frame, time };
    await this.writeAudioUntil(writer, time / this.timescale);
  }

  /** The last frame (its own duration, else the one before's, else one frame at the frame rate) and the rest of the audio. */
  private async writeEnd(): Promise<void> {
    const writer = this.writer ?? (await this.start());
    const last = this.pendingFrame;
    if (last) {
      const duration = last.frame.duration ? this.units(last.frame.duration) : this.lastDuration || this.units(1e6 / this.framerate);
      this.writeVideo(writer, last.frame, last.time, Math.max(1, duration));
      this.pendingFrame = null;
    }
    await this.writeAudioUntil(writer, Infinity);
    this.audio?.demuxer.close();
  }

  private writeVideo(writer: FragmentedMp4Writer, frame: EncodedFrame, time: number, duration: number): void {
    // Decode times start at 0; a later start is kept as a composition offset.
    writer.writeSample(this.videoId, frame.data, { duration, dts: time - this.firstTime!, cts: time, isSync: frame.key });
    this.lastDuration = duration;
    this.framesWritten++;
    this.held -= frame.data.byteLength;
    this.notePeak();
  }

  /** Copies the source's audio samples that start (decode time) by `seconds`, interleaving them with the video. */
  private async writeAudioUntil(writer: FragmentedMp4Writer, seconds: number): Promise<void> {
    const audio = this.audio;
    if (!audio) return;
    while (audio.next && audio.next.sample.dts / audio.timescale <= seconds && !this.closed) {
      const { sample } = audio.next;
      writer.writeSample(audio.id, sample.data!, { duration: sample.duration, dts: sample.dts, cts: sample.cts, isSync: sample.is_sync });
      audio.demuxer.release(sample);
      audio.count++;
      audio.next = await audio.demuxer.nextSample();
    }
  }

  /** Display matrix and width (`tkhd`) and pixel aspect ratio (`pasp`) of the video track. */
  private describeVideo(writer: FragmentedMp4Writer): void {
    const video = this.sourceInfo?.video;
    const matrix = this.options.matrix ?? video?.matrix ?? IDENTITY_MATRIX;
    const par = this.options.pixelAspectRatio ?? video?.pixelAspectRatio ?? this.frameAspect;
    const trak = writer.trak(this.videoId);
    trak.tkhd.matrix = [...matrix];
    // The track header's width is the display width (16.16 fixed point): the stored width times the ratio.
    trak.tkhd.width = Math.round(((this.width * par.h) / par.v) * 0x10000);
    if (par.h === par.v) return;
    const pasp = new (BoxParser.box as unknown as Record<string, new () => { data?: Uint8Array }>).pasp!();
    const body = new DataView(new ArrayBuffer(8));
    body.setUint32(0, par.h);
    body.setUint32(4, par.v);
    pasp.data = new Uint8Array(body.buffer);
    (trak.mdia.minf.stbl.stsd.entries[0] as unknown as { addBox<T>(b: T): T }).addBox(pasp);
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
