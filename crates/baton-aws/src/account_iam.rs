//! `account_iam`: one resource per organisation account that holds that
//! account's IAM. For each active member account whose role
//! (`--iam-assume-role-name`) can be assumed, the account's IAM users,
//! roles, groups and policies are listed as its children.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType};
use tracing::{info, warn};

use crate::account::account_resource;
use crate::connector::Ctx;
use crate::orgs::{is_active, state_text};
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ACCOUNT_IAM, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        if parent.is_some() {
            return Ok(Page::default());
        }
        let (accounts, next) = self.ctx.orgs.list_accounts(token).await?;
        let caller = self.ctx.setup().caller_account.clone();
        let mut out = Vec::new();
        for account in &accounts {
            let id = account.id.clone().unwrap_or_default();
            let mut children: &[&str] = &[];
            if id == caller {
                // The caller's own IAM is the top-level listing.
            } else if !is_active(account) {
                info!(account = %id, state = %state_text(account), "not crawling the IAM of an account that is not active");
            } else {
                match self.ctx.member_iam(&id).await {
                    Ok(_) => children = &[rt::IAM_USER, rt::ROLE, rt::GROUP, rt::IAM_POLICY],
                    Err(e) if e.denied => {
                        warn!(account = %id, reason = %e, "skipping the IAM of this member account")
                    }
                    Err(e) => return Err(e.into_connector_error(&id, "")),
                }
            }
            out.push(account_resource(rt::ACCOUNT_IAM, account, None, children));
        }
        Ok(Page::with_next(out, next.unwrap_or_default()))
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
