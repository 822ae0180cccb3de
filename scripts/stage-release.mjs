// Lays out the packages a release publishes, napi-rs style, in a staging folder:
//   <out>/                the main package `ferropool` (JS, types, loader; no binary), with
//                         optionalDependencies on every platform package (written by napi)
//   <out>/npm/<platform>/ one package per target, `@ferropool/binding-<platform>`, holding
//                         that target's .node file; npm installs only the one whose os/cpu/libc
//                         match the user's machine.
// The publish workflow runs it with every target's binary in --artifacts, then publishes each
// folder; the package test (__test__/pack.test.mjs) runs it with this machine's binary only.
// Nothing under npm/ is kept in git: `napi create-npm-dirs` generates it from package.json.
//
// usage: node scripts/stage-release.mjs [--out DIR] [--artifacts DIR] [--only-built]
//   --out        staging folder (default .release/), emptied first
//   --artifacts  where the built ferropool.<platform>.node files are (default native/)
//   --only-built stage only the targets with a binary in --artifacts (local checks); without
//                it a missing target is an error, as it must be for a real release
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, '.release') },
    artifacts: { type: 'string', default: join(root, 'native') },
    'only-built': { type: 'boolean', default: false },
  },
});
const out = resolve(args.out);
const artifacts = resolve(args.artifacts);
const napiCli = join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const napi = (...cmd) => execFileSync(process.execPath, [napiCli, ...cmd], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { binaryName, packageName } = pkg.napi;

// The napi-rs platform name of a Rust target triple, as napi names the packages.
function platformOf(triple) {
  const [arch, , os, abi] = triple.split('-');
  const cpu = { x86_64: 'x64', aarch64: 'arm64' }[arch] ?? arch;
  const platform = { linux: 'linux', darwin: 'darwin', windows: 'win32' }[os] ?? os;
  return [platform, cpu, platform === 'darwin' ? null : abi].filter(Boolean).join('-');
}

const built = new Set(
  existsSync(artifacts)
    ? readdirSync(artifacts, { recursive: true })
        .map((f) => String(f).split(/[\\/]/).pop())
        .filter((f) => f.startsWith(`${binaryName}.`) && f.endsWith('.node'))
        .map((f) => f.slice(binaryName.length + 1, -'.node'.length))
    : [],
);
const targets = pkg.napi.targets;
const missing = targets.filter((t) => !built.has(platformOf(t)));
if (missing.length > 0 && !args['only-built']) {
  console.error(`stage-release: no binary in ${artifacts} for ${missing.join(', ')}`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// The main package's own files: exactly what its `files` field ships, plus the manifest.
for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'dist', 'native/index.js', 'native/index.d.ts']) {
  cpSync(join(root, f), join(out, f), { recursive: true });
}
// The published manifest: the build scripts and tools are for a checkout, not for users (a
// registry install runs no `prepare`, but npm warns about install scripts it sees).
const manifest = { ...pkg };
delete manifest.scripts;
delete manifest.devDependencies;
delete manifest.ava;
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

// One folder per target, each package.json carrying that target's os/cpu/libc.
napi('create-npm-dirs');
if (args['only-built']) {
  manifest.napi = { ...manifest.napi, targets: targets.filter((t) => built.has(platformOf(t))) };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
// Each binary into its platform package, then optionalDependencies into the main package.
// (`artifacts` also leaves a copy of the loader and binary at the staging root; the main
// package's `files` does not ship them.)
napi('artifacts', '--output-dir', artifacts);
napi('prepublish', '--tag-style', 'npm', '--skip-optional-publish', '--no-gh-release');

const staged = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
const platforms = Object.keys(staged.optionalDependencies ?? {});
console.log(`staged ${staged.name}@${staged.version} in ${out}`);
for (const name of platforms) console.log(`  optional: ${name} -> ${join(out, 'npm', name.slice(packageName.length + 1))}`);
