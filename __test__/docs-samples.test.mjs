// Every ```js and ```ts sample in the README, CONTRIBUTING.md and docs/*.md runs: each is
// written out as a module next to the tests (so `import … from 'ferropool'` resolves to this
// package, as in a user's project) and run with Node; it must exit 0. TypeScript samples are
// also type-checked (strict) before they are compiled. A sample may use ferropool's exports
// without importing them (they are imported for it), and it may read `./tasks.js` (a module
// with a `sha(s)` export, written beside it). A line `<!-- sample: sigint -->` before a
// sample makes it a Ctrl-C test: once it prints `started`, it gets SIGINT, and must still
// exit 0 (a graceful shutdown). A `console.log(…)` line's trailing comment is what it prints
// (its output must contain the comment, less a final parenthesised remark). A line
// `<!-- sample: cluster -->` marks a cluster-mode sample: it needs a Redis server and worker
// hosts, so here it is only parsed (node --check); the cluster suite runs the runnable
// cluster example (examples/cluster).
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as ferropool from 'ferropool';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const root = fileURLToPath(new URL('..', import.meta.url));
const out = fileURLToPath(new URL('./.samples/', import.meta.url));

const sources = ['README.md', 'CONTRIBUTING.md', ...readdirSync(`${root}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The ```js / ```ts blocks of a markdown file, with their line and directive. */
function samples(file) {
  const text = readFileSync(root + file, 'utf8');
  const found = [];
  const fence = /^```(js|javascript|mjs|ts|typescript)\n([\s\S]*?)^```$/gm;
  for (let m; (m = fence.exec(text)); ) {
    const before = text.slice(0, m.index).trimEnd();
    const directive = /<!-- sample: (\w+) -->$/.exec(before)?.[1];
    const line = before.split('\n').length + 1;
    found.push({ file, line, lang: m[1].startsWith('t') ? 'ts' : 'js', code: m[2], directive });
  }
  return found;
}

const all = sources.flatMap(samples);

/** Imports of ferropool's exports that `code` uses without importing or declaring them. */
function prelude(code) {
  const declared = new Set();
  for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from/g)) for (const n of m[1].split(',')) declared.add(n.trim().split(/\s+as\s+/).pop());
  for (const m of code.matchAll(/\b(?:const|let|var|class|function\*?)\s+([A-Za-z_$][\w$]*)/g)) declared.add(m[1]);
  const names = Object.keys(ferropool).filter((n) => !declared.has(n) && new RegExp(`\\b${n}\\b`).test(code));
  return names.length > 0 ? `import { ${names.join(', ')} } from 'ferropool';\n` : '';
}

const TASKS_JS = "const { createHash } = require('node:crypto');\nexports.sha = (s) => createHash('sha256').update(s).digest('hex');\n";
const TASKS_DTS = 'export declare function sha(s: string): string;\n';

test.before(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}tasks.js`, TASKS_JS);
  writeFileSync(`${out}tasks.d.ts`, TASKS_DTS);
  const tsFiles = [];
  all.forEach((s, i) => {
    s.name = `${s.file.replace(/[/.]/g, '-')}-${s.line}`;
    const code = prelude(s.code) + s.code;
    if (s.lang === 'ts') {
      writeFileSync(`${out}${s.name}.mts`, code);
      tsFiles.push(`${out}${s.name}.mts`);
      s.js = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    } else s.js = code;
    writeFileSync(`${out}${s.name}.mjs`, s.js);
    void i;
  });
  // Type-check the TypeScript samples as a user's strict project would.
  const program = ts.createProgram(tsFiles, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    skipLibCheck: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  all.typeErrors = diagnostics.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
});

test('there are samples, in the README and in docs/', (t) => {
  t.true(all.filter((s) => s.file === 'README.md').length >= 5);
  t.true(all.some((s) => s.file.startsWith('docs/')));
});

test('the TypeScript samples type-check', (t) => {
  t.deepEqual(all.typeErrors, []);
});

/** What a sample's `console.log(…); // what it prints` lines say they print. */
function printed(code) {
  const out = [];
  for (const line of code.split('\n')) {
    const at = line.lastIndexOf(' // ');
    if (at < 0 || !line.slice(0, at).includes('console.log(')) continue;
    out.push(line.slice(at + 4).trim().replace(/\s+\([^()]*\)$/, ''));
  }
  return out;
}

function run(file, directive) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, directive === 'cluster' ? ['--check', file] : [file], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (directive === 'sigint' && !interrupted && stdout.includes('started')) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, interrupted });
    });
  });
}

for (const s of all) {
  test(`${s.file}:${s.line} runs`, async (t) => {
    t.timeout(60_000);
    const r = await run(`${out}${s.name}.mjs`, s.directive);
    t.is(r.signal, null, r.stderr);
    t.is(r.code, 0, `${r.stderr}\n--- the sample as run:\n${s.js}`);
    if (s.directive === 'cluster') return;
    for (const expected of printed(s.code)) t.true(r.stdout.includes(expected), `prints ${expected}; it printed:\n${r.stdout}`);
    if (s.directive === 'sigint') {
      t.true(r.interrupted, 'it printed "started" and got SIGINT');
      t.regex(r.stdout, /stopped cleanly/);
    }
  });
}
