//! The AWS connector: shared state of the resource syncers and the checks
//! made before a sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use baton_sdk::{Connector, ConnectorError, ErrorKind, ResourceSyncer};
use c1z::v2::{Entitlement, Resource};
use tracing::warn;

use crate::client::{classify, AwsConfigs, AwsError};
use crate::config::AwsArgs;
use crate::iam::IamApi;
use crate::resource_types as rt;
use crate::{access_key, group, iam_policy, iam_user, inline_policy, role};

/// State shared by every resource syncer of one run.
pub struct Ctx {
    pub args: AwsArgs,
    pub iam: IamApi,
    pub sts: aws_sdk_sts::Client,
    /// False when `--sync-resource-types` leaves out `iam_policy`: no policy grants are read.
    pub sync_policy_grants: bool,
    warned: Mutex<HashMap<String, u64>>,
}

impl Ctx {
    /// Passes a result through, turning the failures an optional call may
    /// have into `None` with a warning: access denied is logged once per
    /// operation (with a count at debug level after that), a vanished
    /// entity once per entity. Other failures stop the sync.
    pub fn optional<T>(&self, result: Result<T, AwsError>, entity: &str) -> Result<Option<T>, ConnectorError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_access_denied() => {
                let mut warned = self.warned.lock().expect("warning counter");
                let count = warned.entry(e.operation.to_string()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    warn!(operation = e.operation, entity, error = %e.message,
                        "access denied; data from this call is left out (further denials of this call are counted at debug level)");
                } else {
                    tracing::debug!(operation = e.operation, entity, count = *count, "access denied again");
                }
                Ok(None)
            }
            Err(e) if e.is_not_found() => {
                warn!(operation = e.operation, entity, "the entity no longer exists (deleted during the sync); skipping it");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// How many times each optional call was denied.
    pub fn denied_counts(&self) -> HashMap<String, u64> {
        self.warned.lock().expect("warning counter").clone()
    }
}

/// The connector.
pub struct AwsConnector {
    ctx: Arc<Ctx>,
    types: Vec<&'static str>,
}

impl AwsConnector {
    /// Builds the connector from validated arguments and loaded AWS configuration.
    pub fn new(args: AwsArgs, configs: AwsConfigs, sync_resource_types: &[String]) -> Self {
        let sync_policy_grants = sync_resource_types.is_empty() || sync_resource_types.iter().any(|t| t == rt::IAM_POLICY);
        let iam = IamApi::new(aws_sdk_iam::Client::new(&configs.global));
        let sts = aws_sdk_sts::Client::new(&configs.global);
        let mut types = vec![rt::IAM_USER, rt::ROLE, rt::GROUP, rt::IAM_POLICY, rt::INLINE_POLICY];
        if args.sync_secrets {
            types.push(rt::ACCESS_KEY);
        }
        let ctx = Arc::new(Ctx { args, iam, sts, sync_policy_grants, warned: Mutex::new(HashMap::new()) });
        AwsConnector { ctx, types }
    }

    /// The resource type ids this configuration syncs.
    pub fn resource_type_ids(&self) -> &[&'static str] {
        &self.types
    }

    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }
}

#[async_trait]
impl Connector for AwsConnector {
    fn resource_syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let c = &self.ctx;
        self.types
            .iter()
            .map(|id| -> Arc<dyn ResourceSyncer> {
                match *id {
                    rt::IAM_USER => Arc::new(iam_user::Syncer::new(c.clone())),
                    rt::ROLE => Arc::new(role::Syncer::new(c.clone())),
                    rt::GROUP => Arc::new(group::Syncer::new(c.clone())),
                    rt::IAM_POLICY => Arc::new(iam_policy::Syncer::new(c.clone())),
                    rt::INLINE_POLICY => Arc::new(inline_policy::Syncer::new(c.clone())),
                    rt::ACCESS_KEY => Arc::new(access_key::Syncer::new(c.clone())),
                    other => unreachable!("no syncer for {other}"),
                }
            })
            .collect()
    }

    /// Confirms the credentials work (sts:GetCallerIdentity) before anything is written.
    async fn validate(&self) -> Result<(), ConnectorError> {
        match self.ctx.sts.get_caller_identity().send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = classify("sts:GetCallerIdentity", &e);
                let kind = if err.kind == ErrorKind::Unavailable { ErrorKind::Unavailable } else { ErrorKind::Unauthenticated };
                Err(ConnectorError::new(
                    kind,
                    format!(
                        "the AWS credentials could not be verified ({err}); check AWS_PROFILE / AWS_ACCESS_KEY_ID, --global-access-key-id, or --role-arn and its trust policy"
                    ),
                ))
            }
        }
    }
}

/// The entitlement embedded in a managed-policy grant: the policy as an id
/// and display name only.
pub fn policy_entitlement(policy_arn: &str, policy_name: &str) -> Entitlement {
    Entitlement {
        resource: Some(Resource {
            id: Some(baton_sdk::types::rid(rt::IAM_POLICY, policy_arn)),
            display_name: policy_name.into(),
            ..Default::default()
        }),
        id: format!("{}:{policy_arn}:attached", rt::IAM_POLICY),
        ..Default::default()
    }
}

/// The entitlement embedded in membership-style grants: id and full resource only.
pub fn bare_entitlement(resource: &Resource, id: String) -> Entitlement {
    Entitlement { resource: Some(resource.clone()), id, ..Default::default() }
}

/// The account id in an ARN, or empty.
pub fn account_of(arn: &str) -> String {
    crate::config::Arn::parse(arn).map(|a| a.account).unwrap_or_default()
}
