/**
 * A small static file server (node:http) for browser tests and `npm start`.
 *
 * - Serves `root` at `/` plus any number of extra directories under URL prefixes (`routes`).
 * - Sends the cross-origin isolation headers the tfjs wasm backend needs for threads
 *   (COOP `same-origin`, COEP `require-corp`, CORP `same-origin`).
 * - Never serves a file outside its directories; answers 404 for everything else.
 * - Listens on 127.0.0.1 and an ephemeral port unless told otherwise.
 *
 * CLI: `tsx scripts/serve.ts [root] [--port 8080] [--host 127.0.0.1] [--route /prefix/=dir ...]`
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ServerOptions {
  /** Directory served at `/`. */
  root: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; `127.0.0.1` by default. */
  host?: string;
  /** Extra directories by URL prefix, e.g. `{ '/wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist' }`. Longest prefix wins. */
  routes?: Record<string, string>;
  /** Extra headers sent with every response. */
  headers?: Record<string, string>;
  /** Log each request to stderr. */
  log?: boolean;
}

export interface StaticServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:43121`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Content types by extension (lower case, with the dot). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.y4m': 'video/x-yuv4mpeg',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

interface Mount {
  prefix: string;
  dir: string;
}

function normalizePrefix(prefix: string): string {
  let p = prefix.startsWith('/') ? prefix : `/${prefix}`;
  if (!p.endsWith('/')) p += '/';
  return p;
}

/** The file for a URL path, or null when it maps outside every mount. */
function resolveFile(mounts: readonly Mount[], urlPath: string): string | null {
  for (const { prefix, dir } of mounts) {
    // `/wasm` (no trailing slash) also selects the `/wasm/` mount.
    if (!(urlPath.startsWith(prefix) || `${urlPath}/` === prefix)) continue;
    const rest = urlPath.slice(prefix.length);
    const file = resolve(dir, `.${sep}${rest}`);
    const rel = relative(dir, file);
    if (rel.startsWith('..') || isAbsolute(rel)) return null;
    return file;
  }
  return null;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts the server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const mounts: Mount[] = [
    ...Object.entries(options.routes ?? {}).map(([prefix, dir]) => ({ prefix: normalizePrefix(prefix), dir: resolve(dir) })),
    { prefix: '/', dir: resolve(options.root) },
  ].sort((a, b) => b.prefix.length - a.prefix.length);
  const baseHeaders = { ...ISOLATION_HEADERS, 'Cache-Control': 'no-store', ...options.headers };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method Not Allowed\n', { ...baseHeaders, Allow: 'GET, HEAD' });
      return;
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      send(res, 400, 'Bad Request\n', baseHeaders);
      return;
    }
    if (urlPath.includes('\0')) {
      send(res, 400, 'Bad Request\n', baseHeaders);
      return;
    }
    let file = resolveFile(mounts, urlPath);
    if (file === null) {
      send(res, 404, 'Not Found\n', baseHeaders);
      return;
    }
    let info = await stat(file).catch(() => null);
    if (info?.isDirectory()) {
      if (!urlPath.endsWith('/')) {
        // Redirect so that relative URLs in the index page resolve inside the directory.
        res.writeHead(301, { ...baseHeaders, Location: `${urlPath}/` });
        res.end();
        return;
      }
      file = join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!info?.isFile()) {
      send(res, 404, 'Not Found\n', baseHeaders);
      return;
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, { ...baseHeaders, 'Content-Type': type, 'Content-Length': info.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const server = createServer((req, res) => {
    if (options.log) res.on('finish', () => process.stderr.write(`${res.statusCode} ${req.method} ${req.url}\n`));
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `Internal Server Error\n${String(err)}\n`, baseHeaders);
      else res.destroy();
    });
  });
  // Keep-alive sockets would otherwise delay close().
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    // Idempotent: a second call waits for the first.
    close: () =>
      (closing ??= new Promise<void>((resolveClose, reject) => {
        server.close((err) => (err ? reject(err) : resolveClose()));
        server.closeAllConnections();
      })),
  };
}

function parseCli(argv: readonly string[]): ServerOptions {
  const options: ServerOptions = { root: '.', routes: {}, log: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port' || arg === '-p') options.port = Number(value());
    else if (arg === '--host') options.host = value();
    else if (arg === '--route') {
      const spec = value();
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--route wants /prefix/=dir, got ${spec}`);
      options.routes![spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (arg === '--quiet') options.log = false;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else options.root = arg;
  }
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const options = parseCli(process.argv.slice(2));
  const server = await startServer({ port: 8080, ...options });
  console.log(`Serving ${resolve(options.root)} at ${server.url}/`);
  for (const [prefix, dir] of Object.entries(options.routes ?? {})) console.log(`  ${prefix} -> ${resolve(dir)}`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
