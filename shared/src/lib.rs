//! Biscotte's consent model, shared by the server and the banner.
//!
//! Pure by design: nothing here does I/O, reads the clock or draws random numbers.
//! Time comes in as a [`Timestamp`] parameter, so the same rules run on the server, in the banner
//! (where `SystemTime::now()` panics) and in table-driven tests.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// `alloc`'s names that `std`'s prelude would give: the crate is `no_std` so that the banner's
/// wasm links no `std` (its panic and formatting machinery).
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
}

pub mod api;
pub mod audit;
pub mod banner_config;
/// Only the server needs it: without the feature, the banner cannot link it.
#[cfg(feature = "catalogue")]
pub mod catalogue;
pub mod config;
pub mod cookie;
pub mod decision;
pub mod error;
pub mod fields;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod page_url;
pub mod projection;
pub mod revision;
pub mod rules;
pub mod time;
pub mod words;

pub use config::{Category, CookieDecl, Lang, Localized, Service, SiteConfig, SiteConfigInput};
pub use cookie::{COOKIE_NAME, SavedConsent};
pub use decision::{Choices, Decision, Method};
pub use error::FieldError;
pub use revision::{Recipe, Revision};
pub use rules::{PromptReason, needs_prompt};
pub use time::Timestamp;
