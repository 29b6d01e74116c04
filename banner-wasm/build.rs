//! Keeps the wasm `target_features` section through the `strip = true` of the `wasm-release`
//! profile, so that `wasm-bindgen` can read which wasm features the module uses (without it, it
//! warns and guesses). The section costs about 60 bytes in the shipped file.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--keep-section=target_features");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
