//! Service mode end to end: the connector daemon against a local stand-in
//! for ConductorOne (token endpoint and BatonService over TLS) and moto.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use c1z::pb::c1::connectorapi::baton::v1 as baton;
use c1z::pb::c1::connectorapi::baton::v1::baton_service_finish_task_request::FinalState;
use c1z::v2::{Entitlement, GrantManagerServiceGrantResponse, Resource};
use prost::Message;
use support::c1_server::{self, C1Server};
use support::moto::{sdk_config, Moto};
use support::proxy::Proxy;
use support::seed::{arn, seed_iam};

/// Starts `baton-aws` in service mode against `server` and an AWS endpoint.
fn daemon(server: &C1Server, aws: &str, extra: &[&str]) -> Child {
    daemon_with_env(server, aws, extra, &[])
}

fn daemon_with_env(server: &C1Server, aws: &str, extra: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_baton-aws"))
        .args(extra)
        .env_clear()
        .envs(env.iter().copied())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", aws)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("BATON_LOG_FORMAT", "json")
        .env("BATON_CLIENT_ID", &server.client_id)
        .env("BATON_CLIENT_SECRET", &server.client_secret)
        .env("BATON_C1_CA_CERT_FILE", server.ca_file.path())
        .env("BATON_HOST_ID", "test-host")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baton-aws")
}

/// Stops the daemon with SIGTERM and returns its exit success and standard error.
fn stop(mut child: Child) -> (bool, String) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn task(id: &str, kind: baton::task::TaskType) -> baton::Task {
    baton::Task {
        id: id.into(),
        task_type: Some(kind),
        ..Default::default()
    }
}

fn sync_task(id: &str) -> baton::Task {
    task(id, baton::task::TaskType::SyncFull(Default::default()))
}

fn finished<'a>(server: &'a C1Server, id: &str) -> Option<baton::BatonServiceFinishTaskRequest> {
    server
        .state
        .lock()
        .unwrap()
        .finished
        .iter()
        .find(|f| f.task_id == id)
        .cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_task_uploads_a_readable_c1z() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let server = c1_server::start().await;
    {
        let mut state = server.state.lock().unwrap();
        state.get_task_outages = 2;
        state.tasks.push_back(sync_task("sync-1"));
    }
    let child = daemon(
        &server,
        &moto.endpoint(),
        &["--health-check", "--health-check-port", "0"],
    );
    server.wait_for("the sync task to finish", Duration::from_secs(90), |s| {
        s.finished.iter().any(|f| f.task_id == "sync-1")
    });
    let (clean, log) = stop(child);
    assert!(clean, "SIGTERM ends the daemon cleanly:\n{log}");

    let state = server.state.lock().unwrap();
    assert!(
        state.good_assertions >= 1 && state.bad_assertions == 0,
        "the client assertion verified"
    );
    assert_eq!(state.unauthorized_calls, 0);
    assert_eq!(state.hellos.len(), 1);
    let hello = &state.hellos[0];
    assert_eq!(hello.host_id, "test-host");
    let metadata = hello.connector_metadata.as_ref().unwrap();
    assert_eq!(metadata.display_name, "AWS");
    assert_eq!(
        metadata
            .capabilities
            .as_ref()
            .unwrap()
            .resource_type_capabilities
            .len(),
        14
    );
    assert!(
        state.get_task_calls >= 3,
        "GetTask outages are retried, not fatal"
    );
    assert!(log.contains("GetTask failed; retrying"), "{log}");
    assert!(
        state.heartbeats.iter().any(|t| t == "sync-1"),
        "the sync heartbeats"
    );
    let (task, bytes, checksum_ok) = &state.uploads[0];
    assert_eq!(task, "sync-1");
    assert!(*checksum_ok, "the SHA-256 in the EOF message matches");
    let finish = state
        .finished
        .iter()
        .find(|f| f.task_id == "sync-1")
        .unwrap();
    assert!(
        matches!(finish.final_state, Some(FinalState::Success(_))),
        "{finish:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uploaded.c1z");
    std::fs::write(&path, bytes).unwrap();
    let file = c1z::C1zFile::open_read(&path).expect("the uploaded file is a c1z");
    let sync = file.view_sync(None).unwrap();
    let users = file
        .resources(&sync.sync_id)
        .unwrap()
        .into_iter()
        .filter(|r| r.id.as_ref().unwrap().resource_type == "iam_user")
        .count();
    assert_eq!(users, 4);
    assert!(
        !log.contains(&server.client_secret),
        "the client secret is never logged"
    );
    assert!(
        !log.contains(c1_server::TOKEN),
        "the access token is never logged"
    );
}

