/**
 * Reads the bytes of a weight file from wherever it is: a shipped preset, a URL, a file path (Node),
 * a packed buffer, or the two parts given directly. The presets are modules of their own
 * (src/core/model/presets, generated from weights/), imported on first use, so they load in any
 * bundler and in Node with no setup; Node's file system is reached through a dynamic import of a
 * computed name so that browser bundles never include it.
 */
import { fromBase64 } from '../base64.js';
import { isPresetName, type PresetName } from '../config.js';
import { SimpleIRError } from '../errors.js';
import { isPackedWeights, parseManifest, unpackWeights, type WeightFiles, type WeightManifest } from '../weights.js';

/** Anything {@link SimpleIR.load} accepts. */
export type WeightSource = PresetName | string | URL | ArrayBuffer | Uint8Array | { manifest: WeightManifest | string; data: ArrayBuffer | Uint8Array };

/** Where to find weights. */
export interface WeightSourceOptions {
  /**
   * Base URL (browser) or folder (Node) holding the presets' `tiny.json`/`tiny.bin` and `base.*`, for
   * apps that host the weights themselves (copy them from the package's `weights/` folder).
   * Default: the weights built into the package (no request, no file read).
   */
  readonly weightsBaseUrl?: string | URL;
  /** `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /**
   * Keep weights fetched over HTTP(S) in the browser's Cache API and read them from there next time
   * (also after a reload), instead of downloading them again: `true` uses the cache named
   * {@link DEFAULT_WEIGHTS_CACHE}, a string names another. The entries are keyed by URL: give changed
   * weights a new URL, or delete the cache (`caches.delete(name)`). Only for weights read from URLs
   * (`weightsBaseUrl`, a URL source): the built-in presets are part of the app's code. Default: false.
   * @throws SimpleIRError `INVALID_ARGUMENT` (from `SimpleIR.load`) when set for a URL where there is no Cache API (Node).
   */
  readonly cache?: boolean | string;
}

/** The Cache API cache that `SimpleIR.load(source, { cache: true })` keeps fetched weights in. */
export const DEFAULT_WEIGHTS_CACHE = 'simpleir-weights';

/** True in Node (not in a browser or a worker). */
export function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return Boolean(p?.versions?.node) && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

type FsPromises = typeof import('node:fs/promises');
type PathModule = typeof import('node:path');
type UrlModule = typeof import('node:url');

/** The manifest text and base64 binary of a shipped preset (see scripts/embed-weights.mjs). */
interface EmbeddedPreset {
  readonly manifest: string;
  readonly data: string;
}

/** Imports a shipped preset's module: literal specifiers, so every bundler makes each a lazy chunk. */
function importPreset(name: PresetName): Promise<EmbeddedPreset> {
  return name === 'tiny' ? import('./presets/tiny.js') : import('./presets/base.js');
}

/** The manifest and binary of a shipped preset, from the module built into the package. */
export async function embeddedPreset(name: PresetName): Promise<WeightFiles> {
  const m = await importPreset(name);
  return { manifest: parseManifest(m.manifest), data: fromBase64(m.data) };
}

/** Node's modules, imported so bundlers leave them alone. */
async function nodeModules(): Promise<{ fs: FsPromises; path: PathModule; url: UrlModule }> {
  const names = ['node:fs/promises', 'node:path', 'node:url'];
  const [fs, path, url] = await Promise.all(names.map((n) => import(/* @vite-ignore */ /* webpackIgnore: true */ n)));
  return { fs: fs as FsPromises, path: path as PathModule, url: url as UrlModule };
}

function notFound(what: string, cause?: unknown): SimpleIRError {
  return new SimpleIRError('WEIGHTS_NOT_FOUND', `Weights not found: ${what}. Pass a preset name ('tiny' or 'base'), a URL or path to a .json manifest or .sirw file, or a buffer.`, { what }, { cause });
}


