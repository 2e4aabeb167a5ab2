//! The c1z file format of the Baton ecosystem.
//!
//! A c1z v1 file is the five bytes `C1ZF\0` followed by one zstd frame whose
//! content is an SQLite database. This crate reads and writes that container
//! ([`codec`]), owns the database schema and row layout ([`store`]), and
//! carries the protobuf types stored in its blob columns ([`pb`]).
//!
//! The layout follows the Go baton-sdk v0.25.0 so that the Go `baton` CLI and
//! ConductorOne read files written here unchanged.

pub mod any;
pub mod codec;
pub mod error;
pub mod ksuid;
mod sources;
pub mod store;
pub mod timefmt;

pub use error::{Error, Result};
pub use store::{C1zFile, SyncRun};

/// Protobuf types generated from `proto/`, laid out by package.
#[allow(clippy::all, missing_docs, rustdoc::all)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

/// Short aliases for the connector types used everywhere.
pub mod v2 {
    pub use crate::pb::c1::connector::v2::*;
}
