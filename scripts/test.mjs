#!/usr/bin/env node
/**
 * `npm test`: runs every `test/**\/*.test.ts` with Node's built-in test runner (through tsx).
 *
 *   npm test                          all tests
 *   npm test -- test/browser          only files whose path contains "test/browser"
 *   npm test -- smoke model           files matching any of the filters
 *   npm test -- --test-name-pattern=conv   options starting with "-" go to `node --test`
 *
 * Env:
 *   SIMPLEIR_SKIP_BROWSER=1      skip the files under test/browser (prints a notice)
 *   SIMPLEIR_TEST_CONCURRENCY=N  files run at once (default 1: 2 cores, WebGPU emulation is CPU-heavy)
 *   SIMPLEIR_TEST_TIMEOUT_MS=N   per-test timeout (default 20 min, a guard against hangs only)
 *
 * Ends with Node's own summary (spec reporter) and, as the very last line,
 * `N passed, N failed` (`, N skipped` when any) computed from a TAP copy of the run.
 * Exits non-zero when any test failed or was cancelled, or when the runner failed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testRoot = join(repoRoot, 'test');
const browserDir = `test${sep}browser${sep}`;

/** Options of `node --test` that take their value as the next argument. */
const VALUE_OPTIONS = new Set([
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-shard',
]);

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

function toPosix(p) {
  return p.split(sep).join('/');
}

// Split the forwarded args into file filters and runner options.
const filters = [];
const nodeOptions = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg.startsWith('-')) {
    nodeOptions.push(arg);
    if (VALUE_OPTIONS.has(arg) && i + 1 < argv.length) nodeOptions.push(argv[++i]);
  } else {
    filters.push(arg);
  }
}

const allFiles = walk(testRoot)
  .map((f) => relative(repoRoot, f))
  .sort((a, b) => toPosix(a).localeCompare(toPosix(b)));

let files = allFiles;
if (filters.length > 0) {
  const wanted = filters.map((f) => toPosix(relative(repoRoot, resolve(f))).replace(/\/$/, ''));
  const raw = filters.map((f) => toPosix(f).replace(/^\.\//, '').replace(/\/$/, ''));
  files = allFiles.filter((file) => {
    const p = toPosix(file);
    return wanted.some((w) => p === w || p.startsWith(`${w}/`)) || raw.some((r) => p.includes(r));
  });
  if (files.length === 0) {
    console.error(`No test file matches ${filters.map((f) => JSON.stringify(f)).join(', ')}.`);
    console.error(`Test files:\n${allFiles.map((f) => `  ${toPosix(f)}`).join('\n') || '  (none)'}`);
    console.log('0 passed, 0 failed');
    process.exit(1);
  }
}

const skipBrowser = /^(1|true|yes)$/i.test(process.env.SIMPLEIR_SKIP_BROWSER ?? '');
let skippedFiles = 0;
if (skipBrowser) {
  const kept = files.filter((f) => !f.startsWith(browserDir));
  skippedFiles = files.length - kept.length;
  files = kept;
  console.log(
    `\n*** SIMPLEIR_SKIP_BROWSER=1: skipping ${skippedFiles} browser test file(s) under test/browser. ` +
      'Browser tests (WebGPU, WebCodecs) did NOT run. ***\n',
  );
} else if (files.some((f) => f.startsWith(browserDir))) {
  // Same lookup as test/browser/harness.ts: $CHROMIUM_PATH when set, else Debian's binaries.
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'];
  if (!candidates.some((c) => existsSync(c))) {
    console.error(
      '\n*** Chromium not found (looked at ' + candidates.join(', ') + '). Browser tests WILL FAIL. ***\n' +
        '*** Install it: apt-get install -y chromium-headless-shell  (or set CHROMIUM_PATH), ***\n' +
        '*** or skip them knowingly with SIMPLEIR_SKIP_BROWSER=1.                           ***\n',
    );
  }
}

if (files.length === 0) {
  console.log(`No test files to run${skippedFiles ? ` (${skippedFiles} browser file(s) skipped)` : ''}.`);
  console.log('0 passed, 0 failed');
  process.exit(0);
}

const concurrency = process.env.SIMPLEIR_TEST_CONCURRENCY ?? '1';
const timeoutMs = process.env.SIMPLEIR_TEST_TIMEOUT_MS ?? String(20 * 60 * 1000);
const hasOption = (name) => nodeOptions.some((o) => o === name || o.startsWith(`${name}=`));

const tmp = mkdtempSync(join(tmpdir(), 'simpleir-test-'));
const tapFile = join(tmp, 'report.tap');
const args = [
  '--import',
  'tsx',
  '--test',
  ...(hasOption('--test-concurrency') ? [] : [`--test-concurrency=${concurrency}`]),
  ...(hasOption('--test-timeout') ? [] : [`--test-timeout=${timeoutMs}`]),
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
  ...nodeOptions,
  ...files,
];

const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: 'inherit', env: process.env });
const forward = (signal) => () => child.kill(signal);
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));

const code = await new Promise((resolveExit) => {
  child.on('error', (err) => {
    console.error(`Could not start the test runner: ${err.message}`);
    resolveExit(1);
  });
  child.on('exit', (exitCode, signal) => resolveExit(exitCode ?? (signal ? 1 : 0)));
});

/** The top-level TAP summary (`# pass N` ...), i.e. the last unindented occurrence of each key. */
function parseTapSummary(text) {
  const counts = {};
  for (const line of text.split('\n')) {
    const m = /^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(line);
    if (m) counts[m[1]] = Number(m[2]);
  }
  return counts;
}

let tap = '';
try {
  tap = readFileSync(tapFile, 'utf8');
} catch {
  // The runner died before writing anything.
}
rmSync(tmp, { recursive: true, force: true });

const counts = parseTapSummary(tap);
const parsed = counts.pass !== undefined && counts.fail !== undefined;
const passed = counts.pass ?? 0;
// A cancelled test (its file crashed, timed out, or was interrupted) did not pass.
const failed = (counts.fail ?? 0) + (counts.cancelled ?? 0);
const skipped = (counts.skipped ?? 0) + (counts.todo ?? 0);

let exitCode = code;
if (failed > 0 && exitCode === 0) exitCode = 1;
if (!parsed) {
  console.error('\nCould not read the test summary from the TAP report: treating the run as failed.');
  if (exitCode === 0) exitCode = 1;
}
if (parsed && passed + failed + skipped === 0 && exitCode === 0) {
  console.error('\nNo test ran: treating the run as failed.');
  exitCode = 1;
}
if (skipBrowser && skippedFiles > 0) console.log(`(browser tests skipped: ${skippedFiles} file(s) under test/browser)`);

console.log(`${passed} passed, ${parsed ? failed : Math.max(failed, 1)} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(exitCode);
