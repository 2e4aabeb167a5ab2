//! `baton-aws`: sync AWS IAM, Identity Center and Organizations into a c1z file.

use std::process::ExitCode;
use std::time::Duration;

use baton_aws::client;
use baton_aws::config::AwsArgs;
use baton_aws::AwsConnector;
use baton_sdk::cli::{init_logging, load_config_file, SdkArgs};
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
        Some(Command::Capabilities) => {
            println!("{}", serde_json::to_string_pretty(&baton_aws::schema::capabilities()).expect("json"));
            return ExitCode::SUCCESS;
        }
        Some(Command::Config) => {
            println!("{}", serde_json::to_string_pretty(&baton_aws::schema::config()).expect("json"));
            return ExitCode::SUCCESS;
        }
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
    let mut options = SyncOptions::from_env();
    options.resource_types = cli.sdk.sync_resource_types.clone();
    options.skip_entitlements_and_grants = cli.sdk.skip_entitlements_and_grants;
    options.temp_dir = cli.sdk.c1z_temp_dir.clone();
    match run_sync(&connector, &cli.sdk.file, &options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(format!("sync failed, {} was left unchanged: {e}", cli.sdk.file.display())),
    }
}
