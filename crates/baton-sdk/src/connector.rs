//! The traits a connector implements.

use std::sync::Arc;

use async_trait::async_trait;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType};

/// One page of a listing. An empty `next_token` ends the listing.
#[derive(Debug, Clone, Default)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: String,
}

impl<T> Page<T> {
    /// A page with no successor.
    pub fn last(items: Vec<T>) -> Self {
        Page {
            items,
            next_token: String::new(),
        }
    }

    /// A page followed by the page at `token` (no successor when `token` is empty).
    pub fn with_next(items: Vec<T>, token: impl Into<String>) -> Self {
        Page {
            items,
            next_token: token.into(),
        }
    }
}

/// How a connector call failed, in the terms of gRPC status codes so that
/// service mode can report it unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Transient (throttling, a dropped connection): the caller retries.
    Unavailable,
    /// The request or configuration is wrong; retrying does not help.
    InvalidArgument,
    /// The credentials lack a permission.
    PermissionDenied,
    /// Credentials are missing, expired or rejected.
    Unauthenticated,
    /// What the request names does not exist.
    NotFound,
    /// The connector does not do this.
    Unimplemented,
    /// A precondition is not met (for example provisioning is disabled).
    FailedPrecondition,
    /// Anything else.
    Internal,
}

/// An error from a connector, with a kind that decides whether it is retried.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ConnectorError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Whether the sync engine should try the call again.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }
}

/// Syncs one resource type: its static definition, its resources, and the
/// entitlements and grants of each resource, every listing paged.
#[async_trait]
pub trait ResourceSyncer: Send + Sync {
    /// The resource type this syncer handles.
    fn resource_type(&self) -> ResourceType;

    /// Lists resources, top-level when `parent` is `None`, else the children
    /// of `parent`. `token` is empty for the first page.
    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError>;

    /// Lists the entitlements a resource offers.
    async fn entitlements(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Entitlement>, ConnectorError>;

    /// Lists the grants of a resource's entitlements.
    async fn grants(&self, resource: &Resource, token: &str)
        -> Result<Page<Grant>, ConnectorError>;

    /// Returns whether the listing of this type returns every resource of it.
    /// Then a grant to a principal of this type that the listing did not
    /// return names something that no longer exists, such as an assignment
    /// left behind by a deleted user. The sync leaves such grants out, with
    /// one warning per type. The default, `false`, keeps them, because a
    /// principal may live where the sync does not look.
    fn lists_every_principal(&self) -> bool {
        false
    }
}

/// A connector: a set of resource syncers plus a configuration check.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The syncers of every resource type this configuration registers.
    fn resource_syncers(&self) -> Vec<Arc<dyn ResourceSyncer>>;

    /// Reports what the finished sync left out (for example calls that were
    /// denied). Called once after the sync's data is complete.
    fn report(&self) {}

    /// Frees what the connector cached for reading resources, entitlements
    /// and grants. Called once every grant has been read, before grant
    /// expansion, so expansion can reuse the memory.
    fn release(&self) {}

    /// Checks that the connector can reach its source. Called before a sync.
    async fn validate(&self) -> Result<(), ConnectorError> {
        Ok(())
    }
}
