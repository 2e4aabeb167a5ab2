//! `organization` and `organizational_unit`: the Organizations hierarchy.
//! No entitlements or grants; accounts point at these as their parents.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::types::{child_type, rid};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use crate::connector::Ctx;
use crate::resource_types as rt;

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

    async fn list(&self, parent: Option<&ResourceId>, token: &str) -> Result<Page<Resource>, ConnectorError> {
        if parent.is_some() {
            return Ok(Page::default());
        }
        let Some((roots, next)) = self.ctx.optional(self.ctx.orgs.list_roots(token).await, "organization")? else {
            return Ok(Page::default());
        };
        let resources = roots
            .into_iter()
            .map(|root| {
                let id = root.id.unwrap_or_default();
                Resource {
                    id: Some(rid(rt::ORGANIZATION, &id)),
                    display_name: root.name.filter(|n| !n.is_empty()).unwrap_or_else(|| id.clone()),
                    annotations: vec![child_type(rt::ORGANIZATIONAL_UNIT)],
                    ..Default::default()
                }
            })
            .collect();
        Ok(Page::with_next(resources, next.unwrap_or_default()))
    }

    async fn entitlements(&self, _: &Resource, _: &str) -> Result<Page<Entitlement>, ConnectorError> {
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

    async fn list(&self, parent: Option<&ResourceId>, token: &str) -> Result<Page<Resource>, ConnectorError> {
        let Some(parent) = parent.filter(|p| p.resource_type == rt::ORGANIZATION || p.resource_type == rt::ORGANIZATIONAL_UNIT) else {
            return Ok(Page::default());
        };
        let listed = self.ctx.orgs.list_units(&parent.resource, token).await;
        let Some((units, next)) = self.ctx.optional(listed, &parent.resource)? else { return Ok(Page::default()) };
        let resources = units
            .into_iter()
            .map(|unit| {
                let id = unit.id.unwrap_or_default();
                Resource {
                    id: Some(rid(rt::ORGANIZATIONAL_UNIT, &id)),
                    parent_resource_id: Some(parent.clone()),
                    display_name: unit.name.filter(|n| !n.is_empty()).unwrap_or_else(|| id.clone()),
                    annotations: vec![child_type(rt::ORGANIZATIONAL_UNIT)],
                    ..Default::default()
                }
            })
            .collect();
        Ok(Page::with_next(resources, next.unwrap_or_default()))
    }

    async fn entitlements(&self, _: &Resource, _: &str) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::default())
    }

    async fn grants(&self, _: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        Ok(Page::default())
    }
}
