// The packages as users get them. A release is staged the way the publish workflow stages it
// (scripts/stage-release.mjs: napi create-npm-dirs, napi artifacts, napi prepublish), with this
// machine's binary only; then the main tarball and the linux-x64-gnu platform tarball are
// installed into a fresh project, offline and with no Rust on PATH, and used from ESM,
// CommonJS and strict TypeScript. Without the platform package the loader says what it
// looked for and how to build.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { platformName } = await import('../dist/util/native.js');
const host = platformName();
const hostPackage = `${pkg.napi.packageName}-${host}`;

const work = mkdtempSync(join(tmpdir(), 'ferropool-pack-'));
const stage = join(work, 'stage');
const project = join(work, 'project');
// A PATH with no Rust toolchain on it: users install prebuilt binaries and never build.
const hasRust = (dir) => ['cargo', 'rustc', 'cargo.exe', 'rustc.exe'].some((exe) => existsSync(join(dir, exe)));
const env = { ...process.env, PATH: process.env.PATH.split(delimiter).filter((d) => d && !hasRust(d)).join(delimiter) };
const inProject = (file) => spawnSync(process.execPath, [file], { cwd: project, env, encoding: 'utf8' });
const packList = (dir) => JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' }))[0].files.map((f) => f.path);
/** `npm pack` of `dir`, once: the tarball's path and the files it holds. */
const packed = new Map();
function pack(dir) {
  if (!packed.has(dir)) {
    const [r] = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: dir, encoding: 'utf8' }));
    packed.set(dir, { tarball: join(work, r.filename), files: r.files.map((f) => f.path) });
  }
  return packed.get(dir);
}

test.before(() => {
  execFileSync(process.execPath, [join(root, 'scripts/stage-release.mjs'), '--out', stage, '--only-built'], { stdio: 'pipe' });
});
test.after.always(() => rmSync(work, { recursive: true, force: true }));

test.serial('every target gets a platform package with its os, cpu and libc', (t) => {
  const expected = {
    'linux-x64-gnu': ['linux', 'x64', 'glibc'],
    'linux-x64-musl': ['linux', 'x64', 'musl'],
    'linux-arm64-gnu': ['linux', 'arm64', 'glibc'],
    'linux-arm64-musl': ['linux', 'arm64', 'musl'],
    'darwin-x64': ['darwin', 'x64', undefined],
    'darwin-arm64': ['darwin', 'arm64', undefined],
    'win32-x64-msvc': ['win32', 'x64', undefined],
  };
  t.is(pkg.napi.targets.length, Object.keys(expected).length);
  for (const [name, [os, cpu, libc]] of Object.entries(expected)) {
    const p = JSON.parse(readFileSync(join(stage, 'npm', name, 'package.json'), 'utf8'));
    t.is(p.name, `@ferropool/binding-${name}`);
    t.is(p.version, pkg.version, name);
    t.deepEqual([p.os, p.cpu, p.libc?.[0]], [[os], [cpu], libc], name);
    t.is(p.main, `ferropool.${name}.node`);
  }
  const staged = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'));
  t.deepEqual(staged.optionalDependencies, { [hostPackage]: pkg.version });
  t.is(staged.scripts, undefined, 'no build scripts in the published manifest');
  // Cluster mode: the `ferropool` command, the `ferropool/cluster` entry, and its engine as
  // optional peers (a user who never uses cluster installs neither).
  t.deepEqual(staged.bin, { ferropool: 'dist/cluster/cli.js' });
  t.deepEqual(staged.exports['./cluster'], { types: './dist/cluster/index.d.ts', default: './dist/cluster/index.js' });
  t.deepEqual(Object.keys(staged.peerDependencies).sort(), ['bullmq', 'ioredis']);
  t.deepEqual(staged.peerDependenciesMeta, { bullmq: { optional: true }, ioredis: { optional: true } });
  t.is(staged.dependencies, undefined);
});

