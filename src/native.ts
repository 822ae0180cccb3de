/**
 * The compiled Rust addon, loaded once per isolate by the loader napi-rs generates.
 * @internal
 */
import type * as Binding from '../native/index';

// The generated loader picks the binary for this platform (a local build or an installed
// prebuilt package) and explains what it looked for when none matches.
export const native: typeof Binding = require('../native/index.js');
