/**
 * Layering of src/: reads the import statements of every file (type-only imports, re-exports,
 * dynamic `import()` and `import('…')` types included) and fails on an import that points outward
 * (core -> streams/adapters/training/cli, streams -> adapters/training/cli, adapters -> training/cli,
 * anything -> cli), on packages a layer must not know (RxJS in core, containers in streams, Node in
 * the browser adapters), on relative imports that resolve to no file, and on import cycles between files.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Where a file sits in the layering; entries are the package's entry files (three modules, and the model worker). */
type Layer =
  | 'core'
  | 'streams'
  | 'adapters/browser'
  | 'adapters/node'
  | 'training'
  | 'cli'
  | 'entry:index'
  | 'entry:browser'
  | 'entry:node'
  | 'entry:worker';

/**
 * What each layer may import (its own layer included). Imports point inward: adapters -> streams ->
 * core; the offline trainer's I/O (training) sits beside the Node adapters and is reached only from
 * cli, the `./node` entry, and scripts, bench and tests (outside src); nothing in src imports cli
 * (bin/simpleir.js runs its build).
 */
const ALLOWED: Readonly<Record<Layer, readonly Layer[]>> = {
  core: ['core'],
  streams: ['core', 'streams'],
  'adapters/browser': ['core', 'streams', 'adapters/browser'],
  'adapters/node': ['core', 'streams', 'adapters/node'],
  training: ['core', 'streams', 'adapters/node', 'training'],
  cli: ['core', 'streams', 'adapters/node', 'training', 'cli'],
  'entry:index': ['core', 'streams'],
  'entry:browser': ['core', 'streams', 'adapters/browser', 'entry:index'],
  'entry:node': ['core', 'streams', 'adapters/node', 'training'],
  'entry:worker': ['adapters/browser'],
};

/** Packages a layer must not import, with why (a package matches itself and its subpaths). */
const FORBIDDEN_PACKAGES: Readonly<Partial<Record<Layer, readonly (readonly [RegExp, string])[]>>> = {
  core: [
    [/^rxjs(\/|$)/, 'core knows nothing of RxJS (streams do)'],
    [/^mp4box(\/|$)/, 'containers are adapters'],
    [/^sharp(\/|$)/, 'image files are Node adapters'],
  ],
  streams: [
    [/^mp4box(\/|$)/, 'streams know nothing of containers (adapters do)'],
    [/^sharp(\/|$)/, 'image files are Node adapters'],
  ],
  'adapters/browser': [
    [/^node:/, 'the browser adapters are bundled for browsers'],
    [/^sharp(\/|$)/, 'the browser adapters are bundled for browsers'],
  ],
};

