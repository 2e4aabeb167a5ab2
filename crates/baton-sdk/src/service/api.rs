//! The client side of ConductorOne's BatonService: access tokens, the TLS
//! channel, and one method per RPC with the `authorization` header set.
//!
//! The API host is `BATON_C1_API_HOST` when set, else the tenant host of
//! the client id, with port 443 unless one is given. `BATON_C1_CA_CERT_FILE`
//! names a PEM file of extra trusted certificates, for a private endpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::Mutex;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::credentials::ClientCredentials;
use super::grpc::baton_service_client::BatonServiceClient;
use super::ServiceError;
use c1z::pb::c1::connectorapi::baton::v1 as baton;

/// Size of each data message of an asset upload: 512 KiB.
pub const UPLOAD_CHUNK: usize = 512 * 1024;

#[derive(Debug, Clone)]
struct Token {
    header: String,
    refresh_at: Instant,
}

/// A connection to BatonService.
pub struct Api {
    credentials: ClientCredentials,
    pub host_id: String,
    token_url: String,
    http: reqwest::Client,
    channel: Channel,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("host_id", &self.host_id)
            .field("token_url", &self.token_url)
            .finish()
    }
}

fn with_port(host: &str) -> String {
    if host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
    {
        host.to_string()
    } else {
        format!("{host}:443")
    }
}

