//! One-shot provisioning against moto: each grant, revoke, create and
//! delete, checked through the AWS API, with the repeats that must succeed
//! and say nothing changed, and the failures AWS can answer with.

mod support;

use std::collections::HashMap;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::moto::{sdk_config, Moto};
use support::proxy::Proxy;
use support::seed::{arn, seed_iam, seed_org};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

const ORG: &[&str] = &["--global-aws-orgs-enabled", "--global-aws-sso-enabled"];

fn stdout(run: &Output) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn run(endpoint: &str, file: &std::path::Path, audit: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "-f",
        file.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_baton_aws(
        endpoint,
        &args,
        &[("BATON_ASSIGNMENT_POLL_INTERVAL_MS", "50")],
    )
}

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn iam_grants_revokes_and_repeats() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&moto.endpoint()).await);
    let (dir, file) = temp_c1z("iam.c1z");
    let audit = dir.path().join("audit.jsonl");
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", file.to_str().unwrap()],
        &[],
    ));
    let (alice, admins, deploy) = (
        arn("user", "alice"),
        arn("group", "Admins"),
        arn("role", "DeployRole"),
    );

    // Group membership, granted twice.
    let member = format!("group:{admins}:member");
    let grant = [
        "--grant-entitlement",
        member.as_str(),
        "--grant-principal",
        alice.as_str(),
        "--grant-principal-type",
        "iam_user",
    ];
    let first = run(&moto.endpoint(), &file, &audit, &grant);
    assert_success(&first);
    assert!(stdout(&first).starts_with("granted"), "{}", stdout(&first));
    let groups = iam
        .list_groups_for_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(groups.iter().any(|g| g.group_name == "Admins"));
    let again = run(&moto.endpoint(), &file, &audit, &grant);
    assert_success(&again);
    assert!(stdout(&again).contains("already has"), "{}", stdout(&again));

    // A managed policy attached to a role, then detached by grant id after a sync.
    let admin_all = format!("arn:aws:iam::123456789012:policy/AdminAll");
    let attached = format!("iam_policy:{admin_all}:attached");
    assert_success(&run(
        &moto.endpoint(),
        &file,
        &audit,
        &[
            "--grant-entitlement",
            &attached,
            "--grant-principal",
            &deploy,
            "--grant-principal-type",
            "role",
        ],
    ));
    let policies = iam
        .list_attached_role_policies()
        .role_name("DeployRole")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert!(policies
        .iter()
        .any(|p| p.policy_arn.as_deref() == Some(admin_all.as_str())));
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", file.to_str().unwrap()],
        &[],
    ));
    let grant_id = format!("{attached}:role:{deploy}");
    let revoked = run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", &grant_id],
    );
    assert_success(&revoked);
    let policies = iam
        .list_attached_role_policies()
        .role_name("DeployRole")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap();
    assert!(!policies
        .iter()
        .any(|p| p.policy_arn.as_deref() == Some(admin_all.as_str())));
    let again = run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", &grant_id],
    );
    assert_success(&again);
    assert!(
        stdout(&again).contains("already revoked"),
        "{}",
        stdout(&again)
    );

    // Group membership revoked by id.
    let membership = format!("group:{admins}:member:iam_user:{alice}");
    assert_success(&run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", &membership],
    ));
    let groups = iam
        .list_groups_for_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(!groups.iter().any(|g| g.group_name == "Admins"));

    // Inline policies can be revoked (deleted), never granted.
    let inline_grant =
        format!("inline_policy:{alice}::inline::alice-inline:attached:iam_user:{alice}");
    assert_success(&run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", &inline_grant],
    ));
    assert!(iam
        .get_user_policy()
        .user_name("alice")
        .policy_name("alice-inline")
        .send()
        .await
        .is_err());
    let again = run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", &inline_grant],
    );
    assert!(
        stdout(&again).contains("already revoked"),
        "{}",
        stderr(&again)
    );
    let inline_ent = format!("inline_policy:{alice}::inline::alice-inline:attached");
    let refused = run(
        &moto.endpoint(),
        &file,
        &audit,
        &[
            "--grant-entitlement",
            &inline_ent,
            "--grant-principal",
            &alice,
            "--grant-principal-type",
            "iam_user",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("cannot be created by provisioning"),
        "{}",
        stderr(&refused)
    );

    // Every action is in the audit log, with its outcome.
    let lines = audit_lines(&audit);
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "granted",
            "already_granted",
            "granted",
            "revoked",
            "already_revoked",
            "revoked",
            "revoked",
            "already_revoked",
            "failed"
        ]
    );
    assert_eq!(lines[0]["action"], "grant");
    assert_eq!(lines[0]["entitlement"], member.as_str());
    assert_eq!(lines[0]["principal"], format!("iam_user:{alice}"));
    assert!(
        !lines[0]["request_ids"].as_array().unwrap().is_empty(),
        "the AWS request id is recorded"
    );
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn iam_user_create_and_delete() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&moto.endpoint()).await);
    let (dir, file) = temp_c1z("users.c1z");
    let audit = dir.path().join("audit.jsonl");

    let create = [
        "--create-account-login",
        "dana",
        "--create-account-email",
        "dana@example.com",
    ];
    let created = run(&moto.endpoint(), &file, &audit, &create);
    assert_success(&created);
    assert!(
        stdout(&created).contains("created iam_user:arn:aws:iam::123456789012:user/dana"),
        "{}",
        stdout(&created)
    );
    let user = iam
        .get_user()
        .user_name("dana")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(user.tags.unwrap()[0].value, "dana@example.com");
    let again = run(&moto.endpoint(), &file, &audit, &create);
    assert!(
        stdout(&again).contains("already exists"),
        "{}",
        stdout(&again)
    );
    let missing_email = run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--create-account-login", "erin"],
    );
    assert!(!missing_email.status.success());
    assert!(
        stderr(&missing_email).contains("needs an email"),
        "{}",
        stderr(&missing_email)
    );

    // Deleting a user with credentials, memberships and policies removes them first.
    iam.create_login_profile()
        .user_name("alice")
        .password("Passw0rd!Passw0rd")
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn("arn:aws:iam::123456789012:policy/AdminAll")
        .send()
        .await
        .unwrap();
    let alice = arn("user", "alice");
    let delete = [
        "--delete-resource",
        alice.as_str(),
        "--delete-resource-type",
        "iam_user",
    ];
    let deleted = run(&moto.endpoint(), &file, &audit, &delete);
    assert_success(&deleted);
    assert!(
        iam.get_user().user_name("alice").send().await.is_err(),
        "alice is gone"
    );
    let groups = iam
        .get_group()
        .group_name("Engineers")
        .send()
        .await
        .unwrap()
        .users;
    assert!(
        !groups.iter().any(|u| u.user_name == "alice"),
        "and no longer listed by her group"
    );
    let again = run(&moto.endpoint(), &file, &audit, &delete);
    assert!(
        stdout(&again).contains("does not exist"),
        "{}",
        stdout(&again)
    );
    let outcomes: Vec<String> = audit_lines(&audit)
        .iter()
        .map(|l| l["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "created",
            "already_exists",
            "failed",
            "deleted",
            "did_not_exist"
        ]
    );
}

