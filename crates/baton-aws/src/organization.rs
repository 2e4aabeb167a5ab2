//! `organization` and `organizational_unit`: the Organizations hierarchy.
//! No entitlements or grants; accounts point at these as their parents.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::types::{child_type, rid};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use crate::connector::Ctx;
use crate::resource_types as rt;

/// A root or organizational unit, named by its id when it has no name.
/// Organizational units can contain further units, hence the child type.
fn hierarchy_resource(
    resource_type: &str,
    id: String,
    name: Option<String>,
    parent: Option<&ResourceId>,
) -> Resource {
    Resource {
        id: Some(rid(resource_type, &id)),
        parent_resource_id: parent.cloned(),
        display_name: name.filter(|n| !n.is_empty()).unwrap_or(id),
        annotations: vec![child_type(rt::ORGANIZATIONAL_UNIT)],
        ..Default::default()
    }
}

/// The organisation root.
pub struct RootSyncer {
    ctx: Arc<Ctx>,
}

impl RootSyncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        RootSyncer { ctx }
    }
}

/// Organizational units, listed under the root or another unit.
pub struct UnitSyncer {
    ctx: Arc<Ctx>,
}

impl UnitSyncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        UnitSyncer { ctx }
    }
}

#[async_trait]
impl ResourceSyncer for RootSyncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ORGANIZATION, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        if parent.is_some() {
            return Ok(Page::default());
        }
        let Some((roots, next)) = self
            .ctx
            .optional(self.ctx.orgs.list_roots(token).await, "organization")?
        else {
            return Ok(Page::default());
        };
        let resources = roots
            .into_iter()
            .map(|root| {
                hierarchy_resource(
                    rt::ORGANIZATION,
                    root.id.unwrap_or_default(),
                    root.name,
                    None,
                )
            })
            .collect();
        Ok(Page::with_next(resources, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        _: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::default())
    }

    async fn grants(&self, _: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        Ok(Page::default())
    }
}

#[async_trait]
impl ResourceSyncer for UnitSyncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ORGANIZATIONAL_UNIT, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let Some(parent) = parent.filter(|p| {
            p.resource_type == rt::ORGANIZATION || p.resource_type == rt::ORGANIZATIONAL_UNIT
        }) else {
            return Ok(Page::default());
        };
        let listed = self.ctx.orgs.list_units(&parent.resource, token).await;
        let Some((units, next)) = self.ctx.optional(listed, &parent.resource)? else {
            return Ok(Page::default());
        };
        let resources = units
            .into_iter()
            .map(|unit| {
                hierarchy_resource(
                    rt::ORGANIZATIONAL_UNIT,
                    unit.id.unwrap_or_default(),
                    unit.name,
                    Some(parent),
                )
            })
            .collect();
        Ok(Page::with_next(resources, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        _: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::default())
    }

    async fn grants(&self, _: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        Ok(Page::default())
    }
}
