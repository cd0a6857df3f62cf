/**
 * The public API, read with the TypeScript checker from the three entries (src/index.ts, src/browser.ts,
 * src/node.ts): the exported names and their kinds must equal the committed list in
 * test/fixtures/public-api.txt, and every export must carry a TSDoc comment. A change to the API
 * is then a visible change to that list (and an entry in CHANGELOG.md).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LIST = join(ROOT, 'test', 'fixtures', 'public-api.txt');

/** The package's entries: its import path and source file. */
const ENTRIES = [
  ['simpleir-stream', 'src/index.ts'],
  ['simpleir-stream/browser', 'src/browser.ts'],
  ['simpleir-stream/node', 'src/node.ts'],
] as const;

/** One export of an entry. */
interface ApiExport {
  readonly name: string;
  /** class, function, const, interface, type, enum or namespace. */
  readonly kind: string;
  /** True when its declaration has a TSDoc comment. */
  readonly documented: boolean;
}

/** What kind of declaration `symbol` is, in the words a reader of the list expects. */
function kindOf(symbol: ts.Symbol): string {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Module) return 'namespace';
  return `flags:${f}`;
}

/** The exports of each entry, sorted by name, read with the TypeScript checker from `root`'s sources. */
function readPublicApi(root: string): Map<string, ApiExport[]> {
  const files = ENTRIES.map(([, file]) => join(root, file));
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const api = new Map<string, ApiExport[]>();
  for (const [entry, file] of ENTRIES) {
    const source = program.getSourceFile(join(root, file));
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file}: not found or not a module`);
    const exports = checker.getExportsOfModule(module).map((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return { name: s.name, kind: kindOf(target), documented: target.getDocumentationComment(checker).length > 0 };
    });
    api.set(entry, exports.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }
  return api;
}

/**
 * The list as committed: the main entry in full, the browser entry's additions to it (it re-exports the
 * main entry, which the test checks), the node entry in full; `kind name` per line.
 */
function formatPublicApi(api: Map<string, ApiExport[]>): string {
  const main = new Set(api.get('simpleir-stream')!.map((e) => `${e.kind} ${e.name}`));
  const lines = [
    '# The public API of simpleir-stream: every export of each entry, as `kind name`, read by test/public-api.test.ts.',
    '# When the API changes on purpose: regenerate this file (UPDATE_PUBLIC_API=1 npm test -- test/public-api.test.ts)',
    '# and add an entry to CHANGELOG.md for each name added, renamed or removed.',
  ];
  for (const [entry] of ENTRIES) {
    const own = api.get(entry)!.map((e) => `${e.kind} ${e.name}`);
    if (entry === 'simpleir-stream/browser') {
      lines.push('', `## ${entry} (everything of simpleir-stream, and:)`, ...own.filter((l) => !main.has(l)));
    } else {
      lines.push('', `## ${entry}`, ...own);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The `kind name` lines of a list, each prefixed with its entry (`simpleir-stream/node: function toY4m`). */
function entryLines(list: string): string[] {
  let entry = '';
  const lines: string[] = [];
  for (const line of list.split('\n')) {
    if (line.startsWith('## ')) entry = line.slice(3).split(' ')[0]!;
    else if (line && !line.startsWith('#')) lines.push(`${entry}: ${line}`);
  }
  return lines;
}

const api = readPublicApi(ROOT);

test('the exports of the three entries equal the committed list test/fixtures/public-api.txt', async () => {
  const got = formatPublicApi(api);
  if (process.env.UPDATE_PUBLIC_API === '1') await writeFile(LIST, got);
  const want = await readFile(LIST, 'utf8');
  const [gotLines, wantLines] = [entryLines(got), entryLines(want)];
  const change = { added: gotLines.filter((l) => !wantLines.includes(l)), removed: wantLines.filter((l) => !gotLines.includes(l)) };
  assert.deepEqual(
    change,
    { added: [], removed: [] },
    'The public API changed. If on purpose: run `UPDATE_PUBLIC_API=1 npm test -- test/public-api.test.ts` and add each added, ' +
      'renamed or removed name to CHANGELOG.md (Unreleased); if not, restore the export.',
  );
  assert.equal(
    got,
    want,
    'The public API changed. If on purpose: run `UPDATE_PUBLIC_API=1 npm test -- test/public-api.test.ts` and add each added, ' +
      'renamed or removed name to CHANGELOG.md (Unreleased); if not, restore the export.',
  );
});

test('simpleir-stream/browser exports everything of simpleir-stream, as the same kinds', () => {
  const browser = new Map(api.get('simpleir-stream/browser')!.map((e) => [e.name, e.kind]));
  const missing = api.get('simpleir-stream')!.filter((e) => browser.get(e.name) !== e.kind).map((e) => e.name);
  assert.deepEqual(missing, [], 'exports of the main entry that the browser entry lacks');
});

test('every export of the three entries has a TSDoc comment', () => {
  const undocumented = [...api].flatMap(([entry, exports]) => exports.filter((e) => !e.documented).map((e) => `${entry}: ${e.kind} ${e.name}`));
  assert.deepEqual(undocumented, [], 'exports without a TSDoc comment on their declaration: document them');
});