#[tokio::test]
async fn iam_errors_are_final_or_retried() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (dir, file) = temp_c1z("errors.c1z");
    let audit = dir.path().join("audit.jsonl");
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", file.to_str().unwrap()],
        &[],
    ));
    let (alice, admins) = (arn("user", "alice"), arn("group", "Admins"));
    let member = format!("group:{admins}:member");
    let grant = [
        "--grant-entitlement",
        member.as_str(),
        "--grant-principal",
        alice.as_str(),
        "--grant-principal-type",
        "iam_user",
    ];

    let proxy = Proxy::start(moto.port);
    proxy.fault("AddUserToGroup", 409, "LimitExceeded", None);
    let quota = run(&proxy.endpoint(), &file, &audit, &grant);
    assert!(!quota.status.success());
    let log = stderr(&quota);
    assert!(log.contains("quota"), "{log}");
    assert!(
        log.contains(&alice),
        "the message names the principal: {log}"
    );
    assert!(
        log.contains(&member),
        "the message names the entitlement: {log}"
    );
    assert_eq!(
        proxy.count("AddUserToGroup"),
        1,
        "a quota is final, not retried"
    );

    let proxy = Proxy::start(moto.port);
    proxy.fault("AddUserToGroup", 403, "AccessDenied", None);
    let denied = run(&proxy.endpoint(), &file, &audit, &grant);
    assert!(!denied.status.success());
    assert!(
        stderr(&denied).contains("AWS denied iam:AddUserToGroup"),
        "{}",
        stderr(&denied)
    );

    let proxy = Proxy::start(moto.port);
    proxy.fault("AddUserToGroup", 400, "Throttling", Some(2));
    let throttled = run(&proxy.endpoint(), &file, &audit, &grant);
    assert_success(&throttled);
    assert!(
        proxy.count("AddUserToGroup") >= 3,
        "throttled calls are retried"
    );

    let unknown = run(
        &moto.endpoint(),
        &file,
        &audit,
        &["--revoke-grant", "no-such-grant"],
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no-such-grant"),
        "{}",
        stderr(&unknown)
    );
    assert!(
        stderr(&unknown).contains("sync first"),
        "{}",
        stderr(&unknown)
    );
}

