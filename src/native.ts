/**
 * The compiled Rust addon, loaded once per isolate by the loader napi-rs generates.
 * @internal
 */
import type * as Binding from '../native/index';

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

function load(): typeof Binding {
  try {
    // The generated loader picks the binary for this platform: NAPI_RS_NATIVE_LIBRARY_PATH,
    // a local build next to it, or the installed @ferropool/binding-<platform> package.
    return require('../native/index.js');
  } catch (cause) {
    throw new Error(missingBinaryMessage(cause), { cause });
  }
}

export const native: typeof Binding = load();
