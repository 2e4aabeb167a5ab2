//! The connector's configuration: every flag and `BATON_*` variable of the
//! Go baton-aws, and the checks made before any AWS call.

use clap::Args;

/// Regions where IAM Identity Center can run, as the Go connector lists them.
pub const SSO_REGIONS: &[&str] = &[
    "us-east-2",
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-southeast-3",
    "ap-south-1",
    "ap-northeast-3",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-south-1",
    "eu-west-3",
    "eu-north-1",
    "me-south-1",
    "me-central-1",
    "sa-east-1",
];

/// AWS connector settings. Each flag also reads `BATON_<NAME>` and the
/// `.baton.yaml` key of the same name.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The external id sts:AssumeRole sends for --role-arn (32-64 characters with a binding role).
    #[arg(
        long = "external-id",
        env = "BATON_EXTERNAL_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub external_id: String,

    /// A static access key id for the base credentials (with --global-secret-access-key).
    #[arg(
        long = "global-access-key-id",
        env = "BATON_GLOBAL_ACCESS_KEY_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub global_access_key_id: String,

    /// The static secret access key for the base credentials.
    #[arg(
        long = "global-secret-access-key",
        env = "BATON_GLOBAL_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub global_secret_access_key: String,

    /// Sync AWS Organizations: accounts, root and organizational units.
    #[arg(
        long = "global-aws-orgs-enabled",
        env = "BATON_GLOBAL_AWS_ORGS_ENABLED"
    , value_parser = clap::builder::BoolishValueParser::new())]
    pub orgs_enabled: bool,

    /// Sync IAM Identity Center users, groups, permission sets and assignments (requires Organizations).
    #[arg(long = "global-aws-sso-enabled", env = "BATON_GLOBAL_AWS_SSO_ENABLED", value_parser = clap::builder::BoolishValueParser::new())]
    pub sso_enabled: bool,

    /// Also sync the IAM of member accounts when Identity Center is enabled.
    #[arg(
        long = "global-aws-cross-account-iam-enabled",
        env = "BATON_GLOBAL_AWS_CROSS_ACCOUNT_IAM_ENABLED"
    , value_parser = clap::builder::BoolishValueParser::new())]
    pub cross_account_iam_enabled: bool,

    /// The region of the IAM Identity Center instance.
    #[arg(
        long = "global-aws-sso-region",
        env = "BATON_GLOBAL_AWS_SSO_REGION",
        default_value = "us-east-1"
    )]
    pub sso_region: String,

    /// The external id for the binding (first hop) role of --global-role-arn.
    #[arg(
        long = "global-binding-external-id",
        env = "BATON_GLOBAL_BINDING_EXTERNAL_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub binding_external_id: String,

    /// The region for IAM, STS and Organizations (default: the AWS configuration chain).
    #[arg(
        long = "global-region",
        env = "BATON_GLOBAL_REGION",
        default_value = ""
    )]
    pub global_region: String,

    /// A binding role assumed first; --role-arn is then assumed from it (two hops).
    #[arg(
        long = "global-role-arn",
        env = "BATON_GLOBAL_ROLE_ARN",
        default_value = ""
    )]
    pub global_role_arn: String,

    /// The role to assume for every AWS call (with --use-assume).
    #[arg(long = "role-arn", env = "BATON_ROLE_ARN", default_value = "")]
    pub role_arn: String,

    /// Assume --role-arn instead of using the base credentials directly.
    #[arg(long = "use-assume", env = "BATON_USE_ASSUME", value_parser = clap::builder::BoolishValueParser::new())]
    pub use_assume: bool,

    /// Sync IAM access keys as secrets (resource type access-key).
    #[arg(long = "sync-secrets", env = "BATON_SYNC_SECRETS", value_parser = clap::builder::BoolishValueParser::new())]
    pub sync_secrets: bool,

    /// The role assumed in each member account for cross-account IAM.
    #[arg(
        long = "iam-assume-role-name",
        env = "BATON_IAM_ASSUME_ROLE_NAME",
        default_value = "OrganizationAccountAccessRole"
    )]
    pub iam_assume_role_name: String,

    /// Set each Identity Center user's last login from CloudTrail sign-in events (90 days; needs cloudtrail:LookupEvents).
    #[arg(
        long = "sync-sso-user-last-login",
        env = "BATON_SYNC_SSO_USER_LAST_LOGIN"
    , value_parser = clap::builder::BoolishValueParser::new())]
    pub sync_sso_user_last_login: bool,

    /// List only managed policies attached to at least one identity.
    #[arg(
        long = "sync-only-attached-policies",
        env = "BATON_SYNC_ONLY_ATTACHED_POLICIES"
    , value_parser = clap::builder::BoolishValueParser::new())]
    pub sync_only_attached_policies: bool,

    /// Add console access (`console_access` in the profile) and MFA status to IAM users, from the credential report.
    #[arg(long = "sync-credential-facts", env = "BATON_SYNC_CREDENTIAL_FACTS", value_parser = clap::builder::BoolishValueParser::new())]
    pub sync_credential_facts: bool,

    /// Read Identity Center user status from the SCIM endpoint where the Identity Store API reports none.
    #[arg(long = "scim-enabled", env = "BATON_SCIM_ENABLED", value_parser = clap::builder::BoolishValueParser::new())]
    pub scim_enabled: bool,

    /// The Identity Center SCIM endpoint URL (https://scim.<region>.amazonaws.com/<tenant>/scim/v2).
    #[arg(
        long = "scim-endpoint",
        env = "BATON_SCIM_ENDPOINT",
        default_value = ""
    )]
    pub scim_endpoint: String,

    /// The bearer token of the SCIM endpoint.
    #[arg(
        long = "scim-token",
        env = "BATON_SCIM_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    pub scim_token: String,

    /// How long to wait for an account assignment to be created or deleted, in seconds.
    #[arg(
        long = "assignment-timeout-seconds",
        env = "BATON_ASSIGNMENT_TIMEOUT_SECONDS",
        default_value_t = 300
    )]
    pub assignment_timeout_seconds: u64,

    /// How often to poll the status of an account assignment request, in milliseconds.
    #[arg(
        long = "assignment-poll-interval-ms",
        env = "BATON_ASSIGNMENT_POLL_INTERVAL_MS",
        default_value_t = 1000
    )]
    pub assignment_poll_interval_ms: u64,

    /// The user type that account creation makes: iam_user or sso_user.
    #[arg(long = "create-account-resource-type", env = "BATON_CREATE_ACCOUNT_RESOURCE_TYPE", default_value = "iam_user",
          value_parser = ["iam_user", "sso_user"])]
    pub create_account_resource_type: String,

    /// Maximum IAM requests per second (0 for no limit).
    #[arg(
        long = "rate-limit-iam",
        env = "BATON_RATE_LIMIT_IAM",
        default_value_t = 20.0
    )]
    pub rate_limit_iam: f64,

    /// Maximum STS requests per second (0 for no limit).
    #[arg(
        long = "rate-limit-sts",
        env = "BATON_RATE_LIMIT_STS",
        default_value_t = 100.0
    )]
    pub rate_limit_sts: f64,

    /// Maximum AWS Organizations requests per second (0 for no limit).
    #[arg(
        long = "rate-limit-organizations",
        env = "BATON_RATE_LIMIT_ORGANIZATIONS",
        default_value_t = 20.0
    )]
    pub rate_limit_organizations: f64,

    /// Maximum IAM Identity Center requests per second, sso-admin and identitystore together (0 for no limit).
    #[arg(
        long = "rate-limit-identity-center",
        env = "BATON_RATE_LIMIT_IDENTITY_CENTER",
        default_value_t = 20.0
    )]
    pub rate_limit_identity_center: f64,
}