/**
 * Cycles known when this test was written, each removed on another branch: the test fails when one
 * of them is found no more, so that its entry is deleted here once that branch is merged.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

/** One import of a file: the specifier as written, and whether it only imports types. */
interface ImportRef {
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Every module specifier in `text`: imports, re-exports, `import x = require()`, `import()` calls and types. */
function importsOf(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined, typeOnly: boolean): void => {
    if (literal && ts.isStringLiteralLike(literal)) {
      out.push({ specifier: literal.text, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const namedTypes = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) && !clause.name
        ? clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)
        : false;
      add(node, node.moduleSpecifier, clause?.isTypeOnly === true || namedTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The layer of a path relative to src/ (posix separators), or undefined for a file outside every layer. */
function layerOf(path: string): Layer | undefined {
  if (path === 'index.ts') return 'entry:index';
  if (path === 'browser.ts') return 'entry:browser';
  if (path === 'node.ts') return 'entry:node';
  if (path === 'worker.ts') return 'entry:worker';
  for (const layer of ['core', 'streams', 'adapters/browser', 'adapters/node', 'training', 'cli'] as const) {
    if (path.startsWith(`${layer}/`)) return layer;
  }
  return undefined;
}

/** An import between two files of src/ (paths relative to src/, posix separators). */
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly line: number;
  readonly typeOnly: boolean;
}

/** Imports that point the wrong way, one line each (`from:line -> to (why)`). */
function layerViolations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    const where = `${e.from}:${e.line} -> ${e.to}`;
    if (from === undefined) out.push(`${where} (${e.from} is in no layer: put it under core, streams, adapters, training or cli)`);
    else if (to === undefined) out.push(`${where} (${e.to} is in no layer)`);
    else if (!ALLOWED[from].includes(to)) out.push(`${where} (${from} may import only ${ALLOWED[from].join(', ')})`);
  }
  return out;
}

/** Package imports a layer must not make, one line each. */
function packageViolations(file: string, imports: readonly ImportRef[]): string[] {
  const layer = layerOf(file);
  const rules = layer ? FORBIDDEN_PACKAGES[layer] ?? [] : [];
  return imports.flatMap((i) =>
    rules.filter(([pattern]) => pattern.test(i.specifier)).map(([, why]) => `${file}:${i.line} imports '${i.specifier}' (${why})`),
  );
}

/** The import cycles of a graph: its strongly connected components of two or more files, and files importing themselves (Tarjan). */
function importCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, new Set());
    if (!next.has(e.to)) next.set(e.to, new Set());
    next.get(e.from)!.add(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.has(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) connect(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The file a relative specifier names (`./x.js` is `./x.ts`, as TypeScript resolves it), or undefined. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [`${stem}.ts`, `${stem}.d.ts`, `${stem}.mts`, base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, out);
    else if (/\.(m|c)?ts$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

const posix = (p: string): string => p.split(sep).join('/');

/** The import graph of src/: its edges, plus the problems found while building it. */
function srcGraph(): { files: string[]; edges: Edge[]; unresolved: string[]; packages: string[] } {
  const files = sourceFiles(SRC);
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  const packages: string[] = [];
  for (const file of files) {
    const rel = posix(relative(SRC, file));
    const imports = importsOf(file, readFileSync(file, 'utf8'));
    packages.push(...packageViolations(rel, imports));
    for (const i of imports) {
      if (!i.specifier.startsWith('.')) continue;
      const target = resolveRelative(file, i.specifier);
      if (target === undefined) unresolved.push(`${rel}:${i.line} imports '${i.specifier}', which is no file`);
      else if (!posix(relative(SRC, target)).startsWith('../')) edges.push({ from: rel, to: posix(relative(SRC, target)), line: i.line, typeOnly: i.typeOnly });
      else unresolved.push(`${rel}:${i.line} imports ${posix(relative(SRC, target))}, outside src/`);
    }
  }
  return { files: files.map((f) => posix(relative(SRC, f))), edges, unresolved, packages };
}

const isKnown = (cycle: readonly string[]): boolean =>
  KNOWN_CYCLES.some((k) => k.length === cycle.length && [...k].sort().every((f, i) => f === cycle[i]));

describe('layering of src/', () => {
  const graph = srcGraph();

  test('every file of src/ is in a layer, and every relative import names a file inside src/', () => {
    assert.ok(graph.files.length > 50, `found only ${graph.files.length} files under ${SRC}`);
    assert.ok(graph.edges.length > 150, `found only ${graph.edges.length} imports between files of src/: the parser misses some`);
    assert.deepEqual(graph.files.filter((f) => layerOf(f) === undefined), [], 'files outside every layer');
    assert.deepEqual(graph.unresolved, []);
  });

  test('imports point inward: core <- streams <- adapters <- training <- cli; nothing imports cli', () => {
    assert.deepEqual(layerViolations(graph.edges), []);
  });

  test('no layer imports a package it must not know (RxJS in core, containers in streams, Node in browser adapters)', () => {
    assert.deepEqual(graph.packages, []);
  });

  test('no import cycles between files (type-only imports included), but for the known ones still to be removed', () => {
    const cycles = importCycles(graph.edges);
    assert.deepEqual(cycles.filter((c) => !isKnown(c)), [], 'import cycles (each list is one strongly connected set of files)');
    const stale = KNOWN_CYCLES.filter((k) => !cycles.some((c) => k.length === c.length && [...k].sort().every((f, i) => f === c[i])));
    assert.deepEqual(stale, [], 'a known cycle is gone: delete its entry from KNOWN_CYCLES in test/layering.test.ts');
  });
});

describe('the layering checks find what they are for', () => {
  test('the parser sees type-only imports, re-exports, import(), import types and import = require()', () => {
    const text = [
      "import * as tf from '@tensorflow/tfjs';",
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import D, { type E } from './d.js';",
      "export * from './e.js';",
      "export type { F } from './f.js';",
      "type G = typeof import('./g.js');",
      "const h = () => import('./h.js');",
      "import i = require('./i.js');",
      "const s = 'import x from \\'./not-an-import.js\\'';",
    ].join('\n');
    assert.deepEqual(
      importsOf('x.ts', text).map((i) => [i.specifier, i.typeOnly, i.line]),
      [
        ['@tensorflow/tfjs', false, 1],
        ['./a.js', true, 2],
        ['./b.js', true, 3],
        ['./d.js', false, 4],
        ['./e.js', false, 5],
        ['./f.js', true, 6],
        ['./g.js', true, 7],
        ['./h.js', false, 8],
        ['./i.js', false, 9],
      ],
    );
  });

  test('imports that point outward are reported, those that point inward are not', () => {
    const edge = (from: string, to: string): Edge => ({ from, to, line: 3, typeOnly: true });
    const wrong = [
      edge('core/model/simpleir.ts', 'streams/frames.ts'),
      edge('core/errors.ts', 'training/photos.ts'),
      edge('streams/restore.ts', 'adapters/node/y4m.ts'),
      edge('adapters/node/learner-store.ts', 'training/checkpoint.ts'),
      edge('adapters/node/y4m.ts', 'adapters/browser/mp4-muxer.ts'),
      edge('training/photos.ts', 'cli/photos.ts'),
      edge('training/photos.ts', 'adapters/browser/mp4-source.ts'),
      edge('index.ts', 'training/photos.ts'),
      edge('browser.ts', 'adapters/node/y4m.ts'),
      edge('misc/thing.ts', 'core/errors.ts'),
    ];
    const right = [
      edge('core/model/simpleir.ts', 'core/model/tiling.ts'),
      edge('streams/restore.ts', 'core/model/simpleir.ts'),
      edge('adapters/node/y4m-source.ts', 'streams/pull.ts'),
      edge('training/checkpoint.ts', 'adapters/node/files.ts'),
      edge('cli/train.ts', 'training/checkpoint.ts'),
      edge('node.ts', 'training/validation-set.ts'),
      edge('browser.ts', 'index.ts'),
    ];
    const found = layerViolations([...wrong, ...right]);
    assert.deepEqual(found.map((l) => l.split(' (')[0]), wrong.map((e) => `${e.from}:3 -> ${e.to}`));
    assert.match(found[3]!, /adapters\/node may import only core, streams, adapters\/node/);
  });

  test('forbidden packages are reported by layer', () => {
    const refs = (...specifiers: string[]): ImportRef[] => specifiers.map((specifier, i) => ({ specifier, typeOnly: false, line: i + 1 }));
    assert.deepEqual(packageViolations('core/x.ts', refs('@tensorflow/tfjs', 'rxjs', 'rxjs/operators', 'rxjsx')).length, 2);
    assert.deepEqual(packageViolations('streams/x.ts', refs('rxjs', 'mp4box')), ["streams/x.ts:2 imports 'mp4box' (streams know nothing of containers (adapters do))"]);
    assert.deepEqual(packageViolations('adapters/browser/x.ts', refs('node:fs', 'mp4box')).length, 1);
    assert.deepEqual(packageViolations('adapters/node/x.ts', refs('node:fs', 'sharp', 'rxjs')), []);
  });

  test('cycles are found through any number of files, type-only edges included; a tree has none', () => {
    const edge = (from: string, to: string, typeOnly = false): Edge => ({ from, to, line: 1, typeOnly });
    assert.deepEqual(
      importCycles([
        edge('a.ts', 'b.ts'),
        edge('b.ts', 'a.ts', true),
        edge('c.ts', 'd.ts'),
        edge('d.ts', 'e.ts'),
        edge('e.ts', 'c.ts', true),
        edge('e.ts', 'f.ts'),
        edge('g.ts', 'g.ts'),
        edge('h.ts', 'a.ts'),
      ]),
      [['a.ts', 'b.ts'], ['c.ts', 'd.ts', 'e.ts'], ['g.ts']],
    );
    assert.deepEqual(importCycles([edge('a.ts', 'b.ts'), edge('a.ts', 'c.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'd.ts')]), []);
  });
});
