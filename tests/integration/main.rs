//! Biscotte's integration tests: the real server on a free loopback port, a real sled store in a
//! temporary directory. This `mod` list is the index of scenarios.

mod harness;
mod pg;
mod process;

mod abuse;
mod audit_export;
mod backup;
mod banner_projection;
mod banner_rebuilds;
mod catalogue;
mod cli_and_config;
mod compression;
mod consents;
mod crash;
mod hostile;
mod hostile_bodies;
mod methods;
mod migrate;
mod multi_server;
mod operations;
mod roles;
mod site_admin;
mod site_loader;
mod soak;
mod store_contract;
mod tlog;
mod upgrade;
