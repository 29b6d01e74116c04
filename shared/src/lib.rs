//! Biscotte's consent model, shared by the server and the banner.
//!
//! Pure by design: nothing here does I/O, reads the clock or draws random numbers.
//! Time comes in as a [`Timestamp`] parameter, so the same rules run on the server, in the banner
//! (where `SystemTime::now()` panics) and in table-driven tests.

pub mod api;
pub mod config;
pub mod cookie;
pub mod decision;
pub mod error;
pub mod page_url;
pub mod revision;
pub mod rules;
pub mod time;

pub use config::{Category, CookieDecl, Lang, Localized, Service, SiteConfig, SiteConfigInput};
pub use cookie::{COOKIE_NAME, SavedConsent};
pub use decision::{Choices, Decision, Method};
pub use error::FieldError;
pub use revision::Revision;
pub use rules::{PromptReason, needs_prompt};
pub use time::Timestamp;
