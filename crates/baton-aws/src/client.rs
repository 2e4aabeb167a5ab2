//! AWS configuration and credentials, and how AWS errors are classified.

use std::time::Duration;

use aws_config::{sts::AssumeRoleProvider, BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use baton_sdk::{ConnectorError, ErrorKind};

use crate::config::AwsArgs;

/// Error codes of transient faults on AWS's side that the SDK also treats as
/// retryable. These are retried, as is any HTTP 5xx response.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Error codes AWS uses for throttling; these are retried.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
];

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
];
const NOT_FOUND: &[&str] = &[
    "NoSuchEntity",
    "NoSuchEntityException",
    "ResourceNotFoundException",
];
/// Error codes of hard quotas: retrying does not help until something is freed.
const QUOTA: &[&str] = &["LimitExceeded", "ServiceQuotaExceededException"];
const BAD_CREDENTIALS: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
];

/// A failed AWS call: the operation, AWS's error code and message, and what kind of failure it is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub kind: ErrorKind,
}

/// Builds the error for a listing whose next-page token repeats. Reading on
/// would never end, and stopping quietly would publish part of the listing
/// as all of it.
pub fn repeated_token_error(operation: &'static str, token: &str) -> AwsError {
    AwsError {
        operation,
        code: "RepeatedPageToken".into(),
        message: format!("returned the page token {token:?} twice; the listing would never end, so it was stopped"),
        kind: ErrorKind::Internal,
    }
}

impl AwsError {
    pub fn is_access_denied(&self) -> bool {
        self.kind == ErrorKind::PermissionDenied
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

impl From<AwsError> for ConnectorError {
    fn from(e: AwsError) -> Self {
        let hint = match e.kind {
            ErrorKind::Unauthenticated => {
                "; check the AWS credentials (they may be missing, wrong or expired)"
            }
            ErrorKind::PermissionDenied => {
                "; grant this permission to the identity baton-aws runs as"
            }
            ErrorKind::Unavailable => {
                "; AWS was unreachable or throttled the call, try again later"
            }
            _ => "",
        };
        ConnectorError::new(e.kind, format!("aws {}{hint}", e))
    }
}

/// Classifies an SDK error of operation `operation`.
pub fn classify<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let detail = DisplayErrorContext(err).to_string();
    let status = err.raw_response().map(|r| r.status());
    let message = match (err.message(), status) {
        (Some(m), _) if !code.is_empty() => format!("{code}: {m}"),
        (None, _) if !code.is_empty() => code.clone(),
        (_, Some(status)) if matches!(err, SdkError::ServiceError(_)) => {
            format!(
                "unexpected response: HTTP {} with no AWS error in the body",
                status.as_u16()
            )
        }
        _ => match err {
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ResponseError(_) => root_cause(err),
            _ => detail.clone(),
        },
    };
    let kind = if QUOTA.contains(&code.as_str()) {
        ErrorKind::FailedPrecondition
    } else if THROTTLING.contains(&code.as_str()) {
        ErrorKind::Unavailable
    } else if ACCESS_DENIED.contains(&code.as_str()) {
        ErrorKind::PermissionDenied
    } else if NOT_FOUND.contains(&code.as_str()) {
        ErrorKind::NotFound
    } else if BAD_CREDENTIALS.contains(&code.as_str()) {
        ErrorKind::Unauthenticated
    } else if TRANSIENT.contains(&code.as_str()) || status.is_some_and(|s| s.is_server_error()) {
        ErrorKind::Unavailable
    } else {
        match err {
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ConstructionFailure(_)
                if detail.contains("credential") || detail.contains("identity") =>
            {
                ErrorKind::Unauthenticated
            }
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ResponseError(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    };
    AwsError {
        operation,
        code,
        message,
        kind,
    }
}

/// The innermost error of a chain, which says what actually went wrong
/// (such as "Connection refused") without the SDK's wrapping.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = err;
    let mut outer = err.to_string();
    while let Some(next) = current.source() {
        outer = current.to_string();
        current = next;
    }
    let inner = current.to_string();
    if inner == outer {
        inner
    } else {
        format!("{outer}: {inner}")
    }
}

/// The configurations every client is built from.
#[derive(Clone, Debug)]
pub struct AwsConfigs {
    /// For IAM, STS and Organizations.
    pub global: SdkConfig,
    /// For Identity Center (sso-admin, identitystore).
    pub sso: SdkConfig,
}

/// Loads AWS configuration: the default chain (or static keys), then the
/// single or two-hop role assumption of `--role-arn` / `--global-role-arn`.
pub async fn load(args: &AwsArgs, http_timeout: Duration) -> AwsConfigs {
    let base = base_config(args, http_timeout, None).await;
    let global = assume(args, base.clone(), http_timeout).await;
    let sso_base = base_config(args, http_timeout, Some(&args.sso_region)).await;
    let sso = if args.use_assume {
        assume(args, sso_base, http_timeout).await
    } else {
        sso_base
    };
    AwsConfigs { global, sso }
}

async fn base_config(args: &AwsArgs, http_timeout: Duration, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(http_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build(),
    );
    let region = region
        .map(str::to_string)
        .or_else(|| (!args.global_region.is_empty()).then(|| args.global_region.clone()));
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if !args.global_access_key_id.is_empty() && !args.global_secret_access_key.is_empty() {
        loader = loader.credentials_provider(Credentials::new(
            args.global_access_key_id.clone(),
            args.global_secret_access_key.clone(),
            None,
            None,
            "baton-aws-static",
        ));
    }
    let mut config = loader.load().await;
    if config.region().is_none() {
        config = config
            .into_builder()
            .region(Region::new("us-east-1"))
            .build();
    }
    config
}

async fn assume(args: &AwsArgs, base: SdkConfig, http_timeout: Duration) -> SdkConfig {
    if !args.use_assume || args.role_arn.is_empty() {
        return base;
    }
    let first_hop = if args.global_role_arn.is_empty() {
        base
    } else {
        let mut binding = AssumeRoleProvider::builder(args.global_role_arn.clone())
            .session_name("baton-aws-binding");
        if !args.binding_external_id.is_empty() {
            binding = binding.external_id(args.binding_external_id.clone());
        }
        let provider = binding.configure(&base).build().await;
        base.into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build()
    };
    let mut builder = AssumeRoleProvider::builder(args.role_arn.clone()).session_name("baton-aws");
    if !args.external_id.is_empty() {
        builder = builder.external_id(args.external_id.clone());
    }
    let provider = builder.configure(&first_hop).build().await;
    let _ = http_timeout;
    first_hop
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}