fn users_in(bytes: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.c1z");
    std::fs::write(&path, bytes).unwrap();
    let file = c1z::C1zFile::open_read(&path).unwrap();
    let sync = file.view_sync(None).unwrap();
    file.resources(&sync.sync_id)
        .unwrap()
        .into_iter()
        .filter(|r| r.id.as_ref().unwrap().resource_type == "iam_user")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn second_sync_sees_changes_made_after_the_first() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let server = c1_server::start().await;
    server
        .state
        .lock()
        .unwrap()
        .tasks
        .push_back(sync_task("first"));
    let child = daemon(&server, &moto.endpoint(), &[]);
    server.wait_for("the first sync", Duration::from_secs(60), |s| {
        s.finished.iter().any(|f| f.task_id == "first")
    });
    aws_sdk_iam::Client::new(&sdk_config(&moto.endpoint()).await)
        .create_user()
        .user_name("late-joiner")
        .send()
        .await
        .unwrap();
    server
        .state
        .lock()
        .unwrap()
        .tasks
        .push_back(sync_task("second"));
    server.wait_for("the second sync", Duration::from_secs(60), |s| {
        s.finished.iter().any(|f| f.task_id == "second")
    });
    stop(child);
    let state = server.state.lock().unwrap();
    let upload = |id: &str| {
        state
            .uploads
            .iter()
            .find(|(t, _, _)| t == id)
            .map(|(_, b, _)| b.clone())
            .unwrap()
    };
    assert_eq!(users_in(&upload("first")), 4);
    assert_eq!(
        users_in(&upload("second")),
        5,
        "no snapshot of the first sync is reused"
    );
}

