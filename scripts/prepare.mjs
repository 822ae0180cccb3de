// `npm install` in a checkout runs this ("prepare"): it builds the native addon and the
// TypeScript facade. With a Rust toolchain the addon is (re)built from source (cargo is
// incremental, so a rebuild with no change takes seconds). Without one, a prebuilt binary
// for this platform — a native/ferropool.*.node file or an installed @ferropool/binding-*
// package — is used instead; with neither, it says what to install.
import { execSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const run = (script) => execSync(`npm run ${script}`, { stdio: 'inherit' });
const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;

function hasPrebuilt() {
  if (readdirSync(new URL('../native/', import.meta.url)).some((f) => f.endsWith('.node'))) return true;
  try {
    createRequire(import.meta.url)('../native/index.js');
    return true;
  } catch {
    return false;
  }
}

if (hasCargo) {
  run('build');
} else if (hasPrebuilt()) {
  console.log('ferropool: no Rust toolchain found; using the prebuilt native binary');
  run('build:ts');
} else {
  console.error(
    'ferropool: cannot build the native addon: no Rust toolchain (cargo) on PATH and no prebuilt\n' +
      `binary for ${process.platform}-${process.arch}. Install Rust from https://rustup.rs and run npm install again.`,
  );
  process.exit(1);
}
