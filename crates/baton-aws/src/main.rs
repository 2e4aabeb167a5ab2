//! `baton-aws`: sync AWS IAM, Identity Center and Organizations into a c1z file.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use baton_aws::client;
use baton_aws::config::AwsArgs;
use baton_aws::provisioning::{AssignmentLimits, AwsProvisioner};
use baton_aws::AwsConnector;
use baton_sdk::cli::{init_logging, load_config_file, SdkArgs};
use baton_sdk::provision::{self, AccountInfo, AuditLog, Outcome, ProvisionError, Retry};
use baton_sdk::sync::{run_sync, SyncOptions};
use baton_sdk::Connector;
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
    /// Ask a running connector's health check server whether it is healthy (exit 0 if so).
    HealthCheck {
        /// The endpoint to ask: health, ready or live.
        #[arg(long, default_value = "health", value_parser = ["health", "ready", "live"])]
        endpoint: String,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Revoke every just-in-time grant past its expiry (see --grant-duration).
    RevokeExpired,
    /// Print the least-privilege IAM policy (and the trust policy) baton-aws needs for the chosen features.
    IamPolicy(baton_aws::policy::PolicyArgs),
}

/// Prints JSON to standard output; a closed pipe (as with `| head`) is not an error.
fn print_json(value: &serde_json::Value) -> ExitCode {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("json");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    ExitCode::SUCCESS
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    let message = message.to_string();
    eprintln!(
        "baton-aws: error: {}",
        message.strip_prefix("baton-aws: ").unwrap_or(&message)
    );
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let known: Vec<String> = Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    let config = match load_config_file(&known) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    if let Some(config) = &config {
        for key in &config.unknown_keys {
            eprintln!(
                "baton-aws: warning: config file {}: key {key:?} is not a flag of baton-aws and is ignored (keys are long flag names such as log-level; see baton-aws --help)",
                config.path.display()
            );
        }
    }
    // Built after the config file has set its variables, which clap reads as it builds.
    let mut command = Cli::command();
    let args: Vec<String> = std::env::args().collect();
    let cli = match command
        .try_get_matches_from_mut(&args)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let origin = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(|v| v.to_string());
            let note =
                origin.and_then(|flag| baton_sdk::cli::value_origin(&flag, &args, config.as_ref()));
            let code = e.exit_code();
            let _ = e.format(&mut command).print();
            if let Some(note) = note {
                eprintln!("note: {note}");
            }
            return ExitCode::from(code as u8);
        }
    };
    match cli.command {
        Some(Command::Capabilities) => return print_json(&baton_aws::schema::capabilities()),
        Some(Command::Config) => return print_json(&baton_aws::schema::config()),
        Some(Command::HealthCheck { endpoint, timeout }) => {
            let address = format!(
                "{}:{}",
                cli.sdk.health_check_bind_address, cli.sdk.health_check_port
            );
            return match baton_sdk::service::health::check(
                &address,
                &endpoint,
                Duration::from_secs(timeout),
            )
            .await
            {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => fail(format!("{address}/{endpoint} reports unhealthy")),
                Err(e) => fail(e),
            };
        }
        Some(Command::IamPolicy(args)) => {
            if let Err(e) = args.validate() {
                return fail(e);
            }
            return print_json(&baton_aws::policy::documents(&args));
        }
        Some(Command::RevokeExpired) | None => {}
    }
    init_logging(&cli.sdk.log_level, cli.sdk.effective_log_format());
    if let Err(e) = cli.sdk.validate() {
        return fail(e);
    }
    if let Err(e) = cli.aws.validate() {
        return fail(e);
    }

    let configs = client::load(
        &cli.aws,
        Duration::from_secs(cli.sdk.http_timeout_seconds as u64),
    )
    .await;
    let connector = AwsConnector::new(cli.aws.clone(), configs, &cli.sdk.sync_resource_types);
    if matches!(cli.command, Some(Command::RevokeExpired)) {
        return revoke_expired(&cli, &connector).await;
    }
    if cli.sdk.is_provisioning() {
        return provision(&cli, &connector).await;
    }
    if cli.sdk.is_service() {
        return serve(&cli, connector).await;
    }
    let mut options = SyncOptions::from_env();
    options.resource_types = cli.sdk.sync_resource_types.clone();
    options.skip_entitlements_and_grants = cli.sdk.skip_entitlements_and_grants;
    options.temp_dir = cli.sdk.c1z_temp_dir.clone();
    options.concurrency = cli.sdk.concurrency;
    match run_sync(&connector, &cli.sdk.file, &options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(format!(
            "sync failed, {} was left unchanged: {e}",
            cli.sdk.file.display()
        )),
    }
}

