//! Per-account snapshots that answer many IAM questions from a few calls.
//!
//! [`AuthorizationDetails`] comes from one paged walk of
//! `iam:GetAccountAuthorizationDetails`: for every user, group and role its
//! attached managed policies and inline policies (with documents), every
//! user's groups (so every group's members), every role's trust policy, and
//! the default version of every customer managed policy. [`CredentialReport`]
//! comes from `iam:GenerateCredentialReport` and `iam:GetCredentialReport`:
//! when each user's access keys were last used.
//!
//! Both are read once per account and sync, on first use. Documents are kept
//! URL-decoded, as the per-entity reads return them.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, ReportStateType};
use aws_sdk_iam::Client;
use tracing::debug;

use crate::client::{classify, AwsError};
use crate::iam::url_decode;

/// Items asked for per `GetAccountAuthorizationDetails` page (the AWS maximum).
const DETAILS_PAGE_SIZE: i32 = 1000;

/// How long to wait for AWS to finish generating a credential report.
const REPORT_WAIT: Duration = Duration::from_secs(60);

/// The attached and inline policies of one user, group or role.
#[derive(Debug, Default, Clone)]
pub struct EntityPolicies {
    /// Attached managed policies as (ARN, name).
    pub attached: Vec<(String, String)>,
    /// Inline policies as (name, URL-decoded document).
    pub inline: Vec<(String, Option<String>)>,
}

/// What one walk of `iam:GetAccountAuthorizationDetails` returned for an account.
#[derive(Debug, Default)]
pub struct AuthorizationDetails {
    /// Users by user name.
    pub users: HashMap<String, EntityPolicies>,
    /// Groups by group name.
    pub groups: HashMap<String, EntityPolicies>,
    /// Roles by role name.
    pub roles: HashMap<String, EntityPolicies>,
    /// URL-decoded trust policies by role name.
    pub trust_policies: HashMap<String, Option<String>>,
    /// Member user ARNs by group name.
    pub group_members: HashMap<String, Vec<String>>,
    /// Customer managed policies by ARN: the default version id and its URL-decoded document.
    pub policy_documents: HashMap<String, (String, Option<String>)>,
}

fn attached(list: Option<Vec<AttachedPolicy>>) -> Vec<(String, String)> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.policy_arn?, p.policy_name.unwrap_or_default())))
        .collect()
}

fn inline(list: Option<Vec<PolicyDetail>>) -> Vec<(String, Option<String>)> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.policy_name?, p.policy_document.as_deref().map(url_decode))))
        .collect()
}

impl AuthorizationDetails {
    /// Reads every page of `iam:GetAccountAuthorizationDetails` for users,
    /// groups, roles and customer managed policies.
    pub async fn fetch(client: &Client) -> Result<Self, AwsError> {
        let mut details = AuthorizationDetails::default();
        let mut marker: Option<String> = None;
        let mut pages = 0usize;
        let mut seen = std::collections::HashSet::new();
        loop {
            let out = client
                .get_account_authorization_details()
                .set_filter(Some(vec![
                    EntityType::User,
                    EntityType::Group,
                    EntityType::Role,
                    EntityType::LocalManagedPolicy,
                ]))
                .max_items(DETAILS_PAGE_SIZE)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify("iam:GetAccountAuthorizationDetails", &e))?;
            pages += 1;
            for user in out.user_detail_list.unwrap_or_default() {
                let (Some(name), Some(arn)) = (user.user_name, user.arn) else {
                    continue;
                };
                for group in user.group_list.unwrap_or_default() {
                    details
                        .group_members
                        .entry(group)
                        .or_default()
                        .push(arn.clone());
                }
                let policies = EntityPolicies {
                    attached: attached(user.attached_managed_policies),
                    inline: inline(user.user_policy_list),
                };
                details.users.insert(name, policies);
            }
            for group in out.group_detail_list.unwrap_or_default() {
                let Some(name) = group.group_name else {
                    continue;
                };
                details.group_members.entry(name.clone()).or_default();
                let policies = EntityPolicies {
                    attached: attached(group.attached_managed_policies),
                    inline: inline(group.group_policy_list),
                };
                details.groups.insert(name, policies);
            }
            for role in out.role_detail_list.unwrap_or_default() {
                let Some(name) = role.role_name else { continue };
                details.trust_policies.insert(
                    name.clone(),
                    role.assume_role_policy_document.as_deref().map(url_decode),
                );
                let policies = EntityPolicies {
                    attached: attached(role.attached_managed_policies),
                    inline: inline(role.role_policy_list),
                };
                details.roles.insert(name, policies);
            }
            for policy in out.policies.unwrap_or_default() {
                let (Some(arn), Some(default_version)) = (policy.arn, policy.default_version_id)
                else {
                    continue;
                };
                let document = policy
                    .policy_version_list
                    .unwrap_or_default()
                    .into_iter()
                    .find(|v| {
                        v.is_default_version
                            || v.version_id.as_deref() == Some(default_version.as_str())
                    })
                    .and_then(|v| v.document)
                    .map(|d| url_decode(&d));
                details
                    .policy_documents
                    .insert(arn, (default_version, document));
            }
            match out.marker.filter(|m| out.is_truncated && !m.is_empty()) {
                Some(next) if seen.insert(next.clone()) => marker = Some(next),
                Some(next) => {
                    return Err(crate::client::repeated_token_error(
                        "iam:GetAccountAuthorizationDetails",
                        &next,
                    ))
                }
                None => break,
            }
        }
        debug!(
            pages,
            users = details.users.len(),
            groups = details.groups.len(),
            roles = details.roles.len(),
            policies = details.policy_documents.len(),
            "read the account authorization details"
        );
        Ok(details)
    }

    /// The policies of one entity, if the snapshot has it.
    pub fn policies(&self, entity: crate::iam::Entity, name: &str) -> Option<&EntityPolicies> {
        match entity {
            crate::iam::Entity::User => self.users.get(name),
            crate::iam::Entity::Group => self.groups.get(name),
            crate::iam::Entity::Role => self.roles.get(name),
        }
    }
}

