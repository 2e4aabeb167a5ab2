//! Just-in-time grants: made with a duration, revoked by `revoke-expired`
//! exactly once after they expire, across process restarts, with a failed
//! revoke retried.

mod support;

use std::time::Duration;

use support::moto::{sdk_config, Moto};
use support::proxy::Proxy;
use support::seed::{arn, seed_iam};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

fn stdout(run: &std::process::Output) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

async fn in_admins(endpoint: &str) -> bool {
    let iam = aws_sdk_iam::Client::new(&sdk_config(endpoint).await);
    iam.list_groups_for_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .groups
        .iter()
        .any(|g| g.group_name == "Admins")
}

#[tokio::test]
async fn expired_grant_is_revoked_once() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (dir, file) = temp_c1z("jit.c1z");
    let audit = dir.path().join("audit.jsonl");
    let f = file.to_str().unwrap();
    let a = audit.to_str().unwrap();
    assert_success(&run_baton_aws(&moto.endpoint(), &["-f", f], &[]));
    let member = format!("group:{}:member", arn("group", "Admins"));
    let alice = arn("user", "alice");
    let granted = run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            f,
            "--audit-log",
            a,
            "--grant-entitlement",
            &member,
            "--grant-principal",
            &alice,
            "--grant-principal-type",
            "iam_user",
            "--grant-duration",
            "2s",
            "--grant-reason",
            "INC-42 on-call",
        ],
        &[],
    );
    assert_success(&granted);
    assert!(stdout(&granted).contains("until"), "{}", stdout(&granted));
    assert!(in_admins(&moto.endpoint()).await);

    // Before the expiry: nothing to do. Each run is a new process, as after a restart.
    let early = run_baton_aws(
        &moto.endpoint(),
        &["-f", f, "--audit-log", a, "revoke-expired"],
        &[],
    );
    assert_success(&early);
    assert!(
        stdout(&early).contains("revoked 0") && stdout(&early).contains("1 not expired yet"),
        "{}",
        stdout(&early)
    );
    assert!(in_admins(&moto.endpoint()).await);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let due = run_baton_aws(
        &moto.endpoint(),
        &["-f", f, "--audit-log", a, "revoke-expired"],
        &[],
    );
    assert_success(&due);
    assert!(stdout(&due).contains("revoked 1 "), "{}", stdout(&due));
    assert!(
        !in_admins(&moto.endpoint()).await,
        "the access ended at its expiry"
    );
    let again = run_baton_aws(
        &moto.endpoint(),
        &["-f", f, "--audit-log", a, "revoke-expired"],
        &[],
    );
    assert!(
        stdout(&again).contains("revoked 0 expired grants, 0 were already revoked"),
        "exactly once: {}",
        stdout(&again)
    );

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["action"], "grant");
    assert_eq!(lines[0]["reason"], "INC-42 on-call");
    assert!(lines[0]["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["action"], "revoke_expired");
    assert_eq!(lines[1]["outcome"], "revoked");
    assert_eq!(lines[1]["reason"], "INC-42 on-call");
}

#[tokio::test]
async fn failed_revoke_is_retried_and_reported() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (dir, file) = temp_c1z("retry.c1z");
    let audit = dir.path().join("audit.jsonl");
    let f = file.to_str().unwrap();
    let a = audit.to_str().unwrap();
    assert_success(&run_baton_aws(&moto.endpoint(), &["-f", f], &[]));
    let member = format!("group:{}:member", arn("group", "Admins"));
    let alice = arn("user", "alice");
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            f,
            "--grant-entitlement",
            &member,
            "--grant-principal",
            &alice,
            "--grant-principal-type",
            "iam_user",
            "--grant-duration",
            "1s",
        ],
        &[],
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let proxy = Proxy::start(moto.port);
    proxy.fault("RemoveUserFromGroup", 403, "AccessDenied", Some(1));
    let env = [("BATON_JIT_RETRY_BASE_SECONDS", "1")];
    let failed = run_baton_aws(
        &proxy.endpoint(),
        &["-f", f, "--audit-log", a, "revoke-expired"],
        &env,
    );
    assert!(
        !failed.status.success(),
        "a failed revoke is reported with a non-zero exit"
    );
    assert!(
        stderr(&failed).contains("will be retried"),
        "{}",
        stderr(&failed)
    );
    assert!(in_admins(&moto.endpoint()).await);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let retried = run_baton_aws(
        &proxy.endpoint(),
        &["-f", f, "--audit-log", a, "revoke-expired"],
        &env,
    );
    assert_success(&retried);
    assert!(
        stdout(&retried).contains("revoked 1 "),
        "{}",
        stdout(&retried)
    );
    assert!(!in_admins(&moto.endpoint()).await);
    let outcomes: Vec<String> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(outcomes, vec!["failed", "revoked"]);
}
