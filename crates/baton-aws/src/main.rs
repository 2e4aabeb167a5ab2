//! `baton-aws`: sync AWS IAM, Identity Center and Organizations into a c1z file.

use std::process::ExitCode;
use std::time::Duration;

use baton_aws::client;
use baton_aws::config::AwsArgs;
use baton_aws::AwsConnector;
use baton_aws::provisioning::{AssignmentLimits, AwsProvisioner};
use baton_sdk::cli::{init_logging, load_config_file, SdkArgs};
use baton_sdk::provision::{self, AccountInfo, AuditLog, Outcome, ProvisionError, Retry};
use baton_sdk::Connector;
use baton_sdk::sync::{run_sync, SyncOptions};
use clap::{Parser, Subcommand};

/// Syncs AWS IAM, IAM Identity Center and AWS Organizations into a c1z file that the
/// baton CLI and ConductorOne read. Every flag can also be set with a
/// BATON_* environment variable or a key in .baton.yaml.
#[derive(Parser, Debug)]
#[command(name = "baton-aws", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    sdk: SdkArgs,

    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the connector's capabilities as JSON.
    Capabilities,
    /// Print the connector's configuration schema as JSON.
    Config,
}

/// Prints JSON to standard output; a closed pipe (as with `| head`) is not an error.
fn print_json(value: &serde_json::Value) -> ExitCode {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("json");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    ExitCode::SUCCESS
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("baton-aws: error: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = load_config_file() {
        return fail(e);
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Capabilities) => return print_json(&baton_aws::schema::capabilities()),
        Some(Command::Config) => return print_json(&baton_aws::schema::config()),
        None => {}
    }
    init_logging(&cli.sdk.log_level, cli.sdk.effective_log_format());
    if let Err(e) = cli.sdk.validate() {
        return fail(e);
    }
    if let Err(e) = cli.aws.validate() {
        return fail(e);
    }
    if cli.sdk.client_id.as_deref().is_some_and(|id| !id.is_empty()) {
        return fail("service mode (--client-id/--client-secret) is not in this build yet; run without them for a one-shot sync");
    }
    if cli.aws.sync_sso_user_last_login {
        return fail("--sync-sso-user-last-login needs Identity Center, which is not in this build yet");
    }

    let configs = client::load(&cli.aws, Duration::from_secs(cli.sdk.http_timeout_seconds as u64)).await;
    let connector = AwsConnector::new(cli.aws.clone(), configs, &cli.sdk.sync_resource_types);
    if cli.sdk.is_provisioning() {
        return provision(&cli, &connector).await;
    }
    let mut options = SyncOptions::from_env();
    options.resource_types = cli.sdk.sync_resource_types.clone();
    options.skip_entitlements_and_grants = cli.sdk.skip_entitlements_and_grants;
    options.temp_dir = cli.sdk.c1z_temp_dir.clone();
    match run_sync(&connector, &cli.sdk.file, &options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(format!("sync failed, {} was left unchanged: {e}", cli.sdk.file.display())),
    }
}

/// Runs the one-shot provisioning mode the flags chose.
async fn provision(cli: &Cli, connector: &AwsConnector) -> ExitCode {
    if let Err(e) = connector.validate().await {
        return fail(e);
    }
    let limits = AssignmentLimits {
        poll_interval: Duration::from_millis(cli.aws.assignment_poll_interval_ms.max(1)),
        timeout: Duration::from_secs(cli.aws.assignment_timeout_seconds),
        ..AssignmentLimits::default()
    };
    let provisioner = AwsProvisioner::new(connector.ctx().clone(), limits);
    let audit = AuditLog::new(cli.sdk.audit_log.clone());
    let retry = Retry::default();
    let sdk = &cli.sdk;
    let result: Result<String, ProvisionError> = if let Some(entitlement) = &sdk.grant_entitlement {
        let (ptype, pid) = (sdk.grant_principal_type.clone().unwrap_or_default(), sdk.grant_principal.clone().unwrap_or_default());
        provision::grant(&provisioner, &sdk.file, entitlement, &ptype, &pid, &audit, &retry).await.map(|change| match change.outcome {
            Outcome::Done => format!("granted {entitlement} to {ptype}:{pid}{}", note(&change.note)),
            Outcome::AlreadyDone => format!("{ptype}:{pid} already has {entitlement}; nothing changed"),
        })
    } else if let Some(grant) = &sdk.revoke_grant {
        provision::revoke(&provisioner, &sdk.file, grant, &audit, &retry).await.map(|change| match change.outcome {
            Outcome::Done => format!("revoked {grant}{}", note(&change.note)),
            Outcome::AlreadyDone => format!("{grant} was already revoked; nothing changed"),
        })
    } else if let Some(resource) = &sdk.delete_resource {
        let id = baton_sdk::types::rid(sdk.delete_resource_type.as_deref().unwrap_or_default(), resource);
        provision::delete_resource(&provisioner, &sdk.file, &id, &audit, &retry).await.map(|change| match change.outcome {
            Outcome::Done => format!("deleted {}:{resource}", id.resource_type),
            Outcome::AlreadyDone => format!("{}:{resource} does not exist; nothing changed", id.resource_type),
        })
    } else {
        match account_info(sdk) {
            Ok(info) => provision::create_account(&provisioner, &cli.aws.create_account_resource_type, &info, &audit, &retry).await.map(|created| {
                let id = created.resource.id.clone().unwrap_or_default();
                if created.already_existed {
                    format!("{}:{} already exists; nothing changed", id.resource_type, id.resource)
                } else {
                    format!("created {}:{}", id.resource_type, id.resource)
                }
            }),
            Err(message) => return fail(message),
        }
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn note(note: &Option<String>) -> String {
    note.as_ref().map(|n| format!(" (note: {n})")).unwrap_or_default()
}

/// The account of `--create-account-*`: the profile JSON object, with the
/// login and e-mail added when the profile lacks them.
fn account_info(sdk: &SdkArgs) -> Result<AccountInfo, String> {
    let mut profile = prost_types::Struct::default();
    if let Some(text) = sdk.create_account_profile.as_deref().filter(|t| !t.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("create-account-profile is empty or incorrectly formatted: {e}"))?;
        let serde_json::Value::Object(map) = value else {
            return Err("create-account-profile is empty or incorrectly formatted: expected a JSON object".into());
        };
        for (key, value) in map {
            profile.fields.insert(key, json_to_value(value));
        }
    }
    let login = sdk.create_account_login.clone().unwrap_or_default();
    let email = sdk.create_account_email.clone().unwrap_or_default();
    for (key, value) in [("login", &login), ("email", &email)] {
        if !value.is_empty() && !profile.fields.contains_key(key) {
            profile.fields.insert(key.into(), prost_types::Value { kind: Some(prost_types::value::Kind::StringValue(value.clone())) });
        }
    }
    Ok(AccountInfo { login, emails: (!email.is_empty()).then(|| vec![email]).unwrap_or_default(), profile })
}

fn json_to_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue { values: items.into_iter().map(json_to_value).collect() }),
        serde_json::Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.into_iter().map(|(k, v)| (k, json_to_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}
