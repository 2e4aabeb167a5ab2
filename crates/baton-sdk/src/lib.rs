//! The framework a Baton connector is built on: one [`ResourceSyncer`] per
//! resource type, a sync engine that drives them and writes a c1z
//! ([`sync`]), the SDK's grant expansion ([`expand`]), builders for the id
//! formats every connector shares ([`types`]) and the command-line plumbing
//! (flags, `BATON_*` variables, `.baton.yaml`, logging) in [`cli`].

pub mod cli;
pub mod connector;
pub mod expand;
pub mod jit;
pub mod provision;
pub mod service;
pub mod sync;
pub mod types;

pub use c1z;
pub use connector::{Connector, ConnectorError, ErrorKind, Page, ResourceSyncer};
