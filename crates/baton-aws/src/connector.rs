//! The AWS connector: shared state of the resource syncers, the checks made
//! before a sync, and the clients of member accounts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use baton_sdk::{Connector, ConnectorError, ErrorKind, ResourceSyncer};
use c1z::v2::{Entitlement, Resource, ResourceId};
use tracing::{info, warn};

use crate::client::{classify, AwsConfigs, AwsError};
use crate::config::AwsArgs;
use crate::iam::IamApi;
use crate::orgs::OrgsApi;
use crate::resource_types as rt;
use crate::sso::{Instance, SsoApi};
use crate::{
    access_key, account, account_iam, group, iam_policy, iam_user, inline_policy, organization,
    permission_set,
};
use crate::{permission_set_assignment, role, scim, sso_group, sso_user};

/// Results of the checks made before a sync.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The account the credentials belong to.
    pub caller_account: String,
    /// The Identity Center instance, when Identity Center is enabled.
    pub instance: Option<Instance>,
    /// An account instance of Identity Center: no permission sets or assignments.
    pub account_instance: bool,
}

/// Per-sync caches of Identity Center data read by several resource types.
#[derive(Default)]
pub struct Caches {
    pub permission_sets: Option<Vec<String>>,
    pub permission_set: HashMap<String, aws_sdk_ssoadmin::types::PermissionSet>,
    pub provisioned: HashMap<String, Vec<String>>,
    pub aws_managed_documents: HashMap<String, Option<String>>,
}

/// State shared by every resource syncer of one run.
pub struct Ctx {
    pub args: AwsArgs,
    configs: AwsConfigs,
    pub iam: IamApi,
    pub sts: aws_sdk_sts::Client,
    pub orgs: OrgsApi,
    pub sso: SsoApi,
    pub scim: Option<scim::ScimClient>,
    /// False when `--sync-resource-types` leaves out `iam_policy`: no policy grants are read.
    pub sync_policy_grants: bool,
    /// Whether accounts get their Organizations parent (root or organizational unit).
    pub sync_org_parents: bool,
    pub sync_unit_parents: bool,
    setup: OnceLock<Setup>,
    member_iam: tokio::sync::Mutex<HashMap<String, Result<IamApi, MemberAccessError>>>,
    pub caches: tokio::sync::Mutex<Caches>,
    /// Identity Center reads shared by several resource types, read once each.
    pub sso_cache: crate::sso_cache::SsoCache,
    warned: Mutex<HashMap<String, u64>>,
    /// Identity Center sign-ins from CloudTrail, read once per sync when
    /// `--sync-sso-user-last-login` is set; `None` when CloudTrail was denied.
    sso_logins: tokio::sync::OnceCell<Option<HashMap<String, prost_types::Timestamp>>>,
    cloudtrail: aws_sdk_cloudtrail::Client,
}

impl Ctx {
    /// Passes a result through, turning the failures an optional call may
    /// have into `None` with a warning: access denied is logged once per
    /// operation (with a count at debug level after that), a vanished
    /// entity once per entity. Other failures stop the sync.
    pub fn optional<T>(
        &self,
        result: Result<T, AwsError>,
        entity: &str,
    ) -> Result<Option<T>, ConnectorError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_access_denied() => {
                if self.count(e.operation) == 1 {
                    warn!(operation = e.operation, entity, error = %e.message,
                        "access denied; data from this call is left out (further denials of this call are counted at debug level)");
                } else {
                    tracing::debug!(operation = e.operation, entity, "access denied again");
                }
                Ok(None)
            }
            Err(e) if e.is_not_found() => {
                warn!(
                    operation = e.operation,
                    entity, "the entity no longer exists (deleted during the sync); skipping it"
                );
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Logs a warning the first time `key` is seen; returns how often it was seen.
    pub fn warn_once(&self, key: &str, message: &str) -> u64 {
        let seen = self.count(key);
        if seen == 1 {
            warn!(key, "{message}");
        }
        seen
    }

    fn count(&self, key: &str) -> u64 {
        let mut warned = self.warned.lock().expect("warning counter");
        let count = warned.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count
    }

    /// The Organizations SDK client, for the checks of provisioning.
    pub fn orgs_client(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.configs.global)
    }

    /// The last sign-in of each Identity Center user id, when
    /// `--sync-sso-user-last-login` is set and CloudTrail can be read.
    pub async fn sso_last_logins(
        &self,
    ) -> Result<Option<&HashMap<String, prost_types::Timestamp>>, ConnectorError> {
        if !self.args.sync_sso_user_last_login {
            return Ok(None);
        }
        let store = self.instance()?.identity_store_id.clone();
        let found = self
            .sso_logins
            .get_or_try_init(|| async {
                let fetched = crate::sso_last_login::fetch(&self.cloudtrail, &store).await;
                self.optional(fetched, "cloudtrail")
            })
            .await?;
        Ok(found.as_ref())
    }

