//! Client-side request-rate limits per AWS service.
//!
//! Every AWS client of a sync sends its requests through [`RateLimitedClient`],
//! an HTTP client that waits for a token of the request's service before
//! passing the request on. The service is read from the SigV4 credential
//! scope of the `Authorization` header (`…/<region>/<service>/aws4_request`),
//! so SDK retries and the calls of member-account clients are limited too.
//! Identity Center's sso-admin (`sso`) and Identity Store (`identitystore`)
//! share one limit, as AWS throttles them together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Requests per second allowed for each service. Zero or less means no limit.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    pub iam: f64,
    pub sts: f64,
    pub organizations: f64,
    /// sso-admin and identitystore together.
    pub identity_center: f64,
}

/// A token bucket that lets callers reserve a slot and sleep until it comes.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        // One second's worth of requests may go out at once.
        let burst = rate.max(1.0);
        Bucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token and returns how long to wait before using it.
    fn reserve(&self) -> Duration {
        let mut state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens =
            (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst) - 1.0;
        *state = (tokens, now);
        if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / self.rate)
        }
    }
}

/// The buckets of every limited service, keyed by SigV4 signing name.
#[derive(Debug, Default)]
struct Limiter {
    buckets: HashMap<&'static str, Arc<Bucket>>,
}

impl Limiter {
    fn new(limits: &RateLimits) -> Self {
        let mut buckets = HashMap::new();
        let mut add = |names: &[&'static str], rate: f64| {
            if rate > 0.0 {
                let bucket = Arc::new(Bucket::new(rate));
                for name in names {
                    buckets.insert(*name, bucket.clone());
                }
            }
        };
        add(&["iam"], limits.iam);
        add(&["sts"], limits.sts);
        add(&["organizations"], limits.organizations);
        add(&["sso", "identitystore"], limits.identity_center);
        Limiter { buckets }
    }

    fn wait_for(&self, request: &HttpRequest) -> Duration {
        let service = request
            .headers()
            .get("authorization")
            .and_then(signing_service);
        match service.and_then(|s| self.buckets.get(s)) {
            Some(bucket) => bucket.reserve(),
            None => Duration::ZERO,
        }
    }
}

/// The service name in the credential scope of a SigV4 `Authorization` header.
fn signing_service(authorization: &str) -> Option<&str> {
    let scope = authorization
        .split("Credential=")
        .nth(1)?
        .split([',', ' '])
        .next()?;
    // <access key>/<date>/<region>/<service>/aws4_request
    scope.split('/').nth(3)
}

/// An HTTP client that applies [`RateLimits`] before every request.
#[derive(Debug, Clone)]
pub struct RateLimitedClient {
    inner: SharedHttpClient,
    limiter: Arc<Limiter>,
}

impl RateLimitedClient {
    /// Wraps the SDK's default HTTPS client (rustls with aws-lc).
    pub fn new(limits: &RateLimits) -> Self {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build_https();
        RateLimitedClient {
            inner,
            limiter: Arc::new(Limiter::new(limits)),
        }
    }
}

impl HttpClient for RateLimitedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(RateLimitedConnector {
            inner,
            limiter: self.limiter.clone(),
        })
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    limiter: Arc<Limiter>,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let wait = self.limiter.wait_for(&request);
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

/// Sends every client built from `configs` through the rate limits, and
/// switches the SDK's retries to adaptive mode: exponential backoff with
/// jitter, and a client-side send rate that drops when AWS throttles and
/// recovers afterwards. The number of attempts stays as configured
/// (`AWS_MAX_ATTEMPTS`, default 3).
pub fn instrument(
    configs: crate::client::AwsConfigs,
    limits: &RateLimits,
) -> crate::client::AwsConfigs {
    use aws_smithy_types::retry::{RetryConfig, RetryMode};
    let client = RateLimitedClient::new(limits);
    let apply = |config: aws_types::SdkConfig| {
        let retry = config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard)
            .with_retry_mode(RetryMode::Adaptive);
        config
            .into_builder()
            .http_client(client.clone())
            .retry_config(retry)
            .build()
    };
    crate::client::AwsConfigs {
        global: apply(configs.global),
        sso: apply(configs.sso),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_from_authorization_header() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/identitystore/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signing_service(header), Some("identitystore"));
        assert_eq!(signing_service("Bearer token"), None);
    }

    #[test]
    fn bucket_spaces_requests_after_the_burst() {
        let bucket = Bucket::new(10.0);
        for _ in 0..10 {
            assert_eq!(bucket.reserve(), Duration::ZERO);
        }
        let wait = bucket.reserve();
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        let later = bucket.reserve();
        assert!(
            later > wait,
            "each further request waits one slot longer: {later:?}"
        );
    }

    #[test]
    fn identity_center_services_share_a_bucket() {
        let limiter = Limiter::new(&RateLimits {
            iam: 0.0,
            sts: 5.0,
            organizations: 5.0,
            identity_center: 20.0,
        });
        assert!(Arc::ptr_eq(
            &limiter.buckets["sso"],
            &limiter.buckets["identitystore"]
        ));
        assert!(
            !limiter.buckets.contains_key("iam"),
            "a rate of 0 means no limit"
        );
    }
}
