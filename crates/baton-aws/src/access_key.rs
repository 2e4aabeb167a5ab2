//! `access-key`: IAM access keys as secrets (with `--sync-secrets`).
//!
//! The key's `SecretTrait` points at its owner by the owner's ARN, which is
//! the id of the `iam_user` resource. (The Go connector uses the IAM UserId
//! there, which names no resource in the c1z.)

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::types::rid;
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{
    secret_trait::CredentialType, Entitlement, Grant, Resource, ResourceId, ResourceType,
    SecretTrait, V1Identifier,
};
use prost_types::Timestamp;

use crate::connector::Ctx;
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

fn timestamp(d: &aws_smithy_types::DateTime) -> Timestamp {
    Timestamp {
        seconds: d.secs(),
        nanos: d.subsec_nanos() as i32,
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ACCESS_KEY, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        if parent.is_some() {
            return Ok(Page::default());
        }
        let (users, next) = self.ctx.iam.list_users(token).await?;
        let mut out = Vec::new();
        for user in &users {
            // Denied or vanished: left out with a warning. Anything else (expired
            // credentials, throttling past the retries) stops the sync rather than
            // publish a user without keys they still have.
            let Some(keys) = self
                .ctx
                .optional(self.ctx.iam.access_keys(&user.user_name).await, &user.arn)?
            else {
                continue;
            };
            for key in keys {
                let Some(key_id) = key.access_key_id.clone() else {
                    continue;
                };
                let last_used = self
                    .ctx
                    .optional(self.ctx.iam.access_key_last_used(&key_id).await, &user.arn)?
                    .flatten();
                let owner = rid(rt::IAM_USER, &user.arn);
                let secret = SecretTrait {
                    created_by_id: Some(owner.clone()),
                    identity_id: Some(owner),
                    credential_type: CredentialType::StaticSecret as i32,
                    credential_detail: "aws.access_key".into(),
                    last_used_at: last_used.as_ref().map(timestamp),
                    ..Default::default()
                };
                out.push(Resource {
                    id: Some(rid(rt::ACCESS_KEY, &key_id)),
                    display_name: format!("{}|{}", user.user_name, key_id),
                    annotations: vec![
                        pack(&V1Identifier {
                            id: user.arn.clone(),
                        }),
                        pack(&secret),
                    ],
                    created_at: key.create_date.as_ref().map(timestamp),
                    ..Default::default()
                });
            }
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
