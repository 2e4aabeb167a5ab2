//! Faults that must never lose data or leak secrets: a sync killed midway,
//! fake secrets grepped from logs and files, and syncs limited to some
//! resource types whose rows must still point only at rows that exist.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use c1z::C1zFile;
use support::moto::Moto;
use support::proxy::Proxy;
use support::seed::{arn, seed_iam, seed_org};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

#[tokio::test(flavor = "multi_thread")]
async fn killed_sync_keeps_previous_file() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 20).await;
    let (_dir, out, before) = support::first_sync(&moto.endpoint(), "kept.c1z");

    let proxy = Proxy::start(moto.port);
    proxy.set_delay(Duration::from_millis(400));
    for wait_ms in [300u64, 1500, 3000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton-aws"))
            .args(["-f", out.to_str().unwrap(), "--concurrency", "1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync was still running at {wait_ms} ms"
        );
        // SIGKILL: no chance to clean up.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            std::fs::read(&out).unwrap() == before,
            "the c1z is unchanged after a kill at {wait_ms} ms"
        );
        C1zFile::open_read(&out).expect("and still readable");
    }
}

#[tokio::test]
async fn fake_secrets_never_reach_logs_or_files() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (dir, out) = temp_c1z("secrets.c1z");
    let secret_key = "FAKEsecretKEY0123456789abcdefFAKEsecret1";
    let external_id = "fake-external-id-0123456789abcdef-XYZ";
    let scim_token = "fake-scim-token-0123456789";
    let run = run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--log-level",
            "debug",
            "--global-access-key-id",
            "AKIAFAKEFAKEFAKEFAKE",
            "--global-secret-access-key",
            secret_key,
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/DeployRole",
            "--external-id",
            external_id,
            "--sync-secrets",
        ],
        &[("BATON_SCIM_TOKEN", scim_token)],
    );
    assert_success(&run);
    let log = stderr(&run);
    assert!(log.contains("Syncing"), "the run logged at debug level");
    for secret in [secret_key, scim_token, external_id] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    // Decompress the c1z and search the raw database as well.
    let db = dir.path().join("raw.db");
    c1z::codec::decode_to(&out, &db, u64::MAX).unwrap();
    let raw = std::fs::read(&db).unwrap();
    for secret in [secret_key, scim_token, external_id] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret reached the c1z"
        );
    }

    // Credentials with a session token, from the environment, used to assume a role.
    let session_token = "FAKEsessionTOKEN0123456789abcdefFAKEsessionTOKEN";
    let (_dir2, out2) = temp_c1z("session.c1z");
    let run = run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            out2.to_str().unwrap(),
            "--log-level",
            "debug",
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/DeployRole",
        ],
        &[
            ("AWS_SECRET_ACCESS_KEY", secret_key),
            ("AWS_SESSION_TOKEN", session_token),
        ],
    );
    assert_success(&run);
    let log = stderr(&run);
    for secret in [secret_key, session_token] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    let db = dir.path().join("raw2.db");
    c1z::codec::decode_to(&out2, &db, u64::MAX).unwrap();
    let raw = std::fs::read(&db).unwrap();
    for secret in [secret_key, session_token] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret reached the c1z"
        );
    }
}

/// Every parent, grant entitlement resource and grant principal names a resource row of the sync.
fn assert_closed(path: &std::path::Path, label: &str) {
    let file = C1zFile::open_read(path).unwrap();
    let sync = file.view_sync(None).unwrap().sync_id;
    let resources: BTreeSet<(String, String)> = file
        .resources(&sync)
        .unwrap()
        .into_iter()
        .map(|r| {
            let id = r.id.unwrap();
            (id.resource_type, id.resource)
        })
        .collect();
    let has = |id: &c1z::v2::ResourceId| {
        resources.contains(&(id.resource_type.clone(), id.resource.clone()))
    };
    for resource in file.resources(&sync).unwrap() {
        if let Some(parent) = &resource.parent_resource_id {
            assert!(
                has(parent),
                "{label}: {:?} has absent parent {parent:?}",
                resource.id
            );
        }
    }
    for entitlement in file.entitlements(&sync).unwrap() {
        assert!(
            has(entitlement.resource.as_ref().unwrap().id.as_ref().unwrap()),
            "{label}: entitlement {} of an absent resource",
            entitlement.id
        );
    }
    for (grant, _) in file.grants(&sync).unwrap() {
        let entitlement = grant
            .entitlement
            .as_ref()
            .unwrap()
            .resource
            .as_ref()
            .unwrap()
            .id
            .as_ref()
            .unwrap();
        let principal = grant.principal.as_ref().unwrap().id.as_ref().unwrap();
        assert!(
            has(entitlement),
            "{label}: grant {} on an absent resource",
            grant.id
        );
        assert!(
            has(principal),
            "{label}: grant {} to an absent principal",
            grant.id
        );
    }
}