/// Runs as a ConductorOne-hosted connector until SIGTERM or Ctrl-C.
async fn serve(cli: &Cli, connector: AwsConnector) -> ExitCode {
    use baton_sdk::service::{api::Api, credentials::ClientCredentials, health, runner};
    let credentials = match ClientCredentials::parse(
        cli.sdk.client_id.as_deref().unwrap_or(""),
        cli.sdk.client_secret.as_deref().unwrap_or(""),
    ) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let host_id = std::env::var("BATON_HOST_ID")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| hostname_string())
        .unwrap_or_else(|| "baton-sdk".into());
    let version = env!("CARGO_PKG_VERSION");
    let api = match Api::new(credentials, host_id, version) {
        Ok(api) => Arc::new(api),
        Err(e) => return fail(e),
    };
    let state = Arc::new(health::HealthState::default());
    if cli.sdk.health_check {
        let address = format!(
            "{}:{}",
            cli.sdk.health_check_bind_address, cli.sdk.health_check_port
        );
        if let Err(e) = health::serve(address.clone(), state.clone()).await {
            return fail(format!("cannot serve health checks on {address}: {e}"));
        }
    }
    if let Err(e) = connector.validate().await {
        tracing::error!(error = %e, "the AWS set-up check failed; tasks will report it until it is fixed");
    }
    let factory = Arc::new(Factory {
        args: cli.aws.clone(),
        configs: connector.configs().clone(),
        sync_resource_types: cli.sdk.sync_resource_types.clone(),
        provisioning: cli.sdk.provisioning,
    });
    let metadata = baton_aws::schema::metadata();
    let mut sync = SyncOptions::from_env();
    sync.resource_types = cli.sdk.sync_resource_types.clone();
    sync.skip_entitlements_and_grants = cli.sdk.skip_entitlements_and_grants;
    sync.temp_dir = cli.sdk.c1z_temp_dir.clone();
    let options = runner::ServiceOptions {
        task_concurrency: cli.sdk.task_concurrency,
        skip_full_sync: cli.sdk.skip_full_sync,
        provisioning: cli.sdk.provisioning,
        sync,
        temp_dir: cli.sdk.c1z_temp_dir.clone(),
        package: "baton-aws".into(),
        version: version.into(),
        jit_state: cli.sdk.jit_state.clone(),
        jit_interval: Duration::from_secs(
            std::env::var("BATON_JIT_CHECK_INTERVAL_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&s: &u64| s > 0)
                .unwrap_or(60),
        ),
        audit: AuditLog::new(cli.sdk.audit_log.clone()),
    };
    let service = Arc::new(runner::Service {
        api,
        factory,
        metadata,
        options,
        health: state,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
        }
        let _ = stop.send(true);
    });
    match service.run(stopped).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Builds a fresh connector for each service task.
struct Factory {
    args: baton_aws::config::AwsArgs,
    configs: baton_aws::client::AwsConfigs,
    sync_resource_types: Vec<String>,
    provisioning: bool,
}

