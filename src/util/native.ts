/**
 * The compiled Rust addon, loaded once per isolate by the loader napi-rs generates.
 * @internal
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Binding from '../../native/index';

/** The napi-rs name of this platform, as used in the prebuilt package names (`linux-x64-gnu`). */
export function platformName(): string {
  const { platform, arch } = process;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  // glibcVersionRuntime is reported on glibc systems only; musl (Alpine) has none.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `linux-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The error users see when no binary matches: what was looked for, and the ways out. */
export function missingBinaryMessage(cause: unknown): string {
  const name = platformName();
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return [
    `ferropool: no native binary for this platform (${name}, Node ${process.versions.node}).`,
    `Looked for the prebuilt package @ferropool/binding-${name} (an optional dependency of ferropool)`,
    `and for a local build at native/ferropool.${name}.node. The loader said: ${reason}`,
    'To fix it:',
    '  - if your platform is one of linux x64/arm64 (glibc or musl), macOS x64/arm64 or Windows x64,',
    '    reinstall without omitting optional dependencies (no --omit=optional / --no-optional),',
    '    and delete node_modules and package-lock.json first if they were created on another platform;',
    '  - otherwise build from source: install Rust (https://rustup.rs), then',
    '    git clone https://github.com/ferropool/ferropool && cd ferropool && npm install',
    '    and depend on that folder (npm install /path/to/ferropool), or point',
    '    NAPI_RS_NATIVE_LIBRARY_PATH at the built native/ferropool.*.node file.',
  ].join('\n');
}

/** The errors of a load failure: the error, then its `cause` chain (as napi-rs chains the
 * loader's attempts). */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && out.length < 32; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** The binary file for this platform, if one is installed: a local build next to the loader,
 * or the prebuilt package's. */
export function installedBinary(nativeDir = path.join(__dirname, '..', '..', 'native')): string | undefined {
  const name = platformName();
  const local = path.join(nativeDir, `ferropool.${name}.node`);
  if (existsSync(local)) return local;
  try {
    const pkg = path.dirname(require.resolve(`@ferropool/binding-${name}/package.json`));
    const file = path.join(pkg, `ferropool.${name}.node`);
    return existsSync(file) ? file : pkg;
  } catch {
    return undefined;
  }
}

/**
 * The error users see when the binary for this platform is installed but did not load:
 * the underlying error first, then the loader's other attempts.
 */
export function brokenBinaryMessage(cause: unknown, file: string): string {
  const all = causes(cause);
  const text = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));
  const notFound = (e: unknown) => /^Cannot find (module|native binding)/.test(text(e));
  const pkg = `@ferropool/binding-${platformName()}`;
  // The attempt at the installed file (a dlopen error names it); else any error about the
  // installed package (not finding it is then the cause: a loader hook that fails to
  // resolve it or to read its package.json); else the first that is not "not found".
  const real =
    all.find((e) => text(e).includes(path.basename(file)) && !notFound(e)) ?? all.find((e) => text(e).includes(pkg)) ?? all.find((e) => !notFound(e)) ?? all[0];
  return [
    `ferropool: the native binary for this platform (${platformName()}, Node ${process.versions.node}) is installed at ${file} but could not be loaded:`,
    `  ${text(real)}`,
    ...(all.length > 1 ? ['The loader tried, in order:', ...all.filter((e) => e !== real && text(e) !== text(real)).map((e) => `  - ${text(e)}`)] : []),
    'A loader hook (a TypeScript runner, a bundler) that fails to require a file, a binary built for another',
    'Node.js ABI or C library, or a file that is not readable are the usual causes.',
  ].join('\n');
}

/**
 * Loads the installed binary file directly (`process.dlopen`, no module loader), checking
 * that a prebuilt package's version matches this package's, as the generated loader does.
 */
function loadFile(file: string): typeof Binding {
  const dir = path.dirname(file);
  if (path.basename(path.dirname(dir)) === '@ferropool') {
    const version = (p: string) => (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version;
    const want = version(path.join(__dirname, '..', '..', 'package.json'));
    const got = version(path.join(dir, 'package.json'));
    if (want !== got) throw new Error(`Native binding package version mismatch, expected ${want} but got ${got}. Reinstall ferropool to fix it.`);
  }
  const mod = { exports: {} as typeof Binding };
  process.dlopen(mod, file);
  return mod.exports;
}

function load(): typeof Binding {
  try {
    // The generated loader picks the binary for this platform: NAPI_RS_NATIVE_LIBRARY_PATH,
    // a local build next to it, or the installed @ferropool/binding-<platform> package.
    return require('../../native/index.js');
  } catch (cause) {
    const file = installedBinary();
    if (file === undefined) throw new Error(missingBinaryMessage(cause), { cause });
    // The binary is there, but the loader failed: a loader hook may have broken `require`
    // (tsx with a .cts entry in an ESM project on Node 20 fails to require the binding
    // package's package.json). Load the file itself; if that fails too, say why.
    try {
      if (file.endsWith('.node')) return loadFile(file);
    } catch (direct) {
      throw new Error(brokenBinaryMessage(Object.assign(direct as Error, { cause }), file), { cause: direct });
    }
    throw new Error(brokenBinaryMessage(cause, file), { cause });
  }
}

export const native: typeof Binding = load();

let trimTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * A pool worker or a `Process` thread ended: soon, hand the C allocator's free memory back to
 * the OS (`native.trimNativeHeap`, glibc only). Threads that end together (a pool's workers
 * at `terminate()`) share one trim, made once their isolates are gone; the timer never keeps
 * the program alive.
 */
export function trimAfterThreadExit(): void {
  if (trimTimer !== undefined) return;
  trimTimer = setTimeout(() => {
    trimTimer = undefined;
    native.trimNativeHeap();
  }, 10);
  trimTimer.unref();
}