#[tokio::test]
async fn limited_syncs_point_only_at_present_rows() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    for types in [
        "iam_user,group",
        "role,inline_policy",
        "iam_user,inline_policy",
        "group,iam_policy",
        "iam_user,role,group,iam_policy,inline_policy,access-key",
    ] {
        let (_dir, out) = temp_c1z("limited.c1z");
        let run = run_baton_aws(
            &moto.endpoint(),
            &[
                "-f",
                out.to_str().unwrap(),
                "--sync-secrets",
                "--sync-resource-types",
                types,
            ],
            &[],
        );
        assert_success(&run);
        assert_closed(&out, types);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_storm_slows_the_sync_down_but_it_completes() {
    let moto = Moto::start();
    seed_org(&moto.endpoint()).await;
    let (_dir, direct) = temp_c1z("calm.c1z");
    let flags = ["--global-aws-orgs-enabled", "--global-aws-sso-enabled"];
    let mut args = vec!["-f", direct.to_str().unwrap()];
    args.extend_from_slice(&flags);
    assert_success(&run_baton_aws(&moto.endpoint(), &args, &[]));

    let proxy = Proxy::start(moto.port);
    // Every third Identity Center call is throttled, and the SDK gets one attempt only.
    proxy.throttle_every(
        &[
            "ListUsers",
            "ListGroups",
            "ListGroupMemberships",
            "ListAccountAssignments",
            "ListPermissionSets",
            "DescribePermissionSet",
            "ListPermissionSetsProvisionedToAccount",
            "ListManagedPoliciesInPermissionSet",
            "ListCustomerManagedPolicyReferencesInPermissionSet",
            "GetInlinePolicyForPermissionSet",
            "ListInstances",
        ],
        3,
    );
    let (_dir2, stormy) = temp_c1z("storm.c1z");
    let mut args = vec!["-f", stormy.to_str().unwrap()];
    args.extend_from_slice(&flags);
    let run = run_baton_aws(&proxy.endpoint(), &args, &[("AWS_MAX_ATTEMPTS", "1")]);
    assert_success(&run);
    let count = |path: &std::path::Path| {
        let file = C1zFile::open_read(path).unwrap();
        let stats = file.stats(&file.view_sync(None).unwrap().sync_id).unwrap();
        (stats.resources, stats.entitlements, stats.grants)
    };
    assert_eq!(
        count(&stormy),
        count(&direct),
        "the throttled sync wrote the same rows"
    );
}

#[tokio::test]
async fn odd_pages_and_duplicates_are_handled() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 5).await;
    let proxy = Proxy::start(moto.port);
    // ListUsers returns a first page with no users but a marker, and repeats a user on a later page.
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    proxy.rewrite(std::sync::Arc::new(
        move |action: &str, params: &std::collections::HashMap<String, String>, body: String| {
            if action != "ListUsers" {
                return body;
            }
            if !params.contains_key("Marker")
                && first.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                let start = body.find("<Users>").unwrap() + "<Users>".len();
                let end = body.find("</Users>").unwrap();
                let without = format!("{}{}", &body[..start], &body[end..]);
                return without.replace(
                    "<IsTruncated>false</IsTruncated>",
                    "<IsTruncated>true</IsTruncated><Marker>again</Marker>",
                );
            }
            body
        },
    ));
    proxy.inject_member(
        "ListUsers",
        &format!(
            "<member><Path>/</Path><UserName>alice</UserName><UserId>aliceduplicate000000</UserId><Arn>{}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>",
            arn("user", "alice")
        ),
    );
    let (_dir, out) = temp_c1z("odd.c1z");
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert_success(&run);
    let file = C1zFile::open_read(&out).unwrap();
    let sync = file.view_sync(None).unwrap().sync_id;
    let users: Vec<String> = file
        .resources(&sync)
        .unwrap()
        .into_iter()
        .filter_map(|r| {
            r.id.filter(|i| i.resource_type == "iam_user")
                .map(|i| i.resource)
        })
        .collect();
    assert_eq!(
        users.len(),
        9,
        "the empty first page did not end the listing, and the duplicate is one row: {users:?}"
    );
    let _ = stderr(&run);
}

#[tokio::test]
async fn snapshot_marker_repeat_fails() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 5).await;
    let proxy = Proxy::start(moto.port);
    // Every page of the IAM snapshot claims more and hands back the same marker.
    proxy.rewrite(std::sync::Arc::new(
        |action: &str, _: &std::collections::HashMap<String, String>, body: String| {
            if action != "GetAccountAuthorizationDetails" {
                return body;
            }
            body.replace(
                "<IsTruncated>false</IsTruncated>",
                "<IsTruncated>true</IsTruncated><Marker>again</Marker>",
            )
        },
    ));

    let (_dir, out) = temp_c1z("marker.c1z");
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    let log = stderr(&run);
    assert!(
        !run.status.success(),
        "a snapshot read in part must not be published: {log}"
    );
    assert!(
        log.contains("iam:GetAccountAuthorizationDetails") && log.contains("\"again\" twice"),
        "{log}"
    );
    assert!(!out.exists(), "no file is written");
    assert!(
        proxy.count("GetAccountAuthorizationDetails") <= 10,
        "the loop stops at the first repeat"
    );
}

#[tokio::test]
async fn server_errors_with_a_code_are_retried() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    // Three responses of HTTP 500 and 503 with AWS error codes, past the SDK's single attempt.
    proxy.fault("ListGroups", 503, "ServiceUnavailable", Some(2));
    proxy.fault("ListRoles", 500, "InternalFailure", Some(1));
    let (_dir, out) = temp_c1z("5xx.c1z");
    let env = [
        ("AWS_MAX_ATTEMPTS", "1"),
        ("BATON_SYNC_RETRY_DELAY_MS", "50"),
    ];
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &env);
    assert_success(&run);
    assert_eq!(proxy.count("ListGroups"), 3, "two failures, then the page");
    assert_eq!(proxy.count("ListRoles"), 2, "one failure, then the page");
    let log = stderr(&run);
    assert!(
        log.contains("ServiceUnavailable") && log.contains("InternalFailure"),
        "each retry is logged: {log}"
    );
}
