//! Command-line plumbing shared by connectors: the SDK's own flags, the
//! `.baton.yaml` config file, and logging.
//!
//! Precedence is that of the Go SDK: flags, then `BATON_*` environment
//! variables, then the config file, then defaults. The config file is applied
//! by [`load_config_file`], which sets `BATON_<KEY>` for each key the
//! environment does not already set, before clap parses.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

/// Flags every connector has (the SDK defaults that a one-shot sync uses).
#[derive(Debug, Clone, Args)]
pub struct SdkArgs {
    /// The path of the c1z file to sync into (or to read for provisioning).
    #[arg(
        short = 'f',
        long = "file",
        env = "BATON_FILE",
        default_value = "sync.c1z",
        global = true
    )]
    pub file: PathBuf,

    /// The log level: debug, info, warn or error.
    #[arg(long = "log-level", env = "BATON_LOG_LEVEL", default_value = "info", global = true,
          value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// The log format: json, or console for people. Defaults to console when
    /// standard output is a terminal, else json.
    #[arg(long = "log-format", env = "BATON_LOG_FORMAT", global = true, value_parser = ["json", "console"])]
    pub log_format: Option<String>,

    /// The client id for ConductorOne service mode.
    #[arg(long = "client-id", env = "BATON_CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,

    /// The client secret for ConductorOne service mode.
    #[arg(
        long = "client-secret",
        env = "BATON_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// Enable provisioning actions (service mode).
    #[arg(short = 'p', long = "provisioning", env = "BATON_PROVISIONING", value_parser = clap::builder::BoolishValueParser::new())]
    pub provisioning: bool,

    /// Service mode: tasks worked at once (1-100).
    #[arg(
        long = "task-concurrency",
        env = "BATON_TASK_CONCURRENCY",
        default_value_t = 3
    )]
    pub task_concurrency: usize,

    /// Service mode: finish sync tasks with an empty finished sync.
    #[arg(long = "skip-full-sync", env = "BATON_SKIP_FULL_SYNC", value_parser = clap::builder::BoolishValueParser::new())]
    pub skip_full_sync: bool,

    /// Service mode: serve /health, /ready and /live over HTTP.
    #[arg(long = "health-check", env = "BATON_HEALTH_CHECK", value_parser = clap::builder::BoolishValueParser::new())]
    pub health_check: bool,

    /// The port of the health check server.
    #[arg(
        long = "health-check-port",
        env = "BATON_HEALTH_CHECK_PORT",
        default_value_t = 8081,
        global = true
    )]
    pub health_check_port: u16,

    /// The address the health check server binds to.
    #[arg(
        long = "health-check-bind-address",
        env = "BATON_HEALTH_CHECK_BIND_ADDRESS",
        default_value = "127.0.0.1",
        global = true
    )]
    pub health_check_bind_address: String,

    /// Sync only these resource type ids (comma-separated).
    #[arg(
        long = "sync-resource-types",
        env = "BATON_SYNC_RESOURCE_TYPES",
        value_delimiter = ','
    )]
    pub sync_resource_types: Vec<String>,

    /// Sync resources only, without entitlements and grants.
    #[arg(
        long = "skip-entitlements-and-grants",
        env = "BATON_SKIP_ENTITLEMENTS_AND_GRANTS"
    , value_parser = clap::builder::BoolishValueParser::new())]
    pub skip_entitlements_and_grants: bool,

    /// A directory for the working copy of the c1z database (must exist).
    #[arg(long = "c1z-temp-dir", env = "BATON_C1Z_TEMP_DIR", hide = true)]
    pub c1z_temp_dir: Option<PathBuf>,

    /// The storage engine. Only sqlite (the c1z v1 format) is written; an empty value means sqlite.
    #[arg(
        long = "storage-engine",
        env = "BATON_STORAGE_ENGINE",
        default_value = ""
    )]
    pub storage_engine: String,

    /// Sync parallelism of the Go SDK (accepted for compatibility; --concurrency sets it here).
    #[arg(
        long = "workers",
        env = "BATON_WORKERS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub workers: i64,

    /// Connector calls (listing pages) a sync keeps in flight at once (at least 1).
    #[arg(long = "concurrency", env = "BATON_CONCURRENCY", default_value_t = crate::sync::DEFAULT_CONCURRENCY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub concurrency: usize,

    /// Grant this entitlement id (from the c1z at --file) to --grant-principal.
    #[arg(long = "grant-entitlement", env = "BATON_GRANT_ENTITLEMENT", requires_all = ["grant_principal", "grant_principal_type"],
          conflicts_with_all = ["revoke_grant", "create_account_login", "create_account_email", "delete_resource"])]
    pub grant_entitlement: Option<String>,

    /// The resource id of the principal to grant to, as in the c1z.
    #[arg(
        long = "grant-principal",
        env = "BATON_GRANT_PRINCIPAL",
        requires = "grant_entitlement"
    )]
    pub grant_principal: Option<String>,

    /// The resource type of the principal to grant to (for example iam_user, sso_user, sso_group).
    #[arg(
        long = "grant-principal-type",
        env = "BATON_GRANT_PRINCIPAL_TYPE",
        requires = "grant_entitlement"
    )]
    pub grant_principal_type: Option<String>,

    /// Make the grant just-in-time: it expires after this long (for example 30m, 4h, 1h30m) and `revoke-expired` revokes it.
    #[arg(
        long = "grant-duration",
        env = "BATON_GRANT_DURATION",
        requires = "grant_entitlement"
    )]
    pub grant_duration: Option<String>,

    /// Why the access is granted (a ticket or a justification); recorded in the audit log and with the expiry.
    #[arg(
        long = "grant-reason",
        env = "BATON_GRANT_REASON",
        requires = "grant_entitlement"
    )]
    pub grant_reason: Option<String>,

    /// The just-in-time state file that records expiring grants (default: <file>.jit.sqlite next to the c1z).
    #[arg(long = "jit-state", env = "BATON_JIT_STATE", global = true)]
    pub jit_state: Option<PathBuf>,

    /// Revoke this grant id (from the c1z at --file).
    #[arg(long = "revoke-grant", env = "BATON_REVOKE_GRANT", conflicts_with_all = ["create_account_login", "create_account_email", "delete_resource"])]
    pub revoke_grant: Option<String>,

    /// Create an account with this login (user name).
    #[arg(
        long = "create-account-login",
        env = "BATON_CREATE_ACCOUNT_LOGIN",
        conflicts_with = "delete_resource"
    )]
    pub create_account_login: Option<String>,

    /// The e-mail address of the account to create.
    #[arg(
        long = "create-account-email",
        env = "BATON_CREATE_ACCOUNT_EMAIL",
        conflicts_with = "delete_resource"
    )]
    pub create_account_email: Option<String>,

    /// A JSON object of account profile fields (for example {"given_name":"Jane","family_name":"Doe"}).
    #[arg(long = "create-account-profile", env = "BATON_CREATE_ACCOUNT_PROFILE")]
    pub create_account_profile: Option<String>,

    /// Delete the resource with this id (with --delete-resource-type).
    #[arg(
        long = "delete-resource",
        env = "BATON_DELETE_RESOURCE",
        requires = "delete_resource_type"
    )]
    pub delete_resource: Option<String>,

    /// The resource type of --delete-resource (iam_user or sso_user).
    #[arg(
        long = "delete-resource-type",
        env = "BATON_DELETE_RESOURCE_TYPE",
        requires = "delete_resource"
    )]
    pub delete_resource_type: Option<String>,

    /// Append every provisioning action (grant, revoke, create, delete) to this file as JSON lines.
    #[arg(long = "audit-log", env = "BATON_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Timeout of one HTTP request to AWS, in seconds (1-1800).
    #[arg(
        long = "http-timeout-seconds",
        env = "BATON_HTTP_TIMEOUT_SECONDS",
        default_value_t = 300
    )]
    pub http_timeout_seconds: i64,
}

