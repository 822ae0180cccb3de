// The package as users get it: `npm pack` holds only what they need, and the tarball,
// installed into a fresh project (no Rust, no build), works from ESM and CommonJS.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('the tarball holds the build, the loader, the binary and the docs, and nothing else', (t) => {
  const [info] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }));
  const files = info.files.map((f) => f.path);
  for (const need of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/worker.js', 'native/index.js', 'native/index.d.ts']) {
    t.true(files.includes(need), need);
  }
  t.true(files.some((f) => /^native\/ferropool\..*\.node$/.test(f)), 'a native binary');
  const stray = files.filter((f) => /^(crates|__test__|benchmark|src|scripts|examples|fuzz|target|docs)\//.test(f) || f.endsWith('.rs'));
  t.deepEqual(stray, []);
});

test('installed from the tarball into a fresh project: import, require, types and a map', (t) => {
  t.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-pack-'));
  try {
    const [info] = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, info.filename)], { cwd: dir, stdio: 'pipe' });
    writeFileSync(join(dir, 'esm.mjs'), "import { Pool, kernels } from 'ferropool';\nconst p = new Pool(2);\nconsole.log(JSON.stringify([...(await p.map(kernels.square, new Float64Array([1, 2, 3])))].concat(await p.map((x) => x + 1, [1, 2]))));\nawait p.terminate();\n");
    writeFileSync(join(dir, 'cjs.cjs'), "const { Pool, AsyncResult } = require('ferropool');\nconst p = new Pool(1);\np.apply((a, b) => a * b, [6, 7]).then(async (v) => { console.log(v, typeof AsyncResult); await p.terminate(); });\n");
    t.is(execFileSync(process.execPath, ['esm.mjs'], { cwd: dir, encoding: 'utf8' }).trim(), '[1,4,9,2,3]');
    t.is(execFileSync(process.execPath, ['cjs.cjs'], { cwd: dir, encoding: 'utf8' }).trim(), '42 function');
    // The published types, from a strict TypeScript consumer.
    writeFileSync(join(dir, 'use.mts'), "import { Pool, kernels, AsyncResult } from 'ferropool';\nconst p = new Pool(2);\nconst r: Float64Array = await p.map(kernels.sqrt, new Float64Array(4));\nconst a: AsyncResult<number> = p.applyAsync((x: number) => x, [1]);\nvoid [r, a];\n");
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2023', 'esnext.disposable'], types: ['node'], noEmit: true, skipLibCheck: false, typeRoots: [join(root, 'node_modules/@types')] }, files: ['use.mts'] }));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, stdio: 'pipe' });
    t.pass();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