    /// What the checks before the sync found. Panics if called before them.
    pub fn setup(&self) -> &Setup {
        self.setup
            .get()
            .expect("the connector is validated before it syncs")
    }

    /// The Identity Center instance; an error if Identity Center is not set up.
    pub fn instance(&self) -> Result<&Instance, ConnectorError> {
        self.setup()
            .instance
            .as_ref()
            .ok_or_else(|| ConnectorError::internal("Identity Center is not enabled"))
    }

    /// The IAM client for the account an ARN belongs to: the connector's own
    /// account (and AWS-managed policies) use the base client, any other
    /// account the client of its member-account role.
    pub async fn iam_for_arn(&self, arn: &str) -> Result<IamApi, ConnectorError> {
        let account = account_of(arn);
        if account.is_empty() || account == "aws" || account == self.setup().caller_account {
            return Ok(self.iam.clone());
        }
        self.member_iam(&account)
            .await
            .map_err(|e| e.into_connector_error(&account, &format!(" for {arn}")))
    }

    /// The IAM client for a listing under `parent` (an `account_iam` resource or none).
    pub async fn iam_for_parent(
        &self,
        parent: Option<&ResourceId>,
    ) -> Result<IamApi, ConnectorError> {
        match parent {
            Some(p)
                if p.resource_type == rt::ACCOUNT_IAM
                    && p.resource != self.setup().caller_account =>
            {
                let account = p.resource.clone();
                self.member_iam(&account)
                    .await
                    .map_err(|e| e.into_connector_error(&account, ""))
            }
            _ => Ok(self.iam.clone()),
        }
    }

    /// Returns the IAM client of a member account, assuming its role on first
    /// use. A client or a denial is kept for this sync only, because a
    /// connector serves one sync. Other failures are not kept, so a retry of
    /// the page, or the next sync, assumes the role again.
    pub async fn member_iam(&self, account: &str) -> Result<IamApi, MemberAccessError> {
        let mut clients = self.member_iam.lock().await;
        if let Some(found) = clients.get(account) {
            return found.clone();
        }
        let role_arn = format!(
            "arn:aws:iam::{account}:role/{}",
            self.args.iam_assume_role_name
        );
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
            .session_name("BatonCrossAccountSession")
            .session_length(std::time::Duration::from_secs(3600))
            .configure(&self.configs.global)
            .build()
            .await;
        let result = match provider.provide_credentials().await {
            Ok(first) => {
                let credentials = MemberCredentials {
                    first: Mutex::new(Some(first)),
                    inner: provider,
                };
                let config = self
                    .configs
                    .global
                    .clone()
                    .into_builder()
                    .credentials_provider(SharedCredentialsProvider::new(credentials))
                    .build();
                Ok(IamApi::new(aws_sdk_iam::Client::new(&config)))
            }
            Err(e) => {
                let detail = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                Err(MemberAccessError {
                    denied: detail.contains("AccessDenied"),
                    reason: format!("could not assume {role_arn}: {detail}"),
                })
            }
        };
        if result.as_ref().map_or_else(|e| e.denied, |_| true) {
            clients.insert(account.to_string(), result.clone());
        }
        result
    }
}

/// The reason a member account's role could not be assumed.
#[derive(Debug, Clone)]
pub struct MemberAccessError {
    /// STS returned AccessDenied: the role is missing or does not trust the
    /// caller, a setup choice the sync reports and works around. Any other
    /// failure (throttling after retries, an unreachable endpoint, expired
    /// base credentials) stops the sync, since leaving the account out
    /// would read downstream as its access being removed.
    pub denied: bool,
    pub reason: String,
}

impl std::fmt::Display for MemberAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl MemberAccessError {
    /// The error a sync stops with when an account it must read is out of reach.
    pub fn into_connector_error(self, account: &str, what: &str) -> ConnectorError {
        if self.denied {
            ConnectorError::new(
                ErrorKind::PermissionDenied,
                format!("no access to account {account}{what}: {}", self.reason),
            )
        } else {
            ConnectorError::new(
                ErrorKind::Unavailable,
                format!("could not reach account {account}{what}: {}; the sync stops rather than leave the account out, run it again", self.reason),
            )
        }
    }
}

/// Credentials of a member-account role: the ones obtained when the account
/// was first checked, then fresh assumptions whenever the SDK's identity
/// cache finds them about to expire.
#[derive(Debug)]
struct MemberCredentials {
    first: Mutex<Option<Credentials>>,
    inner: aws_config::sts::AssumeRoleProvider,
}

