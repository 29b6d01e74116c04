//! Biscotte's server: the public API the banner calls, the audit API, the store and its proofs,
//! and the `biscotte` command line.

pub mod app;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod evidence;
pub mod export;
pub mod metrics;
pub mod projections;
pub mod routes;
pub mod sitefile;
pub mod store;
pub mod verify;
