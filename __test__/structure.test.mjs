// The shape of src/: its rooms, and which way their imports go.
//
// src/ is grouped by thread and concept, lowest room first (docs/architecture.md has the map):
//
//   util/    small helpers that know nothing of pools: an LRU, spin-waiting, the plain-data codec...
//   shared/  Lock, Value and Queue: objects over shared memory, used on every thread
//   wire/    what crosses a thread: the protocol, the express lane's layout, payload encoding
//   worker/  worker threads only: their loop, running chunks, compiling shipped functions
//   engine/  the main thread only: calls, jobs, the task board, the worker group
//   api/     the public classes and functions: Pool, Executor, Process, task, kernels...
//   cluster/ cluster mode (its caller end, its host and its CLI)
//   index.ts the package's entry
//
// The layering: util < shared < wire < worker | engine < api < cluster < index.ts. A file
// imports its own room or rooms below it, never one above; worker/ and engine/ (the two
// ends of every thread hop) never import each other. Type-only imports count too: a type
// import today is a value import tomorrow. One exception, named below: the Pool loads
// cluster mode's caller end (lazily) when it is made with the `cluster` option.
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

test('the thread protocol and the lane\'s layout import nothing', (t) => {
  t.deepEqual(importsOf(join(SRC, 'wire/protocol.ts')).map((f) => relative(SRC, f)), []);
  t.deepEqual(importsOf(join(SRC, 'wire/lane.ts')).map((f) => relative(SRC, f)), []);
});

/** Each room's rank: a file may import a room of lower rank, or its own. */
const RANK = { util: 0, shared: 1, wire: 2, worker: 3, engine: 3, api: 4, cluster: 5, 'index.ts': 6 };
/** Imports against the layering, on purpose (see the header). */
const EXCEPTIONS = new Set(['api/pool.ts -> cluster/client.ts', 'api/pool-types.ts -> cluster/options.ts']);

/** The room of a path relative to src/: its first segment (index.ts for the entry). */
const roomOf = (rel) => rel.split('/')[0];

/** The imports of `graph` (relative paths to their imports') that break the layering. */
function upward(graph) {
  const wrong = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const [from, to] = [roomOf(file), roomOf(dep)];
      const edge = `${file} -> ${dep}`;
      if (to !== from && !EXCEPTIONS.has(edge) && !(RANK[to] < RANK[from])) wrong.push(edge);
    }
  }
  return wrong;
}

test('the layering check finds an upward import, and one between the threads\' rooms', (t) => {
  const graph = new Map([
    ['wire/a.ts', ['util/b.ts', 'api/c.ts']],
    ['worker/d.ts', ['wire/a.ts', 'engine/e.ts', 'worker/f.ts']],
    ['api/g.ts', ['engine/e.ts', 'shared/h.ts']],
    ['odd/i.ts', ['util/b.ts']],
  ]);
  t.deepEqual(upward(graph), ['wire/a.ts -> api/c.ts', 'worker/d.ts -> engine/e.ts', 'odd/i.ts -> util/b.ts']);
});

test('src/ holds only the rooms and the entry, and each room says what it is for', (t) => {
  t.deepEqual(readdirSync(SRC).filter((n) => !(n in RANK)), []);
  for (const room of Object.keys(RANK).filter((r) => r !== 'index.ts')) {
    t.true(existsSync(join(SRC, room, 'README.md')), `src/${room}/README.md`);
  }
});

test('no import goes up the layering, nor between worker/ and engine/', (t) => {
  const graph = new Map(sources(SRC).map((f) => [relative(SRC, f), importsOf(f).map((d) => relative(SRC, d))]));
  t.deepEqual(upward(graph), []);
});

/** Every src/ file `entry` loads, itself included. */
function closure(entry) {
  const seen = new Set([entry]);
  const todo = [entry];
  while (todo.length > 0) for (const dep of importsOf(todo.pop())) if (!seen.has(dep)) seen.add(dep), todo.push(dep);
  return [...seen].map((f) => relative(SRC, f)).sort();
}

test('a worker thread loads only util/, shared/, wire/ and worker/ code', (t) => {
  for (const entry of ['worker/pool-worker.ts', 'worker/process-worker.ts', 'worker/pool-entry.ts', 'worker/process-entry.ts']) {
    const loaded = closure(join(SRC, entry));
    t.true(loaded.includes('wire/protocol.ts'), `${entry}: its imports were followed`);
    t.deepEqual(loaded.filter((f) => !['util', 'shared', 'wire', 'worker'].includes(f.split('/')[0])), [], `${entry} loads no engine/, api/ or cluster/ code`);
  }
});

test('the worker scripts are where the main thread spawns them from', (t) => {
  // engine/worker-group.ts and api/process.ts name them by path, relative to their own file.
  const group = readFileSync(join(SRC, 'engine/worker-group.ts'), 'utf8');
  const proc = readFileSync(join(SRC, 'api/process.ts'), 'utf8');
  t.regex(group, /path\.join\(__dirname, '\.\.', 'worker', 'pool-entry\.js'\)/);
  t.regex(proc, /path\.join\(__dirname, '\.\.', 'worker', 'process-entry\.js'\)/);
  t.true(existsSync(join(SRC, 'worker/pool-entry.ts')) && existsSync(join(SRC, 'worker/process-entry.ts')));
  // The entries load the rest past the user's loader (util/own-require.ts), so they stay tiny.
  for (const entry of ['worker/pool-entry.ts', 'worker/process-entry.ts', 'util/own-require.ts']) t.true(readFileSync(join(SRC, entry), 'utf8').length < 4000, entry);
});