impl Api {
    /// Prepares the token client and a lazily connecting gRPC channel.
    pub fn new(
        credentials: ClientCredentials,
        host_id: String,
        user_agent_version: &str,
    ) -> Result<Self, ServiceError> {
        let api_host = std::env::var("BATON_C1_API_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| credentials.tenant_host.clone());
        let api_host = with_port(&api_host);
        let extra_ca = match std::env::var_os("BATON_C1_CA_CERT_FILE") {
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                ServiceError::Connect(
                    api_host.clone(),
                    format!("BATON_C1_CA_CERT_FILE {}: {e}", Path::new(&path).display()),
                )
            })?),
            None => None,
        };
        let mut http = reqwest::Client::builder()
            .user_agent("baton-c1-credential-provider")
            .timeout(Duration::from_secs(30));
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        if let Some(pem) = &extra_ca {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                ServiceError::Connect(api_host.clone(), format!("invalid CA certificate: {e}"))
            })?;
            http = http.add_root_certificate(cert);
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        let domain = api_host
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&api_host)
            .to_string();
        tls = tls.domain_name(domain);
        let endpoint = Endpoint::from_shared(format!("https://{api_host}"))
            .map_err(|e| ServiceError::Connect(api_host.clone(), e.to_string()))?
            .tls_config(tls)
            .map_err(|e| ServiceError::Connect(api_host.clone(), e.to_string()))?
            .connect_timeout(Duration::from_secs(30))
            .user_agent(format!(
                "{} baton-sdk/{user_agent_version}",
                credentials.client_name
            ))
            .map_err(|e| ServiceError::Connect(api_host.clone(), e.to_string()))?;
        let channel = endpoint.connect_lazy();
        let http = http
            .build()
            .map_err(|e| ServiceError::Connect(api_host.clone(), e.to_string()))?;
        Ok(Api {
            token_url: format!("https://{api_host}/auth/v1/token"),
            credentials,
            host_id,
            http,
            channel,
            token: Mutex::new(None),
        })
    }

    /// Returns the `authorization` header value, cached until 10 s before the token expires.
    async fn authorization(&self) -> Result<String, ServiceError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.header.clone());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let form = [
            ("client_id", self.credentials.client_id.as_str()),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &self.credentials.assertion(now)),
        ];
        let response = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| ServiceError::Token(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ServiceError::Token(format!(
                "{} from {}",
                status, self.token_url
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            token_type: String,
            #[serde(default)]
            expires_in: u64,
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| ServiceError::Token(format!("unreadable token response: {e}")))?;
        if body.access_token.is_empty() {
            return Err(ServiceError::Token("empty access token".into()));
        }
        let kind = if body.token_type.is_empty() || body.token_type.eq_ignore_ascii_case("bearer") {
            "Bearer".to_string()
        } else {
            body.token_type
        };
        let lifetime =
            Duration::from_secs(body.expires_in.max(20)).saturating_sub(Duration::from_secs(10));
        let token = Token {
            header: format!("{kind} {}", body.access_token),
            refresh_at: Instant::now() + lifetime,
        };
        *cached = Some(token.clone());
        Ok(token.header)
    }

    async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ServiceError> {
        let mut request = tonic::Request::new(message);
        let value = self
            .authorization()
            .await?
            .parse()
            .map_err(|_| ServiceError::Token("the token is not a valid header value".into()))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    fn client(&self) -> BatonServiceClient<Channel> {
        BatonServiceClient::new(self.channel.clone()).max_decoding_message_size(64 * 1024 * 1024)
    }

    pub async fn hello(&self, hello: baton::BatonServiceHelloRequest) -> Result<(), ServiceError> {
        let request = self.request(hello).await?;
        self.client()
            .hello(request)
            .await
            .map_err(|status| ServiceError::Rpc {
                rpc: "Hello",
                status,
            })?;
        Ok(())
    }

    pub async fn get_task(&self) -> Result<baton::BatonServiceGetTaskResponse, ServiceError> {
        let request = self
            .request(baton::BatonServiceGetTaskRequest {
                host_id: self.host_id.clone(),
            })
            .await?;
        Ok(self
            .client()
            .get_task(request)
            .await
            .map_err(|status| ServiceError::Rpc {
                rpc: "GetTask",
                status,
            })?
            .into_inner())
    }

    pub async fn heartbeat(
        &self,
        task_id: &str,
    ) -> Result<baton::BatonServiceHeartbeatResponse, ServiceError> {
        let request = self
            .request(baton::BatonServiceHeartbeatRequest {
                host_id: self.host_id.clone(),
                task_id: task_id.into(),
                ..Default::default()
            })
            .await?;
        Ok(self
            .client()
            .heartbeat(request)
            .await
            .map_err(|status| ServiceError::Rpc {
                rpc: "Heartbeat",
                status,
            })?
            .into_inner())
    }

    pub async fn finish_task(
        &self,
        finish: baton::BatonServiceFinishTaskRequest,
    ) -> Result<(), ServiceError> {
        let mut request = self.request(finish).await?;
        request.set_timeout(Duration::from_secs(30));
        self.client()
            .finish_task(request)
            .await
            .map_err(|status| ServiceError::Rpc {
                rpc: "FinishTask",
                status,
            })?;
        Ok(())
    }

    /// Streams a file as one asset of a task: metadata, 512 KiB chunks, then
    /// the SHA-256 of the whole file.
    pub async fn upload_asset(&self, task_id: &str, path: &Path) -> Result<(), ServiceError> {
        use baton::baton_service_upload_asset_request::{
            Msg, UploadData, UploadEof, UploadMetadata,
        };
        use baton::BatonServiceUploadAssetRequest as Upload;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Upload>(4);
        let mut file = tokio::fs::File::open(path).await?;
        let metadata = Upload {
            msg: Some(Msg::Metadata(UploadMetadata {
                host_id: self.host_id.clone(),
                task_id: task_id.into(),
                annotations: Vec::new(),
            })),
        };
        let reader = tokio::spawn(async move {
            let mut hasher = Sha256::new();
            if sender.send(metadata).await.is_err() {
                return Ok::<(), std::io::Error>(());
            }
            let mut buffer = vec![0u8; UPLOAD_CHUNK];
            loop {
                let mut filled = 0;
                while filled < UPLOAD_CHUNK {
                    let n = file.read(&mut buffer[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                hasher.update(&buffer[..filled]);
                if sender
                    .send(Upload {
                        msg: Some(Msg::Data(UploadData {
                            data: buffer[..filled].to_vec(),
                        })),
                    })
                    .await
                    .is_err()
                {
                    return Ok(());
                }
                if filled < UPLOAD_CHUNK {
                    break;
                }
            }
            let eof = Upload {
                msg: Some(Msg::Eof(UploadEof {
                    sha256_checksum: hasher.finalize().to_vec(),
                    annotations: Vec::new(),
                })),
            };
            let _ = sender.send(eof).await;
            Ok(())
        });
        let request = self
            .request(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await?;
        let result = self.client().upload_asset(request).await;
        reader
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        result.map_err(|status| ServiceError::Rpc {
            rpc: "UploadAsset",
            status,
        })?;
        Ok(())
    }
}