/// A configuration error found before any call to the source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl SdkArgs {
    /// Checks the SDK fields the way the Go SDK does, with its messages.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1800).contains(&self.http_timeout_seconds) {
            return Err(ConfigError(format!(
                "field http-timeout-seconds: value must be between 1 and 1800 but got {}",
                self.http_timeout_seconds
            )));
        }
        match self.storage_engine.as_str() {
            "" | "sqlite" => {}
            "pebble" => {
                return Err(ConfigError(
                    "--storage-engine pebble: this connector writes only the c1z v1 (sqlite) format; drop the flag or pass sqlite".into(),
                ))
            }
            other => return Err(ConfigError(format!("--storage-engine {other:?}: expected sqlite"))),
        }
        if let Some(dir) = &self.c1z_temp_dir {
            if !dir.is_dir() {
                return Err(ConfigError(format!(
                    "--c1z-temp-dir {}: no such directory; create it or drop the flag",
                    dir.display()
                )));
            }
        }
        if !(1..=100).contains(&self.task_concurrency) {
            return Err(ConfigError(format!(
                "field task-concurrency: value must be between 1 and 100 but got {}",
                self.task_concurrency
            )));
        }
        if self.is_service() {
            if self.is_provisioning() {
                return Err(ConfigError("service mode (--client-id) cannot be combined with the one-shot provisioning flags".into()));
            }
            if self.client_secret.as_deref().unwrap_or("").is_empty() {
                return Err(ConfigError(
                    "client-secret is required in service mode".into(),
                ));
            }
            return Ok(());
        }
        match (&self.client_id, &self.client_secret) {
            (Some(id), None) if !id.is_empty() => {
                return Err(ConfigError(
                    "client-secret is required in service mode".into(),
                ))
            }
            (None, Some(s)) if !s.is_empty() => {
                return Err(ConfigError("client-id is required in service mode".into()))
            }
            _ => {}
        }
        if let Some(path) = &self.audit_log {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            if !dir.is_dir() {
                return Err(ConfigError(format!(
                    "--audit-log {}: the directory {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
        }
        if let Some(profile) = self
            .create_account_profile
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            match serde_json::from_str::<serde_json::Value>(profile) {
                Ok(serde_json::Value::Object(_)) => {}
                Ok(_) => return Err(ConfigError("--create-account-profile: expected a JSON object such as {\"given_name\":\"Jane\"}".into())),
                Err(e) => return Err(ConfigError(format!("--create-account-profile is not valid JSON ({e}); expected an object such as {{\"given_name\":\"Jane\"}}"))),
            }
        }
        if let Some(duration) = &self.grant_duration {
            crate::jit::parse_duration(duration)
                .map_err(|e| ConfigError(format!("--grant-duration: {e}")))?;
        }
        if self.is_provisioning() {
            let reads_file = self.grant_entitlement.is_some() || self.revoke_grant.is_some();
            if reads_file && !self.file.is_file() {
                return Err(ConfigError(format!(
                    "--file {}: provisioning reads the ids from a c1z written by a sync, and there is none; sync first",
                    self.file.display()
                )));
            }
            return Ok(());
        }
        self.check_output_writable()
    }

    /// Whether service mode (a ConductorOne client id) was chosen.
    pub fn is_service(&self) -> bool {
        self.client_id.as_deref().is_some_and(|id| !id.is_empty())
    }

    /// Whether a one-shot provisioning mode was chosen.
    pub fn is_provisioning(&self) -> bool {
        self.grant_entitlement.is_some()
            || self.revoke_grant.is_some()
            || self.create_account_login.is_some()
            || self.create_account_email.is_some()
            || self.create_account_profile.is_some()
            || self.delete_resource.is_some()
    }

    /// Whether the c1z can be written: its directory exists and is writable,
    /// and the path is not a directory.
    pub fn check_output_writable(&self) -> Result<(), ConfigError> {
        let path = &self.file;
        if path.is_dir() {
            return Err(ConfigError(format!(
                "--file {}: is a directory; give a file path such as sync.c1z",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(ConfigError(format!(
                "--file {}: the directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        let probe = dir.join(format!(".baton-write-check-{}", std::process::id()));
        match std::fs::File::create(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
                Ok(())
            }
            Err(e) => Err(ConfigError(format!(
                "--file {}: cannot write in {} ({e}); choose a writable location",
                path.display(),
                dir.display()
            ))),
        }
    }

    /// The log format in effect.
    pub fn effective_log_format(&self) -> &str {
        match self.log_format.as_deref() {
            Some(format) => format,
            None if std::io::stdout().is_terminal() => "console",
            None => "json",
        }
    }
}

/// A config file that was applied.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Keys that name no flag of the program; they were ignored.
    pub unknown_keys: Vec<String>,
    /// The `BATON_*` variables this file set, with the key that set each.
    pub applied: Vec<(String, String)>,
}

impl ConfigFile {
    /// Returns the config key that supplied environment variable `env`, if any.
    pub fn key_for(&self, env: &str) -> Option<&str> {
        self.applied
            .iter()
            .find(|(e, _)| e == env)
            .map(|(_, key)| key.as_str())
    }
}

/// Returns the environment variable of a long flag: `BATON_` and the name
/// in upper case with `_` for `-`.
pub fn env_name(long: &str) -> String {
    format!("BATON_{}", long.replace('-', "_").to_uppercase())
}

/// Applies `.baton.yaml` (or the file named by `BATON_CONFIG_PATH`): each
/// top-level key becomes `BATON_<KEY>` unless the environment already sets it.
/// `known_keys` are the long flag names; other keys are ignored and returned
/// in [`ConfigFile::unknown_keys`] so the caller can warn about them.
pub fn load_config_file(known_keys: &[String]) -> Result<Option<ConfigFile>, ConfigError> {
    let (path, explicit) = match std::env::var_os("BATON_CONFIG_PATH") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (PathBuf::from(".baton.yaml"), false),
    };
    if explicit {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "yaml" && ext != "yml" {
            return Err(ConfigError(format!(
                "BATON_CONFIG_PATH {}: expected config file to have .yaml or .yml extension",
                path.display()
            )));
        }
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => return Err(ConfigError(format!("config file {}: {e}", path.display()))),
    };
    let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        ConfigError(format!(
            "config file {}: not valid YAML: {e}",
            path.display()
        ))
    })?;
    let serde_yaml::Value::Mapping(map) = value else {
        if value.is_null() {
            return Ok(Some(ConfigFile {
                path,
                ..Default::default()
            }));
        }
        return Err(ConfigError(format!(
            "config file {}: expected a mapping of field names to values",
            path.display()
        )));
    };
    let mut file = ConfigFile {
        path: path.clone(),
        ..Default::default()
    };
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        if !known_keys.is_empty() && !known_keys.iter().any(|k| k == key) {
            file.unknown_keys.push(key.to_string());
            continue;
        }
        let env = env_name(key);
        if std::env::var_os(&env).is_some() {
            continue;
        }
        let text = match value {
            serde_yaml::Value::String(s) => s,
            serde_yaml::Value::Bool(b) => b.to_string(),
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Sequence(items) => items
                .iter()
                .filter_map(|v| match v {
                    serde_yaml::Value::String(s) => Some(s.clone()),
                    other => serde_yaml::to_string(other)
                        .ok()
                        .map(|s| s.trim().to_string()),
                })
                .collect::<Vec<_>>()
                .join(","),
            serde_yaml::Value::Null => continue,
            other => {
                return Err(ConfigError(format!(
                    "config file {}: key {key}: unsupported value {other:?}",
                    path.display()
                )))
            }
        };
        // Safe here: called once at start-up before any thread is spawned.
        unsafe { std::env::set_var(&env, text) };
        file.applied.push((env, key.to_string()));
    }
    Ok(Some(file))
}

/// Says where the value of a rejected flag came from when it was not the
/// command line: `invalid` is the flag as clap names it (`--concurrency <N>`).
pub fn value_origin(invalid: &str, args: &[String], config: Option<&ConfigFile>) -> Option<String> {
    let long = invalid
        .trim_start_matches('-')
        .split([' ', '='])
        .next()?
        .to_string();
    let on_command_line = args
        .iter()
        .any(|a| a == &format!("--{long}") || a.starts_with(&format!("--{long}=")));
    if on_command_line {
        return None;
    }
    let env = env_name(&long);
    std::env::var_os(&env)?;
    Some(
        match config.and_then(|c| c.key_for(&env).map(|key| (key, c.path.display()))) {
            Some((key, path)) => {
                format!("the value comes from key {key:?} in the config file {path}")
            }
            None => format!("the value comes from the environment variable {env}"),
        },
    )
}

/// Starts logging to standard error in the chosen format and level.
pub fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},aws_config=warn,aws_smithy_runtime=warn,hyper=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
