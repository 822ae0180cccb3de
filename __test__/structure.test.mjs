import test from 'ava';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every .ts file under `dir`. */
function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The src/ files `file` refers to: imports (type-only ones included), re-exports,
 * import() and require() calls, as TypeScript's own pre-processor finds them. */
function importsOf(file) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName);
    const target = [`${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p) && p.startsWith(SRC));
    if (target) out.push(target);
  }
  return out;
}

/** The import graph of `files`, and its cycles (each as a path of file names). */
function cyclesOf(graph) {
  const state = new Map(); // 1: on the current path, 2: done
  const path = [];
  const cycles = [];
  const visit = (node) => {
    state.set(node, 1);
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 2);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

test('the cycle finder finds a cycle, and none in a tree', (t) => {
  t.deepEqual(cyclesOf(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), [['a', 'b', 'c', 'a']]);
  t.deepEqual(cyclesOf(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
});

test('the parser sees type-only imports, re-exports and require()', (t) => {
  const found = ts.preProcessFile("import type { A } from './a';\nexport { B } from './b';\nconst c = require('./c');\ntype D = typeof import('./d');", true, true);
  t.deepEqual(found.importedFiles.map((f) => f.fileName), ['./a', './b', './c', './d']);
});

test('no import cycle in src/, type-only imports included', (t) => {
  const files = sources(SRC);
  t.true(files.length > 20, 'src/ was found');
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  t.true([...graph.values()].some((deps) => deps.length > 0), 'imports were found');
  const cycles = cyclesOf(graph).map((c) => c.map((f) => relative(SRC, f)).join(' -> '));
  t.deepEqual(cycles, []);
});

test('the thread protocol imports nothing from the pool side', (t) => {
  t.deepEqual(importsOf(join(SRC, 'wire/protocol.ts')).map((f) => relative(SRC, f)), []);
});
