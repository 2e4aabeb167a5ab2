//! Library behind the `c1z` command: reads c1z v1 files written by any Baton
//! connector and turns one sync into listings, effective access, diffs, CSV
//! exports and access review packages.
//!
//! Each subcommand family lives in its own module and returns a [`output::Listing`]
//! or writes files; `main.rs` only parses arguments and prints.

pub mod access;
pub mod aws;
pub mod diff;
pub mod error;
pub mod export;
pub mod inventory;
pub mod output;
pub mod privilege;
pub mod review;
pub mod snapshot;

pub use error::{Error, Result};
pub use snapshot::Snapshot;

/// Version of this tool, recorded in review manifests.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
