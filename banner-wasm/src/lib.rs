//! Biscotte's banner: the in-page consent engine, compiled to WebAssembly and started by the
//! loader (`js/`, bundled with the wasm-bindgen glue) with the projection of the site's
//! published configuration for the page's language.
//!
//! The engine keeps the consent rules of `shared` on the page: it reads the projection and the
//! consent cookie, says whether the visitor must be asked, and turns a decision into the cookie
//! and the body the server checks. The loader's JavaScript draws the banner and does the page's
//! plumbing (gating, deleting, Consent Mode): DOM work that weighs a fifth as much in minified
//! JavaScript as in wasm.
//!
//! Codemap: `view` decides (pure, host-tested); `engine` holds the page's state; `host` is the
//! loader's side (cookies, the decision's outbox); `json` writes the bodies.
//! The exports below are the whole interface the loader calls.
//!
//! On wasm the crate is `no_std`: no `std` means no panic message formatting, no default
//! allocator and no thread-locals, which together weighed more than the banner itself.

#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

mod engine;
mod host;
mod json;
pub mod view;

/// `alloc`'s names that `std`'s prelude gives on the host, and `cat`.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::String;

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
/// /api/v1/sites/{site}/banner?lang=…`. Answers 2 when the visitor must be asked,
/// 1 when their choice holds, 0 when nothing started (a projection that cannot be read: then
/// nothing optional runs). Called again with a newer revision's projection, it starts over with it.
#[wasm_bindgen]
pub fn start(config: String) -> u32 {
    engine::start(config)
}

/// Records a decision: `method` as the protocol names it, `accepted` the ids of the categories and
/// services said yes to, and `undeleted` the cookies of refused services that stayed readable,
/// each list separated by spaces.
#[wasm_bindgen]
pub fn decide(method: &str, accepted: &str, undeleted: &str) {
    engine::decide(method, accepted, undeleted);
}

/// `Biscotte.consent()`: hands the loader the choice in force as JSON, or `null` (through an
/// import rather than a returned string, whose conversion weighed 0.6 KB of wasm).
#[wasm_bindgen]
pub fn consent() {
    host::give(engine::consent_json().as_deref().unwrap_or("null"));
}