/// One user's row of the credential report: when each access key was last used.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CredentialFacts {
    /// Last use of access keys 1 and 2, as (seconds, nanoseconds) since the Unix epoch.
    pub access_keys_last_used: Vec<(i64, u32)>,
    /// Whether the user has a console password (a login profile), when the report includes it.
    pub console_access: Option<bool>,
    /// Whether the user has an MFA device, when the report includes it.
    pub mfa_active: Option<bool>,
}

/// The IAM credential report of an account, by user ARN.
#[derive(Debug, Default)]
pub struct CredentialReport {
    pub users: HashMap<String, CredentialFacts>,
}

impl CredentialReport {
    /// Asks IAM for a credential report and reads it, waiting while AWS generates it.
    ///
    /// NOTE: AWS hands out a report generated up to four hours earlier, so
    /// access-key use within those hours may be missing.
    pub async fn fetch(client: &Client) -> Result<Self, AwsError> {
        let started = tokio::time::Instant::now();
        let mut wait = Duration::from_millis(500);
        loop {
            let state = client
                .generate_credential_report()
                .send()
                .await
                .map_err(|e| classify("iam:GenerateCredentialReport", &e))?
                .state;
            if state == Some(ReportStateType::Complete) || state == Some(ReportStateType::Started) {
                match client.get_credential_report().send().await {
                    Ok(out) => {
                        let content = out.content.map(|b| b.into_inner()).unwrap_or_default();
                        return Ok(Self::parse(&String::from_utf8_lossy(&content)));
                    }
                    Err(e) => {
                        let err = classify("iam:GetCredentialReport", &e);
                        let pending = matches!(
                            err.code.as_str(),
                            "ReportInProgress" | "ReportNotPresent" | "ReportExpired"
                        );
                        if !pending {
                            return Err(err);
                        }
                    }
                }
            }
            if started.elapsed() > REPORT_WAIT {
                return Err(AwsError {
                    operation: "iam:GetCredentialReport",
                    code: "ReportInProgress".into(),
                    message: format!(
                        "the credential report was not ready after {} s",
                        REPORT_WAIT.as_secs()
                    ),
                    kind: baton_sdk::ErrorKind::Unavailable,
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// Parses the CSV of a credential report. User names may contain commas,
    /// which AWS does not quote: the name and the ARN then span the extra fields.
    pub fn parse(csv: &str) -> Self {
        let mut lines = csv.lines();
        let Some(header) = lines.next() else {
            return CredentialReport::default();
        };
        let columns: Vec<&str> = header.split(',').collect();
        let column = |name: &str| columns.iter().position(|c| *c == name);
        let key_columns: Vec<usize> =
            ["access_key_1_last_used_date", "access_key_2_last_used_date"]
                .iter()
                .filter_map(|c| column(c))
                .collect();
        let mut users = HashMap::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            let extra = fields.len().saturating_sub(columns.len());
            if !extra.is_multiple_of(2) || fields.len() < columns.len() {
                continue;
            }
            let commas = extra / 2;
            let arn = fields[commas + 1..=2 * commas + 1].join(",");
            let field = |index: usize| fields.get(index + extra).copied().unwrap_or("");
            let access_keys_last_used = key_columns
                .iter()
                .filter_map(|&i| parse_time(field(i)))
                .collect();
            let flag = |name: &str| match column(name).map(field) {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            // The root account's row reports password_enabled as not_supported.
            users.insert(
                arn,
                CredentialFacts {
                    access_keys_last_used,
                    console_access: flag("password_enabled"),
                    mfa_active: flag("mfa_active"),
                },
            );
        }
        CredentialReport { users }
    }
}

/// Parses a report timestamp; `N/A`, `no_information` and `not_supported` mean none.
fn parse_time(text: &str) -> Option<(i64, u32)> {
    let parsed =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    Some((parsed.unix_timestamp(), parsed.nanosecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    #[test]
    fn report_rows_give_key_use() {
        let csv = format!(
            "{HEADER}\n\
             alice,arn:aws:iam::1:user/alice,2024-01-01T00:00:00+00:00,true,2024-02-01T00:00:00+00:00,N/A,N/A,false,true,2024-01-01T00:00:00+00:00,2024-03-01T10:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
             bob,arn:aws:iam::1:user/bob,2024-01-01T00:00:00+00:00,false,not_supported,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let report = CredentialReport::parse(&csv);
        assert_eq!(report.users.len(), 2);
        assert_eq!(
            report.users["arn:aws:iam::1:user/alice"].access_keys_last_used,
            vec![(1709287200, 0)]
        );
        assert!(report.users["arn:aws:iam::1:user/bob"]
            .access_keys_last_used
            .is_empty());
    }

    #[test]
    fn report_user_names_with_commas() {
        let csv = format!(
            "{HEADER}\n\
             a,b,arn:aws:iam::1:user/a,b,2024-01-01T00:00:00+00:00,false,not_supported,N/A,N/A,false,true,N/A,N/A,N/A,N/A,true,N/A,2024-03-02T00:00:00+00:00,N/A,N/A,false,N/A,false,N/A\n"
        );
        let report = CredentialReport::parse(&csv);
        assert_eq!(
            report.users["arn:aws:iam::1:user/a,b"].access_keys_last_used,
            vec![(1709337600, 0)]
        );
    }
}