impl baton_sdk::service::runner::ConnectorFactory for Factory {
    fn build(
        &self,
    ) -> (
        Arc<dyn Connector>,
        Option<Arc<dyn baton_sdk::provision::Provisioner>>,
    ) {
        let connector = AwsConnector::new(
            self.args.clone(),
            self.configs.clone(),
            &self.sync_resource_types,
        );
        let provisioner: Option<Arc<dyn baton_sdk::provision::Provisioner>> =
            self.provisioning.then(|| {
                Arc::new(AwsProvisioner::new(
                    connector.ctx().clone(),
                    assignment_limits(&self.args),
                )) as Arc<dyn baton_sdk::provision::Provisioner>
            });
        (Arc::new(connector), provisioner)
    }
}

fn hostname_string() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn assignment_limits(aws: &baton_aws::config::AwsArgs) -> AssignmentLimits {
    AssignmentLimits {
        poll_interval: Duration::from_millis(aws.assignment_poll_interval_ms.max(1)),
        timeout: Duration::from_secs(aws.assignment_timeout_seconds),
        ..AssignmentLimits::default()
    }
}

/// Revokes every expired just-in-time grant recorded in the state file.
async fn revoke_expired(cli: &Cli, connector: &AwsConnector) -> ExitCode {
    let state = cli
        .sdk
        .jit_state
        .clone()
        .unwrap_or_else(|| baton_sdk::jit::default_state_path(&cli.sdk.file));
    if !state.exists() {
        println!(
            "no just-in-time state file at {}; nothing to revoke",
            state.display()
        );
        return ExitCode::SUCCESS;
    }
    let store = match baton_sdk::jit::JitStore::open(&state) {
        Ok(store) => store,
        Err(e) => return fail(e),
    };
    if let Err(e) = connector.validate().await {
        return fail(e);
    }
    let provisioner = AwsProvisioner::new(connector.ctx().clone(), assignment_limits(&cli.aws));
    let audit = AuditLog::new(cli.sdk.audit_log.clone());
    match baton_sdk::jit::revoke_expired(&provisioner, &store, &audit).await {
        Ok(report) => {
            println!(
                "revoked {} expired grants, {} were already revoked, {} failed, {} not expired yet",
                report.revoked,
                report.already_revoked,
                report.failed.len(),
                store.outstanding().unwrap_or_default() - report.failed.len() as i64
            );
            for (grant, error) in &report.failed {
                eprintln!("baton-aws: error: could not revoke expired grant {grant}: {error} (it will be retried)");
            }
            if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(e),
    }
}

/// Runs the one-shot provisioning mode the flags chose.
async fn provision(cli: &Cli, connector: &AwsConnector) -> ExitCode {
    if let Err(e) = connector.validate().await {
        return fail(e);
    }
    let provisioner = AwsProvisioner::new(connector.ctx().clone(), assignment_limits(&cli.aws));
    let audit = AuditLog::new(cli.sdk.audit_log.clone());
    let retry = Retry::default();
    let sdk = &cli.sdk;
    let result: Result<String, ProvisionError> = if let Some(entitlement) = &sdk.grant_entitlement {
        let (ptype, pid) = (
            sdk.grant_principal_type.clone().unwrap_or_default(),
            sdk.grant_principal.clone().unwrap_or_default(),
        );
        let duration = sdk
            .grant_duration
            .as_deref()
            .map(baton_sdk::jit::parse_duration)
            .transpose()
            .unwrap_or_default();
        let expires_at =
            duration.map(|d| time::OffsetDateTime::now_utc().unix_timestamp() + d.as_secs() as i64);
        let context = provision::GrantContext {
            reason: sdk.grant_reason.clone(),
            expires_at: expires_at.map(baton_sdk::jit::rfc3339),
        };
        match provision::grant(&provisioner, &sdk.file, entitlement, &ptype, &pid, &context, &audit, &retry).await {
            Ok((change, subject)) => match (change.outcome, expires_at) {
                (Outcome::Done, Some(at)) => {
                    let state = sdk.jit_state.clone().unwrap_or_else(|| baton_sdk::jit::default_state_path(&sdk.file));
                    let recorded = baton_sdk::jit::JitStore::open(&state)
                        .and_then(|store| store.record(&subject, at, sdk.grant_reason.as_deref().unwrap_or("")));
                    match recorded {
                        Ok(()) => Ok(format!(
                            "granted {entitlement} to {ptype}:{pid} until {}; run `baton-aws revoke-expired` (or service mode) to revoke it then{}",
                            baton_sdk::jit::rfc3339(at),
                            note(&change.note)
                        )),
                        Err(e) => Err(ProvisionError::NotFound(format!(
                            "granted {entitlement} to {ptype}:{pid}, but its expiry could not be recorded ({e}); revoke it by hand"
                        ))),
                    }
                }
                (Outcome::Done, None) => Ok(format!("granted {entitlement} to {ptype}:{pid}{}", note(&change.note))),
                (Outcome::AlreadyDone, Some(_)) => Ok(format!(
                    "{ptype}:{pid} already has {entitlement}; nothing changed, and no expiry was set because the access existed before"
                )),
                (Outcome::AlreadyDone, None) => Ok(format!("{ptype}:{pid} already has {entitlement}; nothing changed")),
            },
            Err(e) => Err(e),
        }
    } else if let Some(grant) = &sdk.revoke_grant {
        provision::revoke(&provisioner, &sdk.file, grant, &audit, &retry)
            .await
            .map(|change| match change.outcome {
                Outcome::Done => format!("revoked {grant}{}", note(&change.note)),
                Outcome::AlreadyDone => format!("{grant} was already revoked; nothing changed"),
            })
    } else if let Some(resource) = &sdk.delete_resource {
        let id = baton_sdk::types::rid(
            sdk.delete_resource_type.as_deref().unwrap_or_default(),
            resource,
        );
        provision::delete_resource(&provisioner, &sdk.file, &id, &audit, &retry)
            .await
            .map(|change| match change.outcome {
                Outcome::Done => format!("deleted {}:{resource}", id.resource_type),
                Outcome::AlreadyDone => format!(
                    "{}:{resource} does not exist; nothing changed",
                    id.resource_type
                ),
            })
    } else {
        match account_info(sdk) {
            Ok(info) => provision::create_account(
                &provisioner,
                &cli.aws.create_account_resource_type,
                &info,
                &audit,
                &retry,
            )
            .await
            .map(|created| {
                let id = created.resource.id.clone().unwrap_or_default();
                if created.already_existed {
                    format!(
                        "{}:{} already exists; nothing changed",
                        id.resource_type, id.resource
                    )
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
    note.as_ref()
        .map(|n| format!(" (note: {n})"))
        .unwrap_or_default()
}

/// The account of `--create-account-*`: the profile JSON object, with the
/// login and e-mail added when the profile lacks them.
fn account_info(sdk: &SdkArgs) -> Result<AccountInfo, String> {
    let mut profile = prost_types::Struct::default();
    if let Some(text) = sdk
        .create_account_profile
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!("create-account-profile is empty or incorrectly formatted: {e}")
        })?;
        let serde_json::Value::Object(map) = value else {
            return Err(
                "create-account-profile is empty or incorrectly formatted: expected a JSON object"
                    .into(),
            );
        };
        for (key, value) in map {
            profile.fields.insert(key, json_to_value(value));
        }
    }
    let login = sdk.create_account_login.clone().unwrap_or_default();
    let email = sdk.create_account_email.clone().unwrap_or_default();
    for (key, value) in [("login", &login), ("email", &email)] {
        if !value.is_empty() && !profile.fields.contains_key(key) {
            profile.fields.insert(
                key.into(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue(value.clone())),
                },
            );
        }
    }
    Ok(AccountInfo {
        login,
        emails: (!email.is_empty()).then(|| vec![email]).unwrap_or_default(),
        profile,
    })
}

fn json_to_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}
