//! User status from the SCIM endpoint of IAM Identity Center.
//!
//! The Identity Store API does not always report whether a user is enabled.
//! With `--scim-enabled`, the `/Users` listing of the SCIM endpoint (paged
//! with `startIndex`/`count`, bearer token) fills the status in wherever the
//! Identity Store returns none. The token is sent only to the endpoint and
//! never logged.

use std::collections::HashMap;

use serde::Deserialize;
use tokio::sync::OnceCell;

use baton_sdk::{ConnectorError, ErrorKind};

const PAGE: usize = 100;

#[derive(Debug, Deserialize)]
struct ListResponse {
    #[serde(rename = "totalResults", default)]
    total_results: usize,
    #[serde(rename = "Resources", default)]
    resources: Vec<ScimUser>,
}

#[derive(Debug, Deserialize)]
struct ScimUser {
    #[serde(default)]
    id: String,
    #[serde(rename = "userName", default)]
    user_name: String,
    active: Option<bool>,
}

/// Whether each SCIM user is active, by user id and by user name.
#[derive(Debug, Default)]
pub struct ScimStatus {
    by_id: HashMap<String, bool>,
    by_name: HashMap<String, bool>,
}

impl ScimStatus {
    /// The SCIM `active` flag of a user, matched by id first, then by user name.
    pub fn active(&self, user_id: &str, user_name: &str) -> Option<bool> {
        self.by_id
            .get(user_id)
            .or_else(|| self.by_name.get(user_name))
            .copied()
    }
}

/// A client of the Identity Center SCIM endpoint.
pub struct ScimClient {
    endpoint: String,
    token: String,
    http: reqwest::Client,
    users: OnceCell<ScimStatus>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("endpoint", &self.endpoint)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl ScimClient {
    pub fn new(endpoint: &str, token: &str) -> Self {
        ScimClient {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
            users: OnceCell::new(),
        }
    }

    /// The status of every SCIM user, read once per sync.
    pub async fn status(&self) -> Result<&ScimStatus, ConnectorError> {
        self.users.get_or_try_init(|| self.fetch()).await
    }

    async fn fetch(&self) -> Result<ScimStatus, ConnectorError> {
        let mut status = ScimStatus::default();
        let mut start = 1usize;
        loop {
            let url = format!("{}/Users?startIndex={start}&count={PAGE}", self.endpoint);
            let response = self
                .http
                .get(&url)
                .bearer_auth(&self.token)
                .header("Accept", "application/scim+json, application/json")
                .send()
                .await
                .map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::Unavailable,
                        format!("SCIM request to {url} failed: {e}"),
                    )
                })?;
            let code = response.status();
            if code == reqwest::StatusCode::UNAUTHORIZED || code == reqwest::StatusCode::FORBIDDEN {
                return Err(ConnectorError::new(
                    ErrorKind::Unauthenticated,
                    format!(
                        "the SCIM endpoint {} rejected the token (HTTP {code}); check --scim-token",
                        self.endpoint
                    ),
                ));
            }
            if !code.is_success() {
                let kind = if code.is_server_error() || code.as_u16() == 429 {
                    ErrorKind::Unavailable
                } else {
                    ErrorKind::Internal
                };
                return Err(ConnectorError::new(
                    kind,
                    format!("SCIM GET {url} returned HTTP {code}"),
                ));
            }
            let page: ListResponse = response.json().await.map_err(|e| {
                ConnectorError::internal(format!(
                    "SCIM GET {url} returned a body that is not a SCIM list response: {e}"
                ))
            })?;
            let count = page.resources.len();
            for user in page.resources {
                if let Some(active) = user.active {
                    if !user.id.is_empty() {
                        status.by_id.insert(user.id, active);
                    }
                    if !user.user_name.is_empty() {
                        status.by_name.insert(user.user_name, active);
                    }
                }
            }
            start += count;
            if count == 0 || start > page.total_results {
                return Ok(status);
            }
        }
    }
}
