//! A small invented IAM account, seeded through the AWS SDK.
//!
//! Users: alice, bob@example.com (path /eng/), carol, svc-deploy (path
//! /service/), plus `extra_users` more. Groups: Admins (carol), teams/Engineers
//! (alice, bob) and Empty. Managed policies ReadS3 and AdminAll. Roles:
//! DeployRole (trusts alice and OpsRole), OpsRole (trusts Lambda),
//! CrossRole (trusts a foreign account). Inline policies on alice, Engineers
//! and DeployRole. One access key for alice.

use aws_sdk_iam::Client;

pub const ACCOUNT: &str = "123456789012";

pub fn arn(kind: &str, path_and_name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{path_and_name}")
}

const READ_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;
const ADMIN_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub async fn seed_iam(endpoint: &str, extra_users: usize) {
    let config = super::moto::sdk_config(endpoint).await;
    let iam = Client::new(&config);
    for (name, path) in [("alice", "/"), ("bob@example.com", "/eng/"), ("carol", "/"), ("svc-deploy", "/service/")] {
        iam.create_user().user_name(name).path(path).send().await.expect("create user");
    }
    for i in 0..extra_users {
        iam.create_user().user_name(format!("user{i:03}")).send().await.expect("create extra user");
    }
    for (name, path) in [("Admins", "/"), ("Engineers", "/teams/"), ("Empty", "/")] {
        iam.create_group().group_name(name).path(path).send().await.expect("create group");
    }
    for (group, user) in [("Admins", "carol"), ("Engineers", "alice"), ("Engineers", "bob@example.com")] {
        iam.add_user_to_group().group_name(group).user_name(user).send().await.expect("add to group");
    }
    for (name, document) in [("ReadS3", READ_S3), ("AdminAll", ADMIN_ALL)] {
        iam.create_policy().policy_name(name).policy_document(document).send().await.expect("create policy");
    }
    let read_s3 = format!("arn:aws:iam::{ACCOUNT}:policy/ReadS3");
    let admin_all = format!("arn:aws:iam::{ACCOUNT}:policy/AdminAll");

    let deploy_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{}","{}"]}},"Action":"sts:AssumeRole"}}]}}"#,
        arn("user", "alice"),
        arn("role", "OpsRole")
    );
    let ops_trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    let cross_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#;
    for (name, trust, description) in [
        ("DeployRole", deploy_trust.as_str(), Some("Deploys the app")),
        ("OpsRole", ops_trust, None),
        ("CrossRole", cross_trust, Some("Vendor access")),
    ] {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .set_description(description.map(str::to_string))
            .send()
            .await
            .expect("create role");
    }

    iam.attach_user_policy().user_name("bob@example.com").policy_arn(&read_s3).send().await.expect("attach user");
    iam.attach_group_policy().group_name("Engineers").policy_arn(&read_s3).send().await.expect("attach group");
    iam.attach_group_policy().group_name("Admins").policy_arn(&admin_all).send().await.expect("attach group");
    iam.attach_role_policy().role_name("DeployRole").policy_arn(&read_s3).send().await.expect("attach role");

    iam.put_user_policy().user_name("alice").policy_name("alice-inline").policy_document(READ_S3).send().await.expect("inline");
    iam.put_group_policy().group_name("Engineers").policy_name("eng-inline").policy_document(READ_S3).send().await.expect("inline");
    iam.put_role_policy().role_name("DeployRole").policy_name("deploy-inline").policy_document(ADMIN_ALL).send().await.expect("inline");
    iam.create_access_key().user_name("alice").send().await.expect("access key");
}