fn grant_task(id: &str) -> baton::Task {
    let group = arn("group", "Admins");
    let entitlement = Entitlement {
        resource: Some(Resource {
            id: Some(baton_sdk::types::rid("group", &group)),
            display_name: "Admins".into(),
            ..Default::default()
        }),
        id: format!("group:{group}:member"),
        ..Default::default()
    };
    let principal = Resource {
        id: Some(baton_sdk::types::rid("iam_user", &arn("user", "alice"))),
        ..Default::default()
    };
    task(
        id,
        baton::task::TaskType::Grant(baton::task::GrantTask {
            entitlement: Some(entitlement),
            principal: Some(principal),
            ..Default::default()
        }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_task_changes_aws_only_with_provisioning() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&moto.endpoint()).await);

    let server = c1_server::start().await;
    server
        .state
        .lock()
        .unwrap()
        .tasks
        .push_back(grant_task("grant-refused"));
    let child = daemon(&server, &moto.endpoint(), &[]);
    server.wait_for("the refused grant", Duration::from_secs(60), |s| {
        s.finished.iter().any(|f| f.task_id == "grant-refused")
    });
    stop(child);
    let refused = finished(&server, "grant-refused").unwrap();
    assert_eq!(
        refused.status.as_ref().unwrap().code,
        9,
        "FAILED_PRECONDITION without --provisioning"
    );
    assert!(refused
        .status
        .as_ref()
        .unwrap()
        .message
        .contains("provisioning is not enabled"));
    let groups = iam
        .list_groups_for_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(!groups.iter().any(|g| g.group_name == "Admins"));

    let server = c1_server::start().await;
    server
        .state
        .lock()
        .unwrap()
        .tasks
        .push_back(grant_task("grant-1"));
    let child = daemon(&server, &moto.endpoint(), &["--provisioning"]);
    server.wait_for("the grant", Duration::from_secs(60), |s| {
        s.finished.iter().any(|f| f.task_id == "grant-1")
    });
    stop(child);
    let done = finished(&server, "grant-1").unwrap();
    let Some(FinalState::Success(success)) = done.final_state else {
        panic!("grant failed: {done:?}")
    };
    let response =
        GrantManagerServiceGrantResponse::decode(success.response.unwrap().value.as_slice())
            .unwrap();
    assert_eq!(
        response.grants[0].id,
        format!(
            "group:{}:member:iam_user:{}",
            arn("group", "Admins"),
            arn("user", "alice")
        )
    );
    let groups = iam
        .list_groups_for_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(
        groups.iter().any(|g| g.group_name == "Admins"),
        "the grant task changed AWS"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timed_grant_task_is_revoked_on_the_timer() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let iam = aws_sdk_iam::Client::new(&sdk_config(&moto.endpoint()).await);
    let server = c1_server::start().await;
    let mut task = grant_task("grant-timed");
    if let Some(baton::task::TaskType::Grant(grant)) = task.task_type.as_mut() {
        grant.duration = Some(prost_types::Duration {
            seconds: 2,
            nanos: 0,
        });
    }
    server.state.lock().unwrap().tasks.push_back(task);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("jit.sqlite");
    let child = daemon_with_env(
        &server,
        &moto.endpoint(),
        &["--provisioning", "--jit-state", state.to_str().unwrap()],
        &[("BATON_JIT_CHECK_INTERVAL_SECONDS", "1")],
    );
    server.wait_for("the grant", Duration::from_secs(60), |s| {
        s.finished.iter().any(|f| f.task_id == "grant-timed")
    });
    let member = || async {
        iam.list_groups_for_user()
            .user_name("alice")
            .send()
            .await
            .unwrap()
            .groups
            .iter()
            .any(|g| g.group_name == "Admins")
    };
    assert!(member().await, "granted");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while member().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the timed grant was not revoked"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (clean, log) = stop(child);
    assert!(clean, "{log}");
    assert!(log.contains("revoked expired grants"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelled_heartbeat_stops_the_sync() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 30).await;
    let proxy = Proxy::start(moto.port);
    // Slow AWS down so the sync outlives the second heartbeat.
    proxy.set_delay(Duration::from_millis(400));
    let server = c1_server::start().await;
    {
        let mut state = server.state.lock().unwrap();
        state.cancel_task = Some("sync-cancel".into());
        state.tasks.push_back(sync_task("sync-cancel"));
    }
    let child = daemon(&server, &proxy.endpoint(), &["--concurrency", "1"]);
    server.wait_for(
        "the cancelled task to report",
        Duration::from_secs(90),
        |s| s.finished.iter().any(|f| f.task_id == "sync-cancel"),
    );
    let calls_at_cancel = proxy.calls().len();
    std::thread::sleep(Duration::from_secs(2));
    let (_, log) = stop(child);
    let finish = finished(&server, "sync-cancel").unwrap();
    let status = finish.status.as_ref().unwrap_or_else(|| {
        panic!(
            "the sync finished before the cancellation ({} AWS calls):\n{log}",
            proxy.calls().len()
        )
    });
    assert_eq!(status.code, 1, "reported as CANCELLED: {finish:?}");
    assert!(
        server.state.lock().unwrap().uploads.is_empty(),
        "nothing is uploaded"
    );
    assert!(
        proxy.calls().len() <= calls_at_cancel + 2,
        "AWS calls stop after the cancellation:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_reports_the_task_in_flight() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 30).await;
    let proxy = Proxy::start(moto.port);
    proxy.set_delay(Duration::from_millis(400));
    let server = c1_server::start().await;
    server
        .state
        .lock()
        .unwrap()
        .tasks
        .push_back(sync_task("sync-term"));
    let child = daemon(&server, &proxy.endpoint(), &["--concurrency", "1"]);
    server.wait_for("the sync to start", Duration::from_secs(60), |s| {
        s.heartbeats.iter().any(|t| t == "sync-term")
    });
    let (clean, log) = stop(child);
    assert!(clean, "{log}");
    let finish =
        finished(&server, "sync-term").expect("the task in flight is reported before exit");
    let status = finish.status.expect("reported as an error");
    assert_eq!(status.code, 1, "CANCELLED");
    assert!(
        status.message.contains("shutting down"),
        "{}",
        status.message
    );
    let Some(FinalState::Error(error)) = finish.final_state else {
        panic!("not an error")
    };
    assert!(!error.non_retryable, "ConductorOne may run the task again");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_check_subcommand_reads_the_endpoints() {
    let moto = Moto::start();
    let server = c1_server::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let health = |endpoint: &str| {
        Command::new(env!("CARGO_BIN_EXE_baton-aws"))
            .args([
                "health-check",
                "--health-check-port",
                &port,
                "--endpoint",
                endpoint,
            ])
            .env_clear()
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(!health("live"), "nothing listens before the daemon starts");
    let child = daemon(
        &server,
        &moto.endpoint(),
        &["--health-check", "--health-check-port", &port],
    );
    server.wait_for("Hello", Duration::from_secs(60), |s| {
        !s.hellos.is_empty() && s.get_task_calls > 0
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(health("live"));
    assert!(health("ready"));
    assert!(health("health"));
    let (clean, log) = stop(child);
    assert!(clean, "{log}");
}

#[test]
fn bad_credentials_are_rejected_at_start() {
    let run = Command::new(env!("CARGO_BIN_EXE_baton-aws"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BATON_CLIENT_ID", "no-at-sign")
        .env("BATON_CLIENT_SECRET", "a:b:v1:xyz")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(log.contains("invalid client id"), "{log}");
    assert!(!log.contains("a:b:v1:xyz"), "the secret is not echoed");
}