#[tokio::test]
async fn identity_center_grants_revokes_and_repeats() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let config = sdk_config(&moto.endpoint()).await;
    let admin = aws_sdk_ssoadmin::Client::new(&config);
    let store = aws_sdk_identitystore::Client::new(&config);
    let (dir, file) = temp_c1z("sso.c1z");
    let audit = dir.path().join("audit.jsonl");
    let mut args = vec!["-f", file.to_str().unwrap()];
    args.extend_from_slice(ORG);
    assert_success(&run_baton_aws(&moto.endpoint(), &args, &[]));
    let with_org = |extra: &[&str]| -> Vec<String> {
        ORG.iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let go = |extra: &[&str]| {
        let a = with_org(extra);
        run(
            &moto.endpoint(),
            &file,
            &audit,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };

    // Group membership.
    let user4 = seed.user_arn(4);
    let admins = seed.group_arn(&seed.admins_group);
    let member = format!("sso_group:{admins}:member");
    let grant = [
        "--grant-entitlement",
        member.as_str(),
        "--grant-principal",
        user4.as_str(),
        "--grant-principal-type",
        "sso_user",
    ];
    assert_success(&go(&grant));
    let lookup = store
        .get_group_membership_id()
        .identity_store_id(&seed.store)
        .group_id(&seed.admins_group)
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(
            seed.users[4].clone(),
        ))
        .send()
        .await;
    assert!(lookup.is_ok(), "user 4 is a member now");
    assert!(stdout(&go(&grant)).contains("already has"));

    // A direct assignment of ReadOnly on prod to user 5, granted twice, then revoked twice.
    let entitlement = format!("{}|{}", seed.prod, seed.readonly_ps);
    let user5 = seed.user_arn(5);
    let assign = [
        "--grant-entitlement",
        entitlement.as_str(),
        "--grant-principal",
        user5.as_str(),
        "--grant-principal-type",
        "sso_user",
    ];
    let granted = go(&assign);
    assert_success(&granted);
    let has_user5 = || async {
        admin
            .list_account_assignments()
            .instance_arn(&seed.instance_arn)
            .account_id(&seed.prod)
            .permission_set_arn(&seed.readonly_ps)
            .send()
            .await
            .unwrap()
            .account_assignments
            .unwrap()
            .iter()
            .any(|a| a.principal_id.as_deref() == Some(seed.users[5].as_str()))
    };
    assert!(has_user5().await);
    assert!(stdout(&go(&assign)).contains("already has"));
    let revoke_id = format!("grant:sso_user:{user5}:{entitlement}");
    assert_success(&run_baton_aws(&moto.endpoint(), &args, &[]));
    assert_success(&go(&["--revoke-grant", &revoke_id]));
    assert!(!has_user5().await);
    assert!(stdout(&go(&["--revoke-grant", &revoke_id])).contains("already revoked"));

    // Through the binding entitlement, to a group.
    let binding = format!(
        "permission_set_assignment:{}-{}:assigned",
        seed.readonly_ps, seed.dev
    );
    let empty = seed.group_arn(&seed.empty_group);
    assert_success(&go(&[
        "--grant-entitlement",
        &binding,
        "--grant-principal",
        &empty,
        "--grant-principal-type",
        "sso_group",
    ]));
    let groups: Vec<String> = admin
        .list_account_assignments()
        .instance_arn(&seed.instance_arn)
        .account_id(&seed.dev)
        .permission_set_arn(&seed.readonly_ps)
        .send()
        .await
        .unwrap()
        .account_assignments
        .unwrap()
        .into_iter()
        .filter_map(|a| a.principal_id)
        .collect();
    assert!(groups.contains(&seed.empty_group));

    // Revoking access a user has only through a group leaves the group's assignment alone.
    let via_group = format!(
        "{}|{}:sso_user:{}",
        seed.prod,
        seed.admin_ps,
        seed.user_arn(0)
    );
    let refused = go(&["--revoke-grant", &via_group]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("comes through"),
        "{}",
        stderr(&refused)
    );
    let still = admin
        .list_account_assignments()
        .instance_arn(&seed.instance_arn)
        .account_id(&seed.prod)
        .permission_set_arn(&seed.admin_ps)
        .send()
        .await
        .unwrap()
        .account_assignments
        .unwrap();
    assert!(still
        .iter()
        .any(|a| a.principal_id.as_deref() == Some(seed.admins_group.as_str())));

    // Identity Center users: created and deleted, each twice.
    let profile = r#"{"given_name":"Jane","family_name":"Doe"}"#;
    let create = [
        "--create-account-resource-type",
        "sso_user",
        "--create-account-login",
        "jane",
        "--create-account-email",
        "jane@example.com",
        "--create-account-profile",
        profile,
    ];
    let created = go(&create);
    assert_success(&created);
    let created_arn = stdout(&created)
        .trim()
        .strip_prefix("created sso_user:")
        .unwrap()
        .to_string();
    assert!(stdout(&go(&create)).contains("already exists"));
    let delete = [
        "--delete-resource",
        created_arn.as_str(),
        "--delete-resource-type",
        "sso_user",
    ];
    assert_success(&go(&delete));
    let user_id = created_arn.rsplit('/').next().unwrap();
    assert!(store
        .describe_user()
        .identity_store_id(&seed.store)
        .user_id(user_id)
        .send()
        .await
        .is_err());
    assert!(stdout(&go(&delete)).contains("does not exist"));
}

