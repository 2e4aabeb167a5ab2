//! Service mode: run as a connector hosted by ConductorOne.
//!
//! The process authenticates with its client id and secret ([`credentials`]),
//! calls `c1.connectorapi.baton.v1.BatonService` over gRPC with TLS
//! ([`api`]), and works the tasks the service hands out ([`runner`]): full
//! syncs uploaded as c1z files, and, with `--provisioning`, grants, revokes,
//! account creation and resource deletion. [`health`] serves the optional
//! HTTP health endpoints.

pub mod api;
pub mod credentials;
pub mod health;
pub mod runner;

/// gRPC code of the generated BatonService client and server.
#[allow(clippy::all, missing_docs)]
pub mod grpc {
    include!(concat!(env!("OUT_DIR"), "/c1.connectorapi.baton.v1.rs"));
}

/// Why service mode stopped or a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid client id: expected <name>@<tenant host>/<suffix>")]
    InvalidClientId,
    #[error("invalid client secret: {0}")]
    InvalidClientSecret(&'static str),
    #[error("failed to get token: {0}")]
    Token(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("{rpc} failed: {status}")]
    Rpc {
        rpc: &'static str,
        status: tonic::Status,
    },
    #[error("startup Hello failed: {0}")]
    Hello(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
