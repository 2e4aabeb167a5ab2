//! Bad configuration is rejected before any AWS call, with a message that
//! names the value, and nothing is written.

mod support;

use std::process::Output;

use support::{run_baton_aws, stderr, temp_c1z};

/// An endpoint where nothing listens: a run that reached AWS would fail differently.
const NOWHERE: &str = "http://127.0.0.1:9";

fn rejected(run: &Output, needles: &[&str]) {
    assert!(!run.status.success(), "expected a failure");
    let log = stderr(run);
    for needle in needles {
        assert!(log.contains(needle), "expected {needle:?} in:\n{log}");
    }
    assert!(
        !log.contains("Syncing"),
        "validation must come before the sync starts:\n{log}"
    );
}

#[test]
fn malformed_role_arn() {
    let (_dir, out) = temp_c1z("x.c1z");
    let run = run_baton_aws(
        NOWHERE,
        &[
            "-f",
            out.to_str().unwrap(),
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::12345:role/x",
        ],
        &[],
    );
    rejected(
        &run,
        &["invalid role ARN", "arn:aws:iam::12345:role/x", "12 digits"],
    );
    assert!(!out.exists());
}

#[test]
fn external_id_length_with_binding_role() {
    let (_dir, out) = temp_c1z("x.c1z");
    let run = run_baton_aws(
        NOWHERE,
        &[
            "-f",
            out.to_str().unwrap(),
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/Customer",
            "--global-role-arn",
            "arn:aws:iam::123456789012:role/Binding",
            "--external-id",
            "too-short",
        ],
        &[],
    );
    rejected(&run, &["external-id", "between 32 and 64", "it has 9"]);
}

#[test]
fn use_assume_without_role_arn() {
    let (_dir, out) = temp_c1z("x.c1z");
    rejected(
        &run_baton_aws(NOWHERE, &["-f", out.to_str().unwrap(), "--use-assume"], &[]),
        &["use-assume", "role-arn"],
    );
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap()],
        &[("BATON_USE_ASSUME", "true")],
    );
    rejected(&run, &["use-assume", "role-arn"]);
}

#[test]
fn unwritable_output_path() {
    let run = run_baton_aws(NOWHERE, &["-f", "/nonexistent-dir/out.c1z"], &[]);
    rejected(&run, &["/nonexistent-dir/out.c1z", "does not exist"]);
    let dir = tempfile::tempdir().unwrap();
    let run = run_baton_aws(NOWHERE, &["-f", dir.path().to_str().unwrap()], &[]);
    rejected(&run, &["is a directory"]);
}

#[test]
fn config_file_values_apply_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("baton.yaml");
    std::fs::write(&config, "use-assume: true\nrole-arn: not-an-arn\n").unwrap();
    let out = dir.path().join("x.c1z");
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap()],
        &[("BATON_CONFIG_PATH", config.to_str().unwrap())],
    );
    rejected(&run, &["not-an-arn"]);
    let run = run_baton_aws(
        NOWHERE,
        &[
            "-f",
            out.to_str().unwrap(),
            "--role-arn",
            "arn:aws:iam::123456789012:role/x.y",
        ],
        &[
            ("BATON_CONFIG_PATH", config.to_str().unwrap()),
            ("BATON_ROLE_ARN", "also-bad"),
        ],
    );
    // The flag wins over both the environment and the file, so validation passes and the sync
    // only fails when it tries to reach AWS.
    assert!(
        !stderr(&run).contains("invalid role ARN"),
        "{}",
        stderr(&run)
    );
    let bad_ext = dir.path().join("baton.json");
    std::fs::write(&bad_ext, "{}").unwrap();
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap()],
        &[("BATON_CONFIG_PATH", bad_ext.to_str().unwrap())],
    );
    rejected(&run, &[".yaml or .yml"]);
}

#[test]
fn corrupt_existing_file_is_reported_and_kept() {
    let (_dir, out) = temp_c1z("corrupt.c1z");
    std::fs::write(&out, b"C1ZF\0\x28\xb5\x2f\xfd garbage").unwrap();
    let run = run_baton_aws(NOWHERE, &["-f", out.to_str().unwrap()], &[]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("truncated or corrupt"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"C1ZF\0\x28\xb5\x2f\xfd garbage"
    );
}

#[test]
fn capabilities_and_config_print_json() {
    let run = run_baton_aws(NOWHERE, &["capabilities"], &[]);
    assert!(run.status.success());
    let caps: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        caps["@type"],
        "type.googleapis.com/c1.connector.v2.ConnectorCapabilities"
    );
    assert_eq!(
        caps["resourceTypeCapabilities"].as_array().unwrap().len(),
        14
    );
    let run = run_baton_aws(NOWHERE, &["config"], &[]);
    assert!(run.status.success());
    let config: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(config["displayName"], "AWS");
    assert!(config["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "global-aws-sso-region"));
}

#[test]
fn misspelled_config_key_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("baton.yaml");
    std::fs::write(&config, "log-levle: debug\nlog-level: info\n").unwrap();
    let run = run_baton_aws(
        NOWHERE,
        &["capabilities"],
        &[("BATON_CONFIG_PATH", config.to_str().unwrap())],
    );
    assert!(
        run.status.success(),
        "an unknown key is not fatal: {}",
        stderr(&run)
    );
    let log = stderr(&run);
    assert!(
        log.contains("\"log-levle\" is not a flag of baton-aws"),
        "{log}"
    );
    assert!(
        !log.contains("\"log-level\""),
        "known keys are not reported: {log}"
    );
}

#[test]
fn bad_value_names_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.c1z");
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap()],
        &[("BATON_CONCURRENCY", "lots")],
    );
    rejected(
        &run,
        &[
            "lots",
            "--concurrency",
            "the environment variable BATON_CONCURRENCY",
        ],
    );

    let config = dir.path().join("baton.yaml");
    std::fs::write(&config, "concurrency: many\n").unwrap();
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap()],
        &[("BATON_CONFIG_PATH", config.to_str().unwrap())],
    );
    rejected(&run, &["many", "key \"concurrency\" in the config file"]);

    // A bad value typed on the command line needs no note.
    let run = run_baton_aws(
        NOWHERE,
        &["-f", out.to_str().unwrap(), "--concurrency", "some"],
        &[("BATON_CONCURRENCY", "8")],
    );
    rejected(&run, &["some"]);
    assert!(
        !stderr(&run).contains("note: the value comes from"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn boolean_variables_take_usual_spellings() {
    // Deployment files often write 1 or TRUE, as BATON_SKIP_CLEANUP already accepts.
    for value in ["1", "t", "TRUE", "True", "0", "false"] {
        let run = run_baton_aws(NOWHERE, &["capabilities"], &[("BATON_SYNC_SECRETS", value)]);
        assert!(
            run.status.success(),
            "BATON_SYNC_SECRETS={value}: {}",
            stderr(&run)
        );
    }
    let run = run_baton_aws(
        NOWHERE,
        &["capabilities"],
        &[("BATON_SYNC_SECRETS", "maybe")],
    );
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("the environment variable BATON_SYNC_SECRETS"),
        "{}",
        stderr(&run)
    );
}
