/**
 * Consumer tests' scratch app: the package built and packed once (`npm pack`, which builds through
 * `prepack`), installed with every tool the consumer tests use (Vite, esbuild, webpack, TypeScript)
 * by one `npm install` from the npm registry into a folder of the system's temp directory. The folder is
 * named by a hash of the package's inputs and the tool versions, so the test files of one run (and later
 * runs with the same sources) share it; a changed source makes a new one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The tools a consumer app installs, pinned (vite 8 needs a newer npm than CI's). */
export const TOOL_VERSIONS: Readonly<Record<string, string>> = {
  vite: '7.3.1',
  esbuild: '0.25.12',
  webpack: '5.103.0',
  'webpack-cli': '6.0.1',
  typescript: '5.9.3',
  '@types/node': '20.19.25',
};

/** What goes into the package: a change to any of these makes a new tarball and scratch folder. */
const PACKAGE_INPUTS = ['package.json', 'tsup.config.ts', 'tsconfig.json', 'bin', 'weights', 'src', 'README.md', 'scripts/embed-weights.mjs', 'scripts/embed-wasm.mjs'];

/** The scratch app: where it is and the tarball it installed. */
export interface ScratchApp {
  /** The app's folder (package.json, node_modules with simpleir-stream and the tools). */
  dir: string;
  /** The packed tarball. */
  tarball: string;
  /** Runs a command in the app's folder; rejects with its output when it fails. */
  exec(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }>;
}

async function listFiles(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  const entries = await readdir(path, { withFileTypes: true }).catch(() => null);
  if (entries === null) return [path];
  const out: string[] = [];
  for (const e of entries) out.push(...(await listFiles(join(path, e.name))));
  return out;
}

async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(TOOL_VERSIONS));
  for (const input of PACKAGE_INPUTS) {
    const files = (await listFiles(join(REPO_ROOT, input))).sort();
    for (const f of files) {
      hash.update(relative(REPO_ROOT, f));
      hash.update(await readFile(f));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

async function exec(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`, { cause: e });
  }
}

let pending: Promise<ScratchApp> | undefined;

/**
 * The scratch app, packed and installed on first call (minutes on a cold npm cache). Needs the npm
 * registry: without it the install fails and so does every consumer test (they are not skipped).
 */
export function scratchApp(): Promise<ScratchApp> {
  pending ??= prepare();
  return pending;
}

/** Scratch apps of other sources untouched for a day are removed (each holds ~450 MB of node_modules). */
async function removeStale(keep: string): Promise<void> {
  const day = 24 * 3600 * 1000;
  for (const name of await readdir(tmpdir())) {
    // Folders of other sources, and what killed runs left (half-made `.<pid>.tmp` folders, locks).
    if (!/^simpleir-consumer-[0-9a-f]{16}(\.\d+\.tmp|\.lock)?$/.test(name) || name === keep) continue;
    const info = await stat(join(tmpdir(), name)).catch(() => null);
    if (info && Date.now() - info.mtimeMs > day) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

async function prepare(): Promise<ScratchApp> {
  const key = await inputsHash();
  await removeStale(`simpleir-consumer-${key}`);
  const dir = join(tmpdir(), `simpleir-consumer-${key}`);
  const app: Omit<ScratchApp, 'tarball'> = {
    dir,
    exec: (command, args, options = {}) => exec(command, args, options.cwd ?? dir, options.env),
  };
  const done = join(dir, '.installed');
  if (existsSync(done)) return { ...app, tarball: (await readFile(done, 'utf8')).trim() };
  // Test files run in parallel (SIMPLEIR_TEST_CONCURRENCY > 1) take turns: one packs and installs.
  const lock = `${dir}.lock`;
  const release = await acquire(lock);
  try {
    if (existsSync(done)) return { ...app, tarball: (await readFile(done, 'utf8')).trim() };
    return { ...app, tarball: await packAndInstall(dir) };
  } finally {
    await release();
  }
}

/** A lock between processes: a directory made atomically; one older than 20 min is taken as abandoned. */
async function acquire(lock: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(lock);
      return () => rm(lock, { recursive: true, force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      const info = await stat(lock).catch(() => null);
      if (info && Date.now() - info.mtimeMs > 20 * 60 * 1000) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Packs the package into a fresh folder, installs it with the tools, and moves the folder to `dir`; returns the tarball. */
async function packAndInstall(dir: string): Promise<string> {
  // Built in a fresh folder and renamed at the end, so a half-made folder is never reused.
  const work = `${dir}.${process.pid}.tmp`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const packed = await exec('npm', ['pack', '--pack-destination', work], REPO_ROOT);
  const tarballName = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  if (!tarballName) throw new Error(`npm pack wrote no tarball to ${work}:\n${packed.stdout}\n${packed.stderr}`);
  const pkg = {
    name: 'simpleir-consumer-app',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'simpleir-stream': `file:./${tarballName}` },
    devDependencies: TOOL_VERSIONS,
  };
  await writeFile(join(work, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], work);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  const tarball = join(dir, tarballName);
  await writeFile(join(dir, '.installed'), tarball);
  return tarball;
}
