//! The container image and Kubernetes manifests, checked without a
//! container engine: the manifests parse, the Dockerfile runs the binary as
//! a non-root user, and every BATON_* variable they set is one the binary
//! reads.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `BATON_*` variable the binary's help lists.
fn known_variables() -> Vec<String> {
    let help = Command::new(env!("CARGO_BIN_EXE_baton-aws"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    text.split("env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn manifests_parse_and_use_known_variables() {
    let known = known_variables();
    assert!(known.contains(&"BATON_CLIENT_ID".to_string()), "{known:?}");
    for file in [
        "deploy/kubernetes/deployment.yaml",
        "deploy/kubernetes/secret.yaml",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
        let mut names = Vec::new();
        if let Some(data) = doc.get("stringData").and_then(|d| d.as_mapping()) {
            names.extend(data.keys().filter_map(|k| k.as_str().map(str::to_string)));
        }
        if let Some(containers) = doc["spec"]["template"]["spec"]["containers"].as_sequence() {
            for container in containers {
                for env in container["env"].as_sequence().into_iter().flatten() {
                    names.push(env["name"].as_str().unwrap().to_string());
                }
                assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/live");
                assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
                assert!(
                    container["resources"]["requests"]["memory"].is_string(),
                    "resource requests are set"
                );
                let args: Vec<&str> = container["args"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect();
                assert!(args.contains(&"--health-check"));
            }
        }
        for name in names
            .iter()
            .filter(|n| n.starts_with("BATON_") && *n != "BATON_HOST_ID")
        {
            assert!(
                known.contains(name),
                "{file} sets {name}, which baton-aws does not read"
            );
        }
    }
}

#[test]
fn dockerfile_builds_the_binary_and_runs_as_non_root() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("FROM ")).count(),
        2,
        "a build stage and a runtime stage"
    );
    assert!(text.contains("cargo build --release --locked -p baton-aws"));
    assert!(text
        .lines()
        .any(|l| l.starts_with("USER ") && l.contains("nonroot")));
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/baton-aws"]"#));
}
