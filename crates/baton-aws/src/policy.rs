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
    /// The principal that assumes the baton-aws role (an account root or role ARN).
    #[arg(long, default_value = "arn:aws:iam::111122223333:root")]
    pub trusted_principal: String,
    /// The external id the trust policy requires (32-64 characters).
    #[arg(long, default_value = "")]
    pub external_id: String,
}

fn is_read(action: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or("");
    ["List", "Get", "Describe"].iter().any(|p| name.starts_with(p))
}

/// Builds the permissions policy and the trust policy as JSON documents.
pub fn documents(args: &PolicyArgs) -> Value {
    let orgs = args.orgs || args.sso || args.cross_account;
    let mut types = vec![rt::IAM_USER, rt::ROLE, rt::GROUP, rt::IAM_POLICY, rt::INLINE_POLICY];
    if args.sso {
        types.extend([rt::SSO_USER, rt::SSO_GROUP, rt::ACCOUNT, rt::PERMISSION_SET, rt::PERMISSION_SET_ASSIGNMENT]);
    }
    if orgs {
        types.extend([rt::ORGANIZATION, rt::ORGANIZATIONAL_UNIT, rt::ACCOUNT_IAM]);
    }
    if args.sync_secrets {
        types.push(rt::ACCESS_KEY);
    }
    let mut actions: BTreeSet<String> = BTreeSet::new();
    for id in &types {
        let declared = any::find::<CapabilityPermissions>(&rt::definition(id).annotations).unwrap_or_default();
        for permission in declared.permissions {
            if args.provisioning || is_read(&permission.permission) {
                actions.insert(permission.permission);
            }
        }
    }
    actions.extend(["sts:GetCallerIdentity", "iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetCredentialReport"].map(String::from));
    if orgs {
        actions.extend(["organizations:DescribeOrganization", "organizations:ListAccounts", "organizations:ListParents"].map(String::from));
    }
    if args.sso {
        // For --sync-sso-user-last-login.
        actions.insert("cloudtrail:LookupEvents".into());
    }
    if args.sso && args.provisioning {
        actions.extend(["identitystore:GetUserId", "identitystore:DescribeUser", "organizations:DescribeAccount"].map(String::from));
    }
    if !args.provisioning {
        // Write permissions never belong in a read-only policy.
        actions.retain(|a| is_read(a) || a.ends_with("GenerateCredentialReport"));
    }
    let mut statements = vec![json!({"Sid": "BatonAwsRead", "Effect": "Allow", "Action": actions.iter().collect::<Vec<_>>(), "Resource": "*"})];
    if args.cross_account {
        statements.push(json!({
            "Sid": "BatonAwsMemberAccounts",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": format!("arn:aws:iam::*:role/{}", args.member_role_name),
        }));
    }
    let mut trust = json!({
        "Effect": "Allow",
        "Principal": {"AWS": args.trusted_principal},
        "Action": "sts:AssumeRole",
    });
    if !args.external_id.is_empty() {
        trust["Condition"] = json!({"StringEquals": {"sts:ExternalId": args.external_id}});
    }
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
        doc["permissions_policy"]["Statement"][0]["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn read_only_has_no_writes() {
        let doc = documents(&args(false, true));
        let list = actions(&doc);
        assert!(list.contains(&"iam:ListUsers".to_string()) && list.contains(&"identitystore:ListGroupMemberships".to_string()));
        for action in &list {
            let name = action.split(':').nth(1).unwrap();
            assert!(["List", "Get", "Describe", "GenerateCredentialReport"].iter().any(|p| name.starts_with(p)), "{action} is not read-only");
        }
        assert_eq!(doc["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "x".repeat(32));
    }

    #[test]
    fn provisioning_adds_writes() {
        let list = actions(&documents(&args(true, true)));
        for needed in ["iam:AddUserToGroup", "sso:CreateAccountAssignment", "identitystore:CreateGroupMembership", "iam:DeleteUser"] {
            assert!(list.contains(&needed.to_string()), "{needed}");
        }
    }
}