test.serial('the main tarball holds the facade, the loader and the docs; the platform tarball holds the binary', (t) => {
  const { files } = pack(stage);
  for (const need of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/worker/pool-entry.js', 'dist/worker/pool-worker.js', 'dist/worker/process-entry.js', 'dist/worker/process-worker.js', 'dist/cluster/cli.js', 'dist/cluster/index.js', 'dist/cluster/index.d.ts', 'native/index.js', 'native/index.d.ts']) {
    t.true(files.includes(need), need);
  }
  const stray = files.filter((f) => f.endsWith('.node') || f.endsWith('.rs') || /^(crates|__test__|benchmark|src|scripts|examples|fuzz|target|docs|npm|bench-results)\//.test(f));
  t.deepEqual(stray, []);
  t.deepEqual(pack(join(stage, 'npm', host)).files.sort(), ['README.md', `ferropool.${host}.node`, 'package.json']);
  // Publishing from the checkout itself (a mistake) would not ship binaries or sources either.
  t.deepEqual(packList(root).filter((f) => f.endsWith('.node') || /^(crates|src|__test__)\//.test(f)), []);
});

test.serial('installed offline with no Rust on PATH: import, require, strict types and a map', (t) => {
  t.timeout(180_000);
  t.not(spawnSync('cargo', ['--version'], { env }).status, 0, 'cargo must not be reachable');
  const tarballs = [pack(stage).tarball, pack(join(stage, 'npm', host)).tarball];
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project, env, stdio: 'pipe' });
  t.true(statSync(join(project, 'node_modules', ...hostPackage.split('/'), `ferropool.${host}.node`)).size > 0);

  writeFileSync(join(project, 'esm.mjs'), "import { Pool, kernels } from 'ferropool';\nconst p = new Pool(2);\nconsole.log(JSON.stringify([...(await p.map(kernels.square, new Float64Array([1, 2, 3])))].concat(await p.map((x) => x + 1, [1, 2]))));\nawait p.terminate();\n");
  writeFileSync(join(project, 'cjs.cjs'), "const { Pool, AsyncResult } = require('ferropool');\nconst p = new Pool(1);\np.apply((a, b) => a * b, [6, 7]).then(async (v) => { console.log(v, typeof AsyncResult); await p.terminate(); });\n");
  const esm = inProject('esm.mjs');
  t.is(esm.stdout.trim(), '[1,4,9,2,3]', esm.stderr);
  const cjs = inProject('cjs.cjs');
  t.is(cjs.stdout.trim(), '42 function', cjs.stderr);

  // The published types, from a strict TypeScript consumer (ESM and CommonJS resolution).
  writeFileSync(join(project, 'use.mts'), "import { Pool, kernels, AsyncResult } from 'ferropool';\nconst p = new Pool(2);\nconst r: Float64Array = await p.map(kernels.sqrt, new Float64Array(4));\nconst a: AsyncResult<number> = p.applyAsync((x: number) => x, [1]);\nvoid [r, a];\n");
  writeFileSync(join(project, 'use.cts'), "import { Pool, kernels, AsyncResult } from 'ferropool';\nexport async function f(p: Pool): Promise<number> {\n  const r: AsyncResult<number> = p.applyAsync((x: number) => x * 2, [1]);\n  const s: number = await p.reduce(kernels.sum, new Float64Array(3));\n  return (await r.get()) + s;\n}\n");
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2023', 'esnext.disposable'], types: ['node'], noEmit: true, skipLibCheck: false, typeRoots: [join(root, 'node_modules/@types')] }, files: ['use.mts', 'use.cts'] }));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test.serial('under tsx, a .cts entry loads the installed package and ships a TypeScript function', (t) => {
  t.timeout(60_000);
  writeFileSync(join(project, 'entry.cts'), "import { Pool } from 'ferropool';\nconst pool = new Pool(1);\npool.map((x: number) => {\n  class Box { constructor(readonly v: number) {} }\n  const twice = (b: Box) => b.v * 2;\n  return twice(new Box(x));\n}, [1, 2]).then(async (r) => { console.log(JSON.stringify(r)); await pool.terminate(); });\n");
  const r = spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'entry.cts'], { cwd: project, env, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '[2,4]', r.stderr);
});

test.serial('installed without its optional peers: the ferropool command and ferropool/cluster say to install bullmq', (t) => {
  t.false(existsSync(join(project, 'node_modules', 'bullmq')), 'bullmq is not installed with ferropool');
  const help = spawnSync(join(project, 'node_modules', '.bin', 'ferropool'), ['--help'], { cwd: project, env, encoding: 'utf8' });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /usage: ferropool worker --connection/);
  const worker = spawnSync(join(project, 'node_modules', '.bin', 'ferropool'), ['worker', '--connection', 'redis://127.0.0.1:1', '--queue', 'q'], { cwd: project, env, encoding: 'utf8' });
  t.is(worker.status, 1);
  t.regex(worker.stderr, /needs the package "bullmq", which is not installed: npm install bullmq ioredis/);
  writeFileSync(join(project, 'cluster.mjs'), "import { serve } from 'ferropool/cluster';\nimport { Pool } from 'ferropool';\ntry { new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: 'q' } }); } catch (e) { console.log(e.message); }\nconsole.log(typeof serve);\n");
  const r = inProject('cluster.mjs');
  t.is(r.stdout, 'ferropool cluster mode needs the package "bullmq", which is not installed: npm install bullmq ioredis\nfunction\n', r.stderr);
});

test.serial('without its platform package the loader names the platform, the package and how to build', (t) => {
  const installed = join(project, 'node_modules', ...hostPackage.split('/'));
  renameSync(installed, `${installed}.away`);
  try {
    writeFileSync(join(project, 'load.cjs'), "require('ferropool');\n");
    const r = inProject('load.cjs');
    t.not(r.status, 0);
    t.regex(r.stderr, new RegExp(`no native binary for this platform \\(${host}`));
    t.true(r.stderr.includes(hostPackage), r.stderr);
    t.regex(r.stderr, /build from source: install Rust/);
  } finally {
    renameSync(`${installed}.away`, installed);
  }
  const again = inProject('load.cjs');
  t.is(again.status, 0, again.stderr);
});

test.serial('a real release refuses to stage while any target has no binary, naming them', (t) => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/stage-release.mjs'), '--out', join(work, 'refused')], { encoding: 'utf8' });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /no binary in .* for .*aarch64-apple-darwin/);
  t.false(existsSync(join(work, 'refused')), 'nothing staged');
});
