//! The IAM reads the resource syncers need, one method per question.
//!
//! Syncers ask this layer, never the SDK client. The plain methods make one
//! call each and return one AWS page and the marker of the next one; the
//! provisioning checks use them because they must see the current state. The
//! `cached_*` methods answer from per-account snapshots read once per sync
//! (see [`crate::iam_details`]) and return `None` when the snapshot cannot
//! answer (access denied, or an entity created after it was read), in which
//! case the caller falls back to the plain method.

use std::sync::Arc;

use aws_sdk_iam::types::{
    AccessKeyMetadata, AttachedPolicy, Group, Policy, PolicyScopeType, Role, User,
};
use aws_sdk_iam::Client;
use aws_smithy_types::DateTime;
use tokio::sync::OnceCell;
use tracing::warn;

use crate::client::{classify, AwsError};
use crate::iam_details::{AuthorizationDetails, CredentialReport};

/// One page of an IAM listing and the marker of the next page.
pub type IamPage<T> = (Vec<T>, Option<String>);

/// The kind of IAM entity an inline policy or attached policy hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    User,
    Role,
    Group,
}

/// IAM reads against one account. Clones share the account's snapshots.
#[derive(Clone, Debug)]
pub struct IamApi {
    client: Client,
    /// `None` inside the cell when the snapshot was denied. The outer lock
    /// lets [`IamApi::release`] swap in an empty cell.
    details: Arc<std::sync::Mutex<Releasable<AuthorizationDetails>>>,
    report: Arc<std::sync::Mutex<Releasable<CredentialReport>>>,
}

/// A per-account read made once and shared; `None` inside when it was denied.
type Releasable<T> = Arc<OnceCell<Option<Arc<T>>>>;

fn next(truncated: bool, marker: Option<String>) -> Option<String> {
    marker.filter(|m| truncated && !m.is_empty())
}

fn opt(marker: &str) -> Option<String> {
    (!marker.is_empty()).then(|| marker.to_string())
}

impl IamApi {
    pub fn new(client: Client) -> Self {
        IamApi {
            client,
            details: Arc::default(),
            report: Arc::default(),
        }
    }

    /// Drops the snapshot and the credential report, which grow with the
    /// account, once no listing needs them. A later call reads them again.
    pub fn release(&self) {
        *self.details.lock().expect("snapshot lock") = Arc::default();
        *self.report.lock().expect("report lock") = Arc::default();
    }