/// A configuration mistake, reported before any AWS call.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub use aws_policy::Arn;

impl AwsArgs {
    /// Checks flag combinations and values. Messages name the flag, the value and the rule.
    /// The request-rate limits of the `--rate-limit-*` flags.
    pub fn rate_limits(&self) -> crate::ratelimit::RateLimits {
        crate::ratelimit::RateLimits {
            iam: self.rate_limit_iam,
            sts: self.rate_limit_sts,
            organizations: self.rate_limit_organizations,
            identity_center: self.rate_limit_identity_center,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for (flag, rate) in [
            ("rate-limit-iam", self.rate_limit_iam),
            ("rate-limit-sts", self.rate_limit_sts),
            ("rate-limit-organizations", self.rate_limit_organizations),
            (
                "rate-limit-identity-center",
                self.rate_limit_identity_center,
            ),
        ] {
            if !rate.is_finite() || rate < 0.0 {
                return Err(ConfigError(format!(
                    "--{flag} {rate}: expected requests per second, 0 or more (0 means no limit)"
                )));
            }
        }
        if self.use_assume && self.role_arn.is_empty() {
            return Err(ConfigError(
                "set fields ('use-assume') are dependent on ('role-arn') being set: pass --role-arn with --use-assume".into(),
            ));
        }
        if self.cross_account_iam_enabled && !(self.orgs_enabled && self.sso_enabled) {
            return Err(ConfigError(
                "set fields ('global-aws-cross-account-iam-enabled') are dependent on ('global-aws-orgs-enabled' and 'global-aws-sso-enabled') being set".into(),
            ));
        }
        if !SSO_REGIONS.contains(&self.sso_region.as_str()) && !looks_like_region(&self.sso_region)
        {
            return Err(ConfigError(format!(
                "field global-aws-sso-region: {:?} is not an AWS region name (such as us-east-1 or eu-central-1)",
                self.sso_region
            )));
        }
        if !self.global_region.is_empty() && !looks_like_region(&self.global_region) {
            return Err(ConfigError(format!(
                "field global-region: {:?} is not an AWS region name (such as us-east-1 or eu-central-1)",
                self.global_region
            )));
        }
        if !self.role_arn.is_empty() {
            validate_role_arn("role-arn", &self.role_arn)?;
        }
        if !self.global_role_arn.is_empty() {
            validate_role_arn("global-role-arn", &self.global_role_arn)?;
            if !self.use_assume {
                return Err(ConfigError("--global-role-arn is set but --use-assume is not: the binding role is only used to assume --role-arn".into()));
            }
        }
        if self.use_assume && !self.global_role_arn.is_empty() {
            let len = self.external_id.len();
            if len == 0 {
                return Err(ConfigError("baton-aws: external id is missing: a two-hop assume (--global-role-arn) needs --external-id".into()));
            }
            if !(32..=64).contains(&len) {
                return Err(ConfigError(format!(
                    "baton-aws: --external-id must be between 32 and 64 characters, but it has {len}"
                )));
            }
        } else if self.use_assume
            && !self.external_id.is_empty()
            && !(2..=1224).contains(&self.external_id.len())
        {
            return Err(ConfigError(format!(
                "baton-aws: --external-id must be between 2 and 1224 characters, but it has {}",
                self.external_id.len()
            )));
        }
        if self.sso_enabled && !self.orgs_enabled {
            return Err(ConfigError("baton-aws: SSO Support requires Org support to also be enabled. Please enable both".into()));
        }
        if self.create_account_resource_type == "sso_user" && !self.sso_enabled {
            return Err(ConfigError(
                "baton-aws: BATON_CREATE_ACCOUNT_RESOURCE_TYPE=sso_user requires BATON_GLOBAL_AWS_SSO_ENABLED=true".into(),
            ));
        }
        if self.sync_sso_user_last_login && !self.sso_enabled {
            return Err(ConfigError("--sync-sso-user-last-login reads Identity Center sign-ins: it needs --global-aws-sso-enabled".into()));
        }
        if self.scim_enabled {
            if !self.sso_enabled {
                return Err(ConfigError("--scim-enabled reads Identity Center user status: it needs --global-aws-sso-enabled".into()));
            }
            if !(self.scim_endpoint.starts_with("https://")
                || self.scim_endpoint.starts_with("http://"))
            {
                return Err(ConfigError(format!(
                    "--scim-endpoint {:?}: expected the http(s) URL of the Identity Center SCIM endpoint",
                    self.scim_endpoint
                )));
            }
            if self.scim_token.is_empty() {
                return Err(ConfigError(
                    "--scim-enabled needs --scim-token (BATON_SCIM_TOKEN), the SCIM bearer token"
                        .into(),
                ));
            }
        }
        if self.global_access_key_id.is_empty() != self.global_secret_access_key.is_empty() {
            return Err(ConfigError(
                "--global-access-key-id and --global-secret-access-key go together: set both or neither".into(),
            ));
        }
        Ok(())
    }
}

fn looks_like_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Checks a role ARN as the Go connector does, except that the name rule is
/// applied the right way round: a role name is 1-64 of `[A-Za-z0-9+=,.@_-]`.
pub fn validate_role_arn(flag: &str, text: &str) -> Result<Arn, ConfigError> {
    let bad = |why: &str| {
        ConfigError(format!(
            "baton-aws: invalid role ARN in --{flag} {text:?}: {why}"
        ))
    };
    let arn = Arn::parse(text).map_err(|e| bad(&e))?;
    if arn.partition != "aws" {
        return Err(bad("only aws partition supported"));
    }
    if arn.service != "iam" {
        return Err(bad("invalid service: must be 'iam'"));
    }
    if !arn.region.is_empty() {
        return Err(bad("invalid region: must be empty"));
    }
    if arn.account.len() != 12 || !arn.account.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("invalid account id: must be 12 digits"));
    }
    let Some(path_and_name) = arn.resource.strip_prefix("role/") else {
        return Err(bad("invalid resource: must start with 'role/'"));
    };
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !valid {
        return Err(bad(
            "invalid role name: must be 1-64 characters of letters, digits and +=,.@_-",
        ));
    }
    Ok(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        aws: AwsArgs,
    }

    fn args(extra: &[&str]) -> AwsArgs {
        let mut argv = vec!["baton-aws"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().aws
    }

    #[test]
    fn role_arn_rules() {
        assert!(validate_role_arn("role-arn", "arn:aws:iam::123456789012:role/Baton").is_ok());
        assert!(validate_role_arn(
            "role-arn",
            "arn:aws:iam::123456789012:role/path/to/Baton_1+=,.@-"
        )
        .is_ok());
        for (bad, why) in [
            ("not-an-arn", "is not an ARN"),
            ("arn:aws-cn:iam::123456789012:role/x", "partition"),
            ("arn:aws:s3::123456789012:role/x", "service"),
            ("arn:aws:iam:us-east-1:123456789012:role/x", "region"),
            ("arn:aws:iam::1234:role/x", "account id"),
            ("arn:aws:iam::123456789012:user/x", "'role/'"),
            ("arn:aws:iam::123456789012:role/bad name", "role name"),
        ] {
            let err = validate_role_arn("role-arn", bad).unwrap_err().0;
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.contains(bad), "the message names the value: {err}");
        }
    }

    #[test]
    fn flag_combinations() {
        assert!(args(&[]).validate().is_ok());
        assert!(args(&["--use-assume"])
            .validate()
            .unwrap_err()
            .0
            .contains("role-arn"));
        assert!(args(&["--global-aws-sso-enabled"])
            .validate()
            .unwrap_err()
            .0
            .contains("Org support"));
        let short = args(&[
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/C",
            "--global-role-arn",
            "arn:aws:iam::123456789012:role/B",
            "--external-id",
            "short",
        ]);
        assert!(short
            .validate()
            .unwrap_err()
            .0
            .contains("between 32 and 64"));
        let long = "x".repeat(65);
        let too_long = args(&[
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/C",
            "--global-role-arn",
            "arn:aws:iam::123456789012:role/B",
            "--external-id",
            &long,
        ]);
        assert!(too_long.validate().unwrap_err().0.contains("it has 65"));
        assert!(args(&["--global-aws-sso-region", "mars-1"])
            .validate()
            .is_err());
        assert!(args(&[
            "--global-aws-orgs-enabled",
            "--global-aws-sso-enabled",
            "--global-aws-sso-region",
            "eu-south-2"
        ])
        .validate()
        .is_ok());
    }
}
