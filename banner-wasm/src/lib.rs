//! Biscotte's banner: the in-page consent engine, compiled to WebAssembly and started by the
//! loader (`loader.js`, which holds the wasm-bindgen glue) with the projection of the site's
//! published configuration for the page's language.
//!
//! Codemap: `view` decides (pure, host-tested); `engine` holds the page's state and runs the
//! flows; `ui` builds the dialogs; `host` is the loader's side (cookies, the decision's outbox,
//! events); `json` writes the bodies.
//! The exports below are the whole interface the loader calls.
//!
//! On wasm the crate is `no_std`: no `std` means no panic message formatting, no default
//! allocator and no thread-locals, which together weighed more than the banner itself.

#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

mod engine;
mod host;
mod json;
mod ui;
pub mod view;

/// `alloc`'s names that `std`'s prelude gives on the host, and `cat`.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;

    /// The parts, end to end: what `[..].concat()` does, without the generic join machinery
    /// (about 1 KB of wasm) that `concat` and `join` share.
    pub fn cat(parts: &[&str]) -> String {
        let mut out = String::new();
        for part in parts {
            out.push_str(part);
        }
        out
    }
}

/// lol_alloc's free-list allocator: 2.1 KB brotli less than dlmalloc, the default. It is small
/// enough to read whole (about 800 lines, the allocator's 600 with its tests), is tested upstream
/// with unit tests, a seeded randomized test of 5,000 allocations and frees, and wasm-bindgen-test
/// in a browser; it frees and reuses memory (unlike wee_alloc, which leaks and is unmaintained),
/// and is used behind a lock type whose constructor needs no `unsafe` here.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// A panic stops the engine where it is (a wasm trap, which the loader reports) without the
/// machinery that formats panic messages. The engine is written not to panic.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

use prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

/// Starts the engine on this page with `config`, the body of `GET
/// {server_origin}/api/v1/sites/{site}/banner?lang=…`. Returns whether it started: a projection
/// that cannot be read, or a second copy of the loader, starts nothing (and nothing optional runs).
#[wasm_bindgen]
pub fn start(server_origin: String, config: String) -> bool {
    engine::start(server_origin, config)
}

/// A control of the banner (its `data-action`), or `manage` for `Biscotte.open()` and the
/// page's `data-biscotte-open` elements.
#[wasm_bindgen]
pub fn act(action: &str) {
    engine::act(action);
}

/// `Biscotte.consent()`: hands the loader the choice in force as JSON, or `null` (through an
/// import rather than a returned string, whose conversion weighed 0.6 KB of wasm).
#[wasm_bindgen]
pub fn consent() {
    host::give(&engine::consent_json());
}

/// Runs the gated scripts parsed since the start (the loader calls it at `DOMContentLoaded`).
#[wasm_bindgen]
pub fn scan() {
    engine::scan();
}