    /// The account's authorization details, read on first use. `None` when
    /// `iam:GetAccountAuthorizationDetails` is denied (logged once per account).
    pub async fn authorization_details(
        &self,
    ) -> Result<Option<Arc<AuthorizationDetails>>, AwsError> {
        let cell = self.details.lock().expect("snapshot lock").clone();
        let found = cell
            .get_or_try_init(|| async {
                match AuthorizationDetails::fetch(&self.client).await {
                    Ok(details) => Ok(Some(Arc::new(details))),
                    Err(e) if e.is_access_denied() => {
                        warn!(operation = e.operation, error = %e.message,
                            "access denied; reading IAM users, groups and roles with one call per entity instead");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(found.clone())
    }

    /// The account's credential report, read on first use. `None` when it is
    /// denied or AWS does not produce it (logged once per account).
    pub async fn credential_report(&self) -> Result<Option<Arc<CredentialReport>>, AwsError> {
        let cell = self.report.lock().expect("report lock").clone();
        let found = cell
            .get_or_try_init(|| async {
                match CredentialReport::fetch(&self.client).await {
                    Ok(report) => Ok(Some(Arc::new(report))),
                    Err(e) if e.is_access_denied() || e.kind == baton_sdk::ErrorKind::Internal || e.code.starts_with("Report") => {
                        warn!(operation = e.operation, error = %e.message,
                            "no credential report; reading access-key use with one call per key instead");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(found.clone())
    }

    /// The attached managed policies of an entity as (ARN, name), from the snapshot.
    pub async fn cached_attached_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<Vec<(String, String)>>, AwsError> {
        Ok(self
            .authorization_details()
            .await?
            .and_then(|d| d.policies(entity, name).map(|p| p.attached.clone())))
    }

    /// The inline policies of an entity as (name, URL-decoded document), from the snapshot.
    pub async fn cached_inline_policies(
        &self,
        entity: Entity,
        name: &str,
    ) -> Result<Option<Vec<(String, Option<String>)>>, AwsError> {
        Ok(self
            .authorization_details()
            .await?
            .and_then(|d| d.policies(entity, name).map(|p| p.inline.clone())))
    }

    /// The ARNs of a group's members, from the snapshot.
    pub async fn cached_group_members(
        &self,
        group_name: &str,
    ) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self
            .authorization_details()
            .await?
            .and_then(|d| d.group_members.get(group_name).cloned()))
    }

    /// A role's URL-decoded trust policy, from the snapshot.
    pub async fn cached_role_trust_policy(
        &self,
        role_name: &str,
    ) -> Result<Option<Option<String>>, AwsError> {
        Ok(self
            .authorization_details()
            .await?
            .and_then(|d| d.trust_policies.get(role_name).cloned()))
    }

    /// The URL-decoded document of a customer managed policy's default
    /// version, from the snapshot, when the snapshot's default is `version`.
    pub async fn cached_policy_document(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<Option<Option<String>>, AwsError> {
        let Some(details) = self.authorization_details().await? else {
            return Ok(None);
        };
        Ok(details
            .policy_documents
            .get(arn)
            .filter(|(default, _)| default == version)
            .map(|(_, document)| document.clone()))
    }

    /// When a user's access keys were last used, from the credential report,
    /// as (seconds, nanoseconds) since the Unix epoch.
    pub async fn cached_access_keys_last_used(
        &self,
        user_arn: &str,
    ) -> Result<Option<Vec<(i64, u32)>>, AwsError> {
        Ok(self.credential_report().await?.and_then(|r| {
            r.users
                .get(user_arn)
                .map(|f| f.access_keys_last_used.clone())
        }))
    }

    /// A user's console-password and MFA facts from the credential report.
    pub async fn cached_credential_facts(
        &self,
        user_arn: &str,
    ) -> Result<Option<(Option<bool>, Option<bool>)>, AwsError> {
        Ok(self.credential_report().await?.and_then(|r| {
            r.users
                .get(user_arn)
                .map(|f| (f.console_access, f.mfa_active))
        }))
    }

    /// The SDK client, for the writes of provisioning.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn list_users(&self, marker: &str) -> Result<IamPage<User>, AwsError> {
        let out = self
            .client
            .list_users()
            .set_marker(opt(marker))
            .send()
            .await
            .map_err(|e| classify("iam:ListUsers", &e))?;
        Ok((out.users, next(out.is_truncated, out.marker)))
    }

    pub async fn list_roles(&self, marker: &str) -> Result<IamPage<Role>, AwsError> {
        let out = self
            .client
            .list_roles()
            .set_marker(opt(marker))
            .send()
            .await
            .map_err(|e| classify("iam:ListRoles", &e))?;
        Ok((out.roles, next(out.is_truncated, out.marker)))
    }

    pub async fn list_groups(&self, marker: &str) -> Result<IamPage<Group>, AwsError> {
        let out = self
            .client
            .list_groups()
            .set_marker(opt(marker))
            .send()
            .await
            .map_err(|e| classify("iam:ListGroups", &e))?;
        Ok((out.groups, next(out.is_truncated, out.marker)))
    }

    pub async fn list_policies(
        &self,
        only_attached: bool,
        marker: &str,
    ) -> Result<IamPage<Policy>, AwsError> {
        let out = self
            .client
            .list_policies()
            .only_attached(only_attached)
            .scope(PolicyScopeType::All)
            .set_marker(opt(marker))
            .send()
            .await
            .map_err(|e| classify("iam:ListPolicies", &e))?;
        Ok((
            out.policies.unwrap_or_default(),
            next(out.is_truncated, out.marker),
        ))
    }

    /// The URL-decoded document of a managed policy version.
    pub async fn policy_document(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| classify("iam:GetPolicyVersion", &e))?;
        Ok(out
            .policy_version
            .and_then(|v| v.document)
            .map(|d| url_decode(&d)))
    }

    /// The members of a group, one page.
    pub async fn group_members(
        &self,
        group_name: &str,
        marker: &str,
    ) -> Result<IamPage<User>, AwsError> {
        let out = self
            .client
            .get_group()
            .group_name(group_name)
            .set_marker(opt(marker))
            .send()
            .await
            .map_err(|e| classify("iam:GetGroup", &e))?;
        Ok((out.users, next(out.is_truncated, out.marker)))
    }

    /// The managed policies attached to an entity, one page.
    pub async fn attached_policies(
        &self,
        entity: Entity,
        name: &str,
        marker: &str,
    ) -> Result<IamPage<AttachedPolicy>, AwsError> {
        let (policies, truncated, next_marker) = match entity {
            Entity::User => {
                let out = self
                    .client
                    .list_attached_user_policies()
                    .user_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListAttachedUserPolicies", &e))?;
                (out.attached_policies, out.is_truncated, out.marker)
            }
            Entity::Role => {
                let out = self
                    .client
                    .list_attached_role_policies()
                    .role_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListAttachedRolePolicies", &e))?;
                (out.attached_policies, out.is_truncated, out.marker)
            }
            Entity::Group => {
                let out = self
                    .client
                    .list_attached_group_policies()
                    .group_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListAttachedGroupPolicies", &e))?;
                (out.attached_policies, out.is_truncated, out.marker)
            }
        };
        Ok((policies.unwrap_or_default(), next(truncated, next_marker)))
    }

    /// The names of an entity's inline policies, one page.
    pub async fn inline_policy_names(
        &self,
        entity: Entity,
        name: &str,
        marker: &str,
    ) -> Result<IamPage<String>, AwsError> {
        let (names, truncated, next_marker) = match entity {
            Entity::User => {
                let out = self
                    .client
                    .list_user_policies()
                    .user_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListUserPolicies", &e))?;
                (out.policy_names, out.is_truncated, out.marker)
            }
            Entity::Role => {
                let out = self
                    .client
                    .list_role_policies()
                    .role_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListRolePolicies", &e))?;
                (out.policy_names, out.is_truncated, out.marker)
            }
            Entity::Group => {
                let out = self
                    .client
                    .list_group_policies()
                    .group_name(name)
                    .set_marker(opt(marker))
                    .send()
                    .await
                    .map_err(|e| classify("iam:ListGroupPolicies", &e))?;
                (out.policy_names, out.is_truncated, out.marker)
            }
        };
        Ok((names, next(truncated, next_marker)))
    }

    /// The URL-decoded document of an inline policy.
    pub async fn inline_policy_document(
        &self,
        entity: Entity,
        name: &str,
        policy: &str,
    ) -> Result<String, AwsError> {
        let document = match entity {
            Entity::User => {
                self.client
                    .get_user_policy()
                    .user_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| classify("iam:GetUserPolicy", &e))?
                    .policy_document
            }
            Entity::Role => {
                self.client
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| classify("iam:GetRolePolicy", &e))?
                    .policy_document
            }
            Entity::Group => {
                self.client
                    .get_group_policy()
                    .group_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(|e| classify("iam:GetGroupPolicy", &e))?
                    .policy_document
            }
        };
        Ok(url_decode(&document))
    }

    /// A role's URL-decoded trust policy.
    pub async fn role_trust_policy(&self, role_name: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| classify("iam:GetRole", &e))?;
        Ok(out
            .role
            .and_then(|r| r.assume_role_policy_document)
            .map(|d| url_decode(&d)))
    }

    /// A user's access keys (first page, as the Go connector reads them).
    pub async fn access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyMetadata>, AwsError> {
        let out = self
            .client
            .list_access_keys()
            .user_name(user_name)
            .send()
            .await
            .map_err(|e| classify("iam:ListAccessKeys", &e))?;
        Ok(out.access_key_metadata)
    }

    /// When an access key was last used, if AWS knows.
    pub async fn access_key_last_used(&self, key_id: &str) -> Result<Option<DateTime>, AwsError> {
        let out = self
            .client
            .get_access_key_last_used()
            .access_key_id(key_id)
            .send()
            .await
            .map_err(|e| classify("iam:GetAccessKeyLastUsed", &e))?;
        Ok(out.access_key_last_used.and_then(|u| u.last_used_date))
    }
}

/// Decodes the URL encoding IAM applies to policy documents. A document that
/// is not URL-encoded comes back unchanged.
pub fn url_decode(text: &str) -> String {
    // RFC 3986 percent-encoding, as IAM documents: a `+` is a literal plus
    // (IAM names may contain one), never a space.
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The last path segment of an IAM ARN: the entity name.
pub fn name_from_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn url_decode_keeps_a_literal_plus() {
        assert_eq!(
            url_decode("%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A1%3Auser%2Fa%2Bb%22%7D"),
            r#"{"AWS":"arn:aws:iam::1:user/a+b"}"#
        );
        assert_eq!(url_decode("user/a+b=c,d.e@f-g"), "user/a+b=c,d.e@f-g");
        assert_eq!(url_decode("%7B%20%7D"), "{ }");
    }
}