/// Makes creation return IN_PROGRESS, then the given status sequence.
fn async_status(proxy: &Proxy, statuses: Vec<&'static str>) {
    let calls = Arc::new(AtomicUsize::new(0));
    proxy.rewrite(Arc::new(
        move |action: &str, _: &HashMap<String, String>, body: String| {
            let field = match action {
                "CreateAccountAssignment" | "DescribeAccountAssignmentCreationStatus" => {
                    "AccountAssignmentCreationStatus"
                }
                _ => return body,
            };
            let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let status = if action == "CreateAccountAssignment" {
                "IN_PROGRESS"
            } else {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                statuses[n.min(statuses.len() - 1)]
            };
            v[field]["Status"] = status.into();
            if status == "FAILED" {
                v[field]["FailureReason"] =
                    "Received a 409 status error: the permission set is being provisioned".into();
            }
            v.to_string()
        },
    ));
}

#[tokio::test]
async fn assignment_states_moto_never_produces() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let (dir, file) = temp_c1z("async.c1z");
    let audit = dir.path().join("audit.jsonl");
    let mut sync_args = vec!["-f", file.to_str().unwrap()];
    sync_args.extend_from_slice(ORG);
    assert_success(&run_baton_aws(&moto.endpoint(), &sync_args, &[]));
    let entitlement = format!("{}|{}", seed.dev, seed.admin_ps);
    let args = |user: usize| -> Vec<String> {
        let mut a: Vec<String> = ORG.iter().map(|s| s.to_string()).collect();
        a.extend([
            "--grant-entitlement".into(),
            entitlement.clone(),
            "--grant-principal".into(),
            seed.user_arn(user),
            "--grant-principal-type".into(),
            "sso_user".into(),
        ]);
        a
    };

    // IN_PROGRESS, then FAILED with a reason: reported as a failure with AWS's reason.
    let proxy = Proxy::start(moto.port);
    async_status(&proxy, vec!["IN_PROGRESS", "IN_PROGRESS", "FAILED"]);
    let a = args(6);
    let failed = run(
        &proxy.endpoint(),
        &file,
        &audit,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("FAILED"), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("being provisioned"),
        "AWS's reason is passed on: {}",
        stderr(&failed)
    );
    assert_eq!(proxy.count("DescribeAccountAssignmentCreationStatus"), 3);

    // IN_PROGRESS, then SUCCEEDED.
    let proxy = Proxy::start(moto.port);
    async_status(&proxy, vec!["IN_PROGRESS", "SUCCEEDED"]);
    let a = args(7);
    assert_success(&run(
        &proxy.endpoint(),
        &file,
        &audit,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    // A status that never settles: an error that says it could not verify, not a success.
    let proxy = Proxy::start(moto.port);
    async_status(&proxy, vec!["IN_PROGRESS"]);
    let mut a = args(8);
    a.extend(["--assignment-timeout-seconds".into(), "1".into()]);
    let stuck = run(
        &proxy.endpoint(),
        &file,
        &audit,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!stuck.status.success());
    assert!(
        stderr(&stuck).contains("could not verify"),
        "{}",
        stderr(&stuck)
    );
    let last = audit_lines(&audit).pop().unwrap();
    assert_eq!(last["outcome"], "failed");

    // A suspended account is final, with a message naming it.
    let config = sdk_config(&moto.endpoint()).await;
    aws_sdk_organizations::Client::new(&config)
        .close_account()
        .account_id(&seed.dev)
        .send()
        .await
        .unwrap();
    let a = args(9);
    let suspended = run(
        &moto.endpoint(),
        &file,
        &audit,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!suspended.status.success());
    assert!(
        stderr(&suspended).contains(&format!("account {} is SUSPENDED", seed.dev)),
        "{}",
        stderr(&suspended)
    );
}
