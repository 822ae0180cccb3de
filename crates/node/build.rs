//! Generates the napi linker settings for the addon.
fn main() {
    napi_build::setup();
}