async function readFileBytes(file: string): Promise<Uint8Array> {
  const { fs } = await nodeModules();
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw notFound(`no file at ${file}`, e);
    throw new SimpleIRError('IO_ERROR', `Cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

async function fetchBytes(u: URL, options: WeightSourceOptions): Promise<Uint8Array> {
  if (u.protocol === 'file:' && isNodeRuntime()) {
    const { url } = await nodeModules();
    return readFileBytes(url.fileURLToPath(u));
  }
  const cache = await openWeightsCache(u, options);
  const cached = await cache?.match(u.href);
  if (cached) return new Uint8Array(await cached.arrayBuffer());
  const f = options.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(u.href);
  } catch (e) {
    throw notFound(`fetching ${u.href} failed (${(e as Error).message})`, e);
  }
  if (!res.ok) throw notFound(`${u.href} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (cache) await cache.put(u.href, new Response(bytes, { headers: { 'Content-Type': res.headers.get('Content-Type') ?? 'application/octet-stream' } }));
  return bytes;
}

/** The Cache API cache named by `options.cache` for an HTTP(S) URL; undefined when not asked for or not HTTP. */
async function openWeightsCache(u: URL, options: WeightSourceOptions): Promise<Cache | undefined> {
  const asked = options.cache;
  if (asked === undefined || asked === false) return undefined;
  if (asked !== true && (typeof asked !== 'string' || asked.length === 0)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `SimpleIR.load option cache: expected true, false or a cache name, got ${JSON.stringify(asked) ?? typeof asked}.`);
  }
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  if (!caches) {
    throw new SimpleIRError('INVALID_ARGUMENT', `SimpleIR.load option cache: this runtime has no Cache API (globalThis.caches), so ${u.href} cannot be cached; leave cache unset here (it is for browsers and workers on https or localhost).`, { url: u.href });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  return caches.open(asked === true ? DEFAULT_WEIGHTS_CACHE : asked);
}

function decodeText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

async function fromLocation(location: URL | string, options: WeightSourceOptions): Promise<WeightFiles> {
  const isUrl = location instanceof URL;
  const asString = isUrl ? location.href : location;
  const readAt = async (target: string): Promise<Uint8Array> => {
    if (isUrl) return fetchBytes(new URL(target, location), options);
    const { path } = await nodeModules();
    return readFileBytes(path.resolve(path.dirname(asString), target));
  };
  const first = isUrl ? await fetchBytes(location, options) : await readFileBytes(asString);
  if (isPackedWeights(first)) return unpackWeights(first);
  const manifest = parseManifest(decodeText(first));
  const data = await readAt(manifest.weightsFile);
  return { manifest, data };
}

function looksLikeUrl(s: string): boolean {
  return /^(https?|blob|data|file):/i.test(s);
}

/** Reads the manifest and binary of a weight source. */
export async function readWeightSource(source: WeightSource, options: WeightSourceOptions = {}): Promise<WeightFiles> {
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    return unpackWeights(source);
  }
  if (source instanceof URL) return fromLocation(source, options);
  if (typeof source === 'object' && source !== null && 'manifest' in source && 'data' in source) {
    const manifest = typeof source.manifest === 'string' ? parseManifest(source.manifest) : source.manifest;
    const data = source.data instanceof Uint8Array ? source.data : new Uint8Array(source.data);
    return { manifest, data };
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `SimpleIR.load expects a preset name, URL, path, buffer or {manifest, data}; got ${source === null ? 'null' : typeof source}.`);
  }
  if (isPresetName(source)) {
    if (options.weightsBaseUrl !== undefined) {
      const base = options.weightsBaseUrl;
      if (base instanceof URL || looksLikeUrl(base) || !isNodeRuntime()) {
        const baseUrl = base instanceof URL ? base : new URL(base, (globalThis as { location?: { href: string } }).location?.href);
        return fromLocation(new URL(`${source}.json`, baseUrl.href.endsWith('/') ? baseUrl : new URL(`${baseUrl.href}/`)), options);
      }
      const { path } = await nodeModules();
      return fromLocation(path.join(base, `${source}.json`), options);
    }
    return embeddedPreset(source);
  }
  if (looksLikeUrl(source) || !isNodeRuntime()) {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    return fromLocation(base ? new URL(source, base) : new URL(source), options);
  }
  return fromLocation(source, options);
}
