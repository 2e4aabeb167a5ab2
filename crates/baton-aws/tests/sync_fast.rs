//! Syncs that read IAM through the per-account snapshots
//! (`GetAccountAuthorizationDetails`, the credential report), fall back to
//! per-entity calls when those are denied, and give the same rows at any
//! concurrency.

mod support;

use std::collections::BTreeMap;

use c1z::v2::{Entitlement, Grant, Resource};
use c1z::C1zFile;
use support::moto::Moto;
use support::proxy::Proxy;
use support::seed::{seed_iam, seed_org};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

#[derive(Debug, PartialEq)]
struct Rows {
    resources: BTreeMap<String, Resource>,
    entitlements: BTreeMap<String, Entitlement>,
    grants: BTreeMap<String, Grant>,
}

fn rows(path: &std::path::Path) -> Rows {
    let file = C1zFile::open_read(path).expect("open c1z");
    let sync = file.view_sync(None).expect("finished sync").sync_id;
    let resources = file
        .resources(&sync)
        .unwrap()
        .into_iter()
        .map(|r| {
            let id = r.id.clone().unwrap();
            (format!("{}:{}", id.resource_type, id.resource), r)
        })
        .collect();
    let entitlements = file
        .entitlements(&sync)
        .unwrap()
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let grants = file
        .grants(&sync)
        .unwrap()
        .into_iter()
        .map(|(g, _)| (g.id.clone(), g))
        .collect();
    Rows {
        resources,
        entitlements,
        grants,
    }
}

/// Per-entity IAM reads that the snapshot replaces.
const PER_ENTITY: &[&str] = &[
    "GetGroup",
    "GetRole",
    "ListAttachedUserPolicies",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListUserPolicies",
    "ListGroupPolicies",
    "ListRolePolicies",
    "GetUserPolicy",
    "GetGroupPolicy",
    "GetRolePolicy",
    "GetPolicyVersion",
    "ListAccessKeys",
    "GetAccessKeyLastUsed",
];

#[tokio::test]
async fn snapshot_and_per_entity_reads_agree() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 9).await;

    let fast = Proxy::start(moto.port);
    let (_dir, fast_out) = temp_c1z("fast.c1z");
    assert_success(&run_baton_aws(
        &fast.endpoint(),
        &["-f", fast_out.to_str().unwrap()],
        &[],
    ));
    assert_eq!(
        fast.count("GetAccountAuthorizationDetails"),
        1,
        "one walk for the account"
    );
    for action in PER_ENTITY {
        assert_eq!(
            fast.count(action),
            0,
            "{action} is answered from the snapshot"
        );
    }

    let slow = Proxy::start(moto.port);
    slow.fault("GetAccountAuthorizationDetails", 403, "AccessDenied", None);
    slow.fault("GenerateCredentialReport", 403, "AccessDenied", None);
    let (_dir2, slow_out) = temp_c1z("slow.c1z");
    let run = run_baton_aws(&slow.endpoint(), &["-f", slow_out.to_str().unwrap()], &[]);
    assert_success(&run);
    let log = stderr(&run);
    assert!(
        log.contains("iam:GetAccountAuthorizationDetails"),
        "the denied snapshot is reported:\n{log}"
    );
    assert!(
        slow.count("ListAttachedUserPolicies") >= 13,
        "the fallback reads each user"
    );
    assert!(
        slow.count("ListAccessKeys") >= 13,
        "the fallback reads each user's keys"
    );

    let (a, b) = (rows(&fast_out), rows(&slow_out));
    assert_eq!(a.resources, b.resources);
    assert_eq!(a.entitlements, b.entitlements);
    assert_eq!(a.grants, b.grants);
}

#[tokio::test]
async fn denied_fallback_warns_once_per_call() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 3).await;
    let proxy = Proxy::start(moto.port);
    proxy.fault("GetAccountAuthorizationDetails", 403, "AccessDenied", None);
    proxy.fault("GenerateCredentialReport", 403, "AccessDenied", None);
    proxy.fault("ListAccessKeys", 403, "AccessDenied", None);
    let (_dir, out) = temp_c1z("denied.c1z");
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert_success(&run);
    let log = stderr(&run);
    let warnings = log
        .lines()
        .filter(|l| l.contains("access denied") && l.contains("iam:ListAccessKeys"))
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for the whole kind, not one per user:\n{log}"
    );
    assert!(proxy.count("ListAccessKeys") > 1);
    assert_eq!(
        rows(&out)
            .resources
            .keys()
            .filter(|k| k.starts_with("iam_user:"))
            .count(),
        7
    );
}

#[tokio::test]
async fn throttled_snapshot_is_retried() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    proxy.fault("GetAccountAuthorizationDetails", 400, "Throttling", Some(3));
    let (_dir, out) = temp_c1z("throttled.c1z");
    let run = run_baton_aws(
        &proxy.endpoint(),
        &["-f", out.to_str().unwrap()],
        &[("AWS_MAX_ATTEMPTS", "2")],
    );
    assert_success(&run);
    assert_eq!(
        proxy.count("GetAccountAuthorizationDetails"),
        4,
        "three throttled attempts, then one that succeeds"
    );
    assert_eq!(
        proxy.count("ListAttachedUserPolicies"),
        0,
        "the snapshot is used once it arrives"
    );
}

#[tokio::test]
async fn rows_are_the_same_at_any_concurrency() {
    let moto = Moto::start();
    seed_org(&moto.endpoint()).await;
    let flags = [
        "--global-aws-orgs-enabled",
        "--global-aws-sso-enabled",
        "--global-aws-cross-account-iam-enabled",
    ];
    let mut results = Vec::new();
    let mut dirs = Vec::new();
    for concurrency in ["1", "16"] {
        let proxy = Proxy::start(moto.port);
        proxy.set_page_size(2);
        let (dir, out) = temp_c1z("org.c1z");
        let mut args = vec!["-f", out.to_str().unwrap(), "--concurrency", concurrency];
        args.extend_from_slice(&flags);
        assert_success(&run_baton_aws(&proxy.endpoint(), &args, &[]));
        results.push((rows(&out), proxy.calls().len()));
        dirs.push(dir);
    }
    let (serial, serial_calls) = &results[0];
    let (concurrent, concurrent_calls) = &results[1];
    assert!(
        serial.grants.len() > 100,
        "the organisation has expanded grants: {}",
        serial.grants.len()
    );
    assert_eq!(serial.resources, concurrent.resources);
    assert_eq!(serial.entitlements, concurrent.entitlements);
    assert_eq!(serial.grants, concurrent.grants);
    // Two syncers that share an assignment page may both read it when they ask at the same moment.
    assert!(
        *concurrent_calls <= serial_calls + serial_calls / 10,
        "concurrency adds at most a few duplicate reads: {serial_calls} serial, {concurrent_calls} concurrent"
    );
}

#[tokio::test]
async fn invalid_concurrency_and_rate_limits_are_rejected() {
    let moto = Moto::start();
    let (_dir, out) = temp_c1z("bad.c1z");
    let run = run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap(), "--concurrency", "0"],
        &[],
    );
    assert!(!run.status.success());
    assert!(stderr(&run).contains("--concurrency"), "{}", stderr(&run));
    let run = run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap(), "--rate-limit-iam=-1"],
        &[],
    );
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("--rate-limit-iam"),
        "{}",
        stderr(&run)
    );
}
