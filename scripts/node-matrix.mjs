// Runs the ava suite under other Node.js versions (default: 22 and 24), with the addon and
// dist/ already built by `npm install`: the addon uses N-API only, whose ABI is stable
// across Node versions, so the same native/*.node serves every one of them.
//
//   npm run test:node-matrix                          # Node 22 and 24, the whole suite
//   npm run test:node-matrix -- --versions 24         # choose the versions (majors)
//   npm run test:node-matrix -- -- __test__/kernels-map.test.mjs   # after `--`: ava's arguments
//
// The Node binaries come from the npm registry's node-<platform>-<arch> packages (the
// official builds, as `bin/node`), fetched once with `npm pack` into .cache/node-matrix/
// (gitignored); nothing is added to package.json. Each run's full output is kept in
// .cache/node-matrix/node<major>.log. It prints a summary per version and exits non-zero if
// any version fails.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache', 'node-matrix');

function usage(message) {
  if (message) console.error(`node-matrix: ${message}`);
  console.error('usage: node scripts/node-matrix.mjs [--versions 22,24] [-- <ava arguments>]');
  process.exit(2);
}

function parseArgs(argv) {
  let versions = ['22', '24'];
  let avaArgs = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      avaArgs = argv.slice(i + 1);
      break;
    } else if (arg === '--versions' || arg.startsWith('--versions=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) usage('--versions needs a list such as 22,24');
      versions = value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (versions.length === 0 || !versions.every((v) => /^\d+(\.\d+){0,2}$/.test(v))) {
        usage(`--versions takes Node versions such as 22,24 or 22.12.0, got ${value}`);
      }
    } else if (arg === '--help' || arg === '-h') {
      usage();
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  return { versions, avaArgs };
}

/** The npm package that carries the official Node binary for this machine. */
function binaryPackage() {
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  if (!platform || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(`no node-<platform>-<arch> npm package for ${process.platform}-${process.arch}`);
  }
  return `node-${platform}-${process.arch}`;
}

function nodeBinary(dir) {
  return process.platform === 'win32' ? join(dir, 'package', 'bin', 'node.exe') : join(dir, 'package', 'bin', 'node');
}

/** Fetches (once) the Node binary for `version` and returns its path. */
function fetchNode(version) {
  const dir = join(cache, `node${version}`);
  const bin = nodeBinary(dir);
  if (existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spec = `${binaryPackage()}@${version}`;
  console.log(`node-matrix: fetching ${spec} (npm pack) ...`);
  const pack = spawnSync('npm', ['pack', spec, '--pack-destination', dir, '--silent'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: process.platform === 'win32',
  });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${spec} failed (status ${pack.status})`);
  const untar = spawnSync('tar', ['xzf', tarball], { cwd: dir, stdio: 'inherit' });
  if (untar.status !== 0) throw new Error(`could not unpack ${tarball}`);
  rmSync(join(dir, tarball));
  if (!existsSync(bin)) throw new Error(`${spec} has no bin/node`);
  return bin;
}

/** Counts from ava's final summary (its exit status decides pass or fail). */
function summarize(output) {
  // Ava's reporter colours its summary; strip the escape codes before matching.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes
  const text = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (re) => {
    let n = 0;
    for (const m of text.matchAll(re)) n = Number(m[1]);
    return n;
  };
  // With failures ava's summary has no passed count: count the ✔ lines then.
  const ticks = (text.match(/^\s*✔ (?!\[expected fail\])/gm) ?? []).length;
  // What failed, for the summary: ava's ✘ lines, then what it prints after the last test
  // line (the failures' details), so a CI log's tail names a failure without the full log.
  const lines = text.split('\n');
  const failures = lines.filter((line) => /^\s*✘/.test(line));
  const last = lines.findLastIndex((line) => /^\s*[✔✘]/.test(line));
  const details = failures.length ? lines.slice(last + 1, last + 81) : [];
  return {
    failures: [...failures, ...details],
    passed: Math.max(count(/^\s*(\d+) tests? passed/gm), ticks),
    failed: count(/^\s*(\d+) tests? failed/gm) + count(/^\s*(\d+) (?:uncaught exceptions?|unhandled rejections?)/gm),
    skipped: count(/^\s*(\d+) tests? skipped/gm),
    todo: count(/^\s*(\d+) tests? todo/gm),
  };
}

function runSuite(version, bin, avaArgs) {
  const log = join(cache, `node${version}.log`);
  const out = createWriteStream(log);
  const env = { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}` };
  // npm sets these to its own Node; a test that runs npm should get the matrix's one.
  delete env.npm_node_execpath;
  delete env.NODE;
  const ava = join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
  const started = process.hrtime.bigint();
  return new Promise((done) => {
    const child = spawn(bin, [ava, ...avaArgs], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        output += chunk;
        out.write(chunk);
        process.stdout.write(chunk);
      });
    }
    child.on('close', (code, signal) => {
      out.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      done({ code: code ?? 1, signal, seconds, log, ...summarize(output) });
    });
  });
}

const { versions, avaArgs } = parseArgs(process.argv.slice(2));
if (!existsSync(join(root, 'dist')) || !readdirSync(join(root, 'native')).some((f) => f.endsWith('.node'))) {
  console.error('node-matrix: build first (npm install, or npm run build): dist/ or native/*.node is missing');
  process.exit(2);
}
mkdirSync(cache, { recursive: true });

const results = [];
for (const version of versions) {
  let bin;
  try {
    bin = fetchNode(version);
  } catch (err) {
    console.error(`node-matrix: Node ${version}: ${err.message}`);
    results.push({ version, actual: '?', code: 1, seconds: 0, passed: 0, failed: 0, skipped: 0, todo: 0, note: 'not fetched' });
    continue;
  }
  const actual = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\nnode-matrix: ava under Node ${actual} (${bin})\n`);
  results.push({ version, actual, ...(await runSuite(version, bin, avaArgs)) });
}

console.log('\nnode-matrix summary');
console.log('  node        result  passed  failed  skipped  todo     time');
for (const r of results) {
  const ok = r.code === 0;
  const row = [
    r.actual.padEnd(10),
    (ok ? 'ok' : 'FAIL').padEnd(6),
    String(r.passed).padStart(6),
    String(r.failed).padStart(7),
    String(r.skipped).padStart(8),
    String(r.todo).padStart(5),
    `${r.seconds.toFixed(0)} s`.padStart(8),
  ];
  const note = r.note ?? (ok ? '' : `  (exit ${r.signal ?? r.code}; log: ${r.log})`);
  console.log(`  ${row.join('  ')}${note}`);
}
for (const r of results) {
  if (r.code === 0 || !r.failures?.length) continue;
  console.log(`\nnode-matrix: what failed under Node ${r.actual} (the whole output: ${r.log})`);
  for (const line of r.failures) console.log(`  ${line}`);
}
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
