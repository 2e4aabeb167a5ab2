//! The least-privilege IAM policy baton-aws needs, for the `iam-policy`
//! subcommand, built from the permissions each resource type declares.

use std::collections::BTreeSet;

use c1z::any;
use c1z::v2::CapabilityPermissions;
use clap::Args;
use serde_json::{json, Value};

use crate::resource_types as rt;

/// The features to write a policy for.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Include the permissions of provisioning (grant, revoke, create and delete users).
    #[arg(long)]
    pub provisioning: bool,
    /// Include AWS Organizations.
    #[arg(long)]
    pub orgs: bool,
    /// Include IAM Identity Center (implies --orgs).
    #[arg(long)]
    pub sso: bool,
    /// Include member-account IAM: allow assuming --member-role-name in every account.
    #[arg(long)]
    pub cross_account: bool,
    /// Include access keys.
    #[arg(long)]
    pub sync_secrets: bool,
    /// The role assumed in member accounts.
    #[arg(long, default_value = "OrganizationAccountAccessRole")]
    pub member_role_name: String,
    /// The principal that assumes the baton-aws role: an account root (arn:aws:iam::<account>:root) or a role or user ARN.
    #[arg(long)]
    pub trusted_principal: String,
    /// The external id the trust policy requires (32-64 characters).
    #[arg(long)]
    pub external_id: String,
}

impl PolicyArgs {
    /// Checks the trusted principal and the external id.
    pub fn validate(&self) -> Result<(), String> {
        let arn = crate::config::Arn::parse(&self.trusted_principal)
            .map_err(|e| format!("--trusted-principal: {e}"))?;
        let account_ok = arn.account.len() == 12 && arn.account.chars().all(|c| c.is_ascii_digit());
        let resource_ok = arn.resource == "root"
            || arn.resource.starts_with("role/")
            || arn.resource.starts_with("user/");
        if arn.service != "iam" || !account_ok || !resource_ok {
            return Err(format!(
                "--trusted-principal {:?}: expected arn:aws:iam::<12-digit account>:root, or a role or user ARN",
                self.trusted_principal
            ));
        }
        if !(32..=64).contains(&self.external_id.len()) {
            return Err(format!(
                "--external-id must be 32 to 64 characters, but it has {}",
                self.external_id.len()
            ));
        }
        Ok(())
    }
}

fn is_read(action: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or("");
    ["List", "Get", "Describe"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Builds the permissions policy and the trust policy as JSON documents.
pub fn documents(args: &PolicyArgs) -> Value {
    let orgs = args.orgs || args.sso || args.cross_account;
    let mut types = vec![
        rt::IAM_USER,
        rt::ROLE,
        rt::GROUP,
        rt::IAM_POLICY,
        rt::INLINE_POLICY,
    ];
    if args.sso {
        types.extend([
            rt::SSO_USER,
            rt::SSO_GROUP,
            rt::ACCOUNT,
            rt::PERMISSION_SET,
            rt::PERMISSION_SET_ASSIGNMENT,
        ]);
    }
    if orgs {
        types.extend([rt::ORGANIZATION, rt::ORGANIZATIONAL_UNIT, rt::ACCOUNT_IAM]);
    }
    if args.sync_secrets {
        types.push(rt::ACCESS_KEY);
    }
    let mut actions: BTreeSet<String> = BTreeSet::new();
    for id in &types {
        let declared =
            any::find::<CapabilityPermissions>(&rt::definition(id).annotations).unwrap_or_default();
        for permission in declared.permissions {
            if args.provisioning || is_read(&permission.permission) {
                actions.insert(permission.permission);
            }
        }
    }
    actions.extend(
        [
            "sts:GetCallerIdentity",
            "iam:GetAccountAuthorizationDetails",
            "iam:GenerateCredentialReport",
            "iam:GetCredentialReport",
        ]
        .map(String::from),
    );
    if orgs {
        actions.extend(
            [
                "organizations:DescribeOrganization",
                "organizations:ListAccounts",
                "organizations:ListParents",
            ]
            .map(String::from),
        );
    }
    if args.sso {
        // For --sync-sso-user-last-login.
        actions.insert("cloudtrail:LookupEvents".into());
    }
    if args.sso && args.provisioning {
        actions.extend(
            [
                "identitystore:GetUserId",
                "identitystore:DescribeUser",
                "organizations:DescribeAccount",
            ]
            .map(String::from),
        );
    }
    if !args.provisioning {
        // Write permissions never belong in a read-only policy.
        actions.retain(|a| is_read(a) || a.ends_with("GenerateCredentialReport"));
    }
    let (reads, writes): (Vec<&String>, Vec<&String>) = actions
        .iter()
        .partition(|a| is_read(a) || a.ends_with("GenerateCredentialReport"));
    let mut statements =
        vec![json!({"Sid": "BatonAwsRead", "Effect": "Allow", "Action": reads, "Resource": "*"})];
    if !writes.is_empty() {
        statements.push(json!({"Sid": "BatonAwsProvision", "Effect": "Allow", "Action": writes, "Resource": "*"}));
    }
    if args.cross_account {
        statements.push(json!({
            "Sid": "BatonAwsMemberAccounts",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": format!("arn:aws:iam::*:role/{}", args.member_role_name),
        }));
    }
    let trust = json!({
        "Effect": "Allow",
        "Principal": {"AWS": args.trusted_principal},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": args.external_id}},
    });
    json!({
        "permissions_policy": {"Version": "2012-10-17", "Statement": statements},
        "trust_policy": {"Version": "2012-10-17", "Statement": [trust]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(provisioning: bool, sso: bool) -> PolicyArgs {
        PolicyArgs {
            provisioning,
            orgs: false,
            sso,
            cross_account: false,
            sync_secrets: false,
            member_role_name: "OrganizationAccountAccessRole".into(),
            trusted_principal: "arn:aws:iam::111122223333:root".into(),
            external_id: "x".repeat(32),
        }
    }

    fn actions(doc: &Value) -> Vec<String> {
        doc["permissions_policy"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Action"].is_array())
            .flat_map(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn rejects_bad_principal_and_external_id() {
        let mut a = args(false, false);
        assert!(a.validate().is_ok());
        a.trusted_principal = "bob".into();
        assert!(a.validate().unwrap_err().contains("bob"));
        a.trusted_principal = "arn:aws:iam::111122223333:root".into();
        a.external_id = "abc".into();
        assert!(a.validate().unwrap_err().contains("it has 3"));
    }

    #[test]
    fn read_only_has_no_writes() {
        let doc = documents(&args(false, true));
        let list = actions(&doc);
        assert!(
            list.contains(&"iam:ListUsers".to_string())
                && list.contains(&"identitystore:ListGroupMemberships".to_string())
        );
        for action in &list {
            let name = action.split(':').nth(1).unwrap();
            assert!(
                ["List", "Get", "Describe", "GenerateCredentialReport"]
                    .iter()
                    .any(|p| name.starts_with(p)),
                "{action} is not read-only"
            );
        }
        assert_eq!(
            doc["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            "x".repeat(32)
        );
    }

    #[test]
    fn provisioning_adds_writes() {
        let list = actions(&documents(&args(true, true)));
        for needed in [
            "iam:AddUserToGroup",
            "sso:CreateAccountAssignment",
            "identitystore:CreateGroupMembership",
            "iam:DeleteUser",
        ] {
            assert!(list.contains(&needed.to_string()), "{needed}");
        }
    }
}