impl ProvideCredentials for MemberCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().expect("credentials").take();
        future::ProvideCredentials::new(async move {
            match first {
                Some(credentials) => Ok(credentials),
                None => self.inner.provide_credentials().await,
            }
        })
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
        let lacks = |id: &str| {
            !sync_resource_types.is_empty() && !sync_resource_types.iter().any(|t| t == id)
        };
        let types = registered_types(&args);
        let configs = crate::ratelimit::instrument(configs, &args.rate_limits());
        let cloudtrail = aws_sdk_cloudtrail::Client::new(&configs.sso);
        // Both account grants and permission set assignment grants read each assignment page.
        let assignment_readers = [rt::ACCOUNT, rt::PERMISSION_SET_ASSIGNMENT]
            .iter()
            .filter(|t| types.contains(t) && !lacks(t))
            .count() as u8;
        let ctx = Arc::new(Ctx {
            iam: IamApi::new(aws_sdk_iam::Client::new(&configs.global)),
            sts: aws_sdk_sts::Client::new(&configs.global),
            orgs: OrgsApi::new(aws_sdk_organizations::Client::new(&configs.global)),
            sso: SsoApi::new(
                aws_sdk_ssoadmin::Client::new(&configs.sso),
                aws_sdk_identitystore::Client::new(&configs.sso),
            ),
            scim: args
                .scim_enabled
                .then(|| scim::ScimClient::new(&args.scim_endpoint, &args.scim_token)),
            sync_policy_grants: !lacks(rt::IAM_POLICY),
            sync_org_parents: !lacks(rt::ORGANIZATION),
            sync_unit_parents: !lacks(rt::ORGANIZATIONAL_UNIT),
            args,
            configs,
            setup: OnceLock::new(),
            member_iam: tokio::sync::Mutex::new(HashMap::new()),
            caches: tokio::sync::Mutex::new(Caches::default()),
            sso_cache: crate::sso_cache::SsoCache::new(assignment_readers),
            warned: Mutex::new(HashMap::new()),
            sso_logins: tokio::sync::OnceCell::new(),
            cloudtrail,
        });
        AwsConnector { ctx, types }
    }

    /// The AWS configurations the connector was built from.
    pub fn configs(&self) -> &AwsConfigs {
        &self.ctx.configs
    }

    /// The resource type ids this configuration syncs.
    pub fn resource_type_ids(&self) -> &[&'static str] {
        &self.types
    }

    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    async fn check_organizations(&self, caller: &str) -> Result<(), ConnectorError> {
        let ctx = &self.ctx;
        let management = match ctx.orgs.management_account().await {
            Ok(id) => id,
            Err(e) if e.code == "AWSOrganizationsNotInUseException" => {
                return Err(ConnectorError::new(
                    ErrorKind::FailedPrecondition,
                    format!("account {caller} is not in an AWS Organization; drop --global-aws-orgs-enabled (and --global-aws-sso-enabled) to sync its IAM only"),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if management != caller {
            if let Err(e) = ctx.orgs.list_accounts("").await {
                if e.is_access_denied() {
                    return Err(ConnectorError::new(
                        ErrorKind::FailedPrecondition,
                        format!(
                            "the credentials belong to member account {caller}, but the organisation's accounts can only be read from its management account {management} (or a delegated administrator): create the role baton-aws uses in account {management} and point --role-arn at it, or drop --global-aws-orgs-enabled ({e})"
                        ),
                    ));
                }
                return Err(e.into());
            }
        }
        Ok(())
    }

    async fn find_instance(&self) -> Result<(Instance, bool), ConnectorError> {
        let ctx = &self.ctx;
        let region = &ctx.args.sso_region;
        let instances = ctx.sso.instances().await.map_err(ConnectorError::from)?;
        let Some(instance) = instances.first().cloned() else {
            return Err(ConnectorError::new(
                ErrorKind::FailedPrecondition,
                format!("no IAM Identity Center instance in region {region}; set --global-aws-sso-region to the region where Identity Center runs, or drop --global-aws-sso-enabled"),
            ));
        };
        if instances.len() > 1 {
            warn!(count = instances.len(), instance = %instance.instance_arn, "several Identity Center instances in {region}; syncing the first");
        }
        let account_instance = match ctx
            .sso
            .list_permission_sets(&instance.instance_arn, "")
            .await
        {
            Ok(_) => false,
            Err(e)
                if e.code == "ValidationException"
                    || e.message.to_lowercase().contains("account instance") =>
            {
                warn!(instance = %instance.instance_arn,
                    "this is an account instance of IAM Identity Center, which has no permission sets: syncing its users, groups and memberships only");
                true
            }
            Err(e) => return Err(e.into()),
        };
        Ok((instance, account_instance))
    }
}

/// The resource types a configuration registers, in sync order.
pub fn registered_types(args: &AwsArgs) -> Vec<&'static str> {
    let mut types = vec![
        rt::IAM_USER,
        rt::ROLE,
        rt::GROUP,
        rt::IAM_POLICY,
        rt::INLINE_POLICY,
    ];
    if args.sso_enabled {
        types.extend([rt::SSO_USER, rt::SSO_GROUP]);
    }
    if args.orgs_enabled && args.sso_enabled {
        types.push(rt::ACCOUNT);
    }
    if args.orgs_enabled && (!args.sso_enabled || args.cross_account_iam_enabled) {
        types.push(rt::ACCOUNT_IAM);
    }
    if args.orgs_enabled && args.sso_enabled {
        types.extend([
            rt::PERMISSION_SET,
            rt::PERMISSION_SET_ASSIGNMENT,
            rt::ORGANIZATION,
            rt::ORGANIZATIONAL_UNIT,
        ]);
    }
    if args.sync_secrets {
        types.push(rt::ACCESS_KEY);
    }
    types
}

#[async_trait]
impl Connector for AwsConnector {
    fn release(&self) {
        self.ctx.iam.release();
        if let Ok(clients) = self.ctx.member_iam.try_lock() {
            for client in clients.values().flatten() {
                client.release();
            }
        }
    }

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
                    rt::SSO_USER => Arc::new(sso_user::Syncer::new(c.clone())),
                    rt::SSO_GROUP => Arc::new(sso_group::Syncer::new(c.clone())),
                    rt::ACCOUNT => Arc::new(account::Syncer::new(c.clone())),
                    rt::ACCOUNT_IAM => Arc::new(account_iam::Syncer::new(c.clone())),
                    rt::PERMISSION_SET => Arc::new(permission_set::Syncer::new(c.clone())),
                    rt::PERMISSION_SET_ASSIGNMENT => {
                        Arc::new(permission_set_assignment::Syncer::new(c.clone()))
                    }
                    rt::ORGANIZATION => Arc::new(organization::RootSyncer::new(c.clone())),
                    rt::ORGANIZATIONAL_UNIT => Arc::new(organization::UnitSyncer::new(c.clone())),
                    rt::ACCESS_KEY => Arc::new(access_key::Syncer::new(c.clone())),
                    other => unreachable!("no syncer for {other}"),
                }
            })
            .collect()
    }

    /// Logs, per optional call that AWS denied, how often it was denied and
    /// that its data is missing from the sync.
    fn report(&self) {
        let denied = self.ctx.warned.lock().expect("warning counter").clone();
        let mut denied: Vec<(String, u64)> = denied
            .into_iter()
            .filter(|(key, _)| key.contains(':'))
            .collect();
        denied.sort();
        for (operation, count) in denied {
            warn!(operation = %operation, count, "access was denied for this call; the data it reads is missing from this sync");
        }
    }

    /// Confirms the credentials work (sts:GetCallerIdentity), that
    /// Organizations can be read from this account, and finds the Identity
    /// Center instance, before anything is written.
    async fn validate(&self) -> Result<(), ConnectorError> {
        let caller = match self.ctx.sts.get_caller_identity().send().await {
            Ok(out) => out.account.unwrap_or_default(),
            Err(e) => {
                let err = classify("sts:GetCallerIdentity", &e);
                if err.kind == ErrorKind::Unavailable {
                    return Err(ConnectorError::new(
                        ErrorKind::Unavailable,
                        format!("could not reach AWS ({err}); check the network, the region and AWS_ENDPOINT_URL, then try again"),
                    ));
                }
                return Err(ConnectorError::new(
                    ErrorKind::Unauthenticated,
                    format!(
                        "the AWS credentials could not be verified ({err}); check AWS_PROFILE / AWS_ACCESS_KEY_ID, --global-access-key-id, or --role-arn and its trust policy"
                    ),
                ));
            }
        };
        if self.ctx.args.orgs_enabled {
            self.check_organizations(&caller).await?;
        }
        let (instance, account_instance) = if self.ctx.args.sso_enabled {
            let (instance, account_instance) = self.find_instance().await?;
            info!(instance = %instance.instance_arn, identity_store = %instance.identity_store_id, "found the Identity Center instance");
            (Some(instance), account_instance)
        } else {
            (None, false)
        };
        let _ = self.ctx.setup.set(Setup {
            caller_account: caller,
            instance,
            account_instance,
        });
        Ok(())
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
    Entitlement {
        resource: Some(resource.clone()),
        id,
        ..Default::default()
    }
}

/// The account id in an ARN, or empty.
pub fn account_of(arn: &str) -> String {
    crate::config::Arn::parse(arn)
        .map(|a| a.account)
        .unwrap_or_default()
}
