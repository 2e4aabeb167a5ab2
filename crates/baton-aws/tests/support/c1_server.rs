//! A local stand-in for ConductorOne: an HTTPS token endpoint that verifies
//! the client assertion, and a BatonService that hands out queued tasks and
//! records what the connector sends back. One TLS port serves both, as the
//! real service does, with a certificate from a throw-away CA.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_sdk::service::grpc::baton_service_server::{BatonService, BatonServiceServer};
use c1z::pb::c1::connectorapi::baton::v1 as baton;
use ed25519_dalek::{Signature, SigningKey, Verifier};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

pub const TOKEN: &str = "test-access-token";

/// What the server saw and what it hands out next.
#[derive(Default)]
pub struct State {
    pub tasks: VecDeque<baton::Task>,
    pub hellos: Vec<baton::BatonServiceHelloRequest>,
    pub heartbeats: Vec<String>,
    pub finished: Vec<baton::BatonServiceFinishTaskRequest>,
    /// Uploaded assets: (task id, bytes, whether the SHA-256 matched).
    pub uploads: Vec<(String, Vec<u8>, bool)>,
    /// Token requests whose assertion verified, and those that did not.
    pub good_assertions: usize,
    pub bad_assertions: usize,
    /// GetTask calls to answer UNAVAILABLE before working normally.
    pub get_task_outages: usize,
    pub get_task_calls: usize,
    /// Answer heartbeats of this task with `cancelled` from the second one on.
    pub cancel_task: Option<String>,
    pub unauthorized_calls: usize,
}

#[derive(Clone)]
struct Baton {
    state: Arc<Mutex<State>>,
}

fn authorized<T>(state: &Mutex<State>, request: &Request<T>) -> Result<(), Status> {
    let ok = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !ok {
        state.lock().unwrap().unauthorized_calls += 1;
        return Err(Status::unauthenticated("missing or wrong bearer token"));
    }
    Ok(())
}

fn seconds(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: s,
        nanos: 0,
    })
}

#[tonic::async_trait]
impl BatonService for Baton {
    async fn hello(
        &self,
        request: Request<baton::BatonServiceHelloRequest>,
    ) -> Result<Response<baton::BatonServiceHelloResponse>, Status> {
        authorized(&self.state, &request)?;
        self.state.lock().unwrap().hellos.push(request.into_inner());
        Ok(Response::new(Default::default()))
    }

    async fn get_task(
        &self,
        request: Request<baton::BatonServiceGetTaskRequest>,
    ) -> Result<Response<baton::BatonServiceGetTaskResponse>, Status> {
        authorized(&self.state, &request)?;
        let mut state = self.state.lock().unwrap();
        state.get_task_calls += 1;
        if state.get_task_outages > 0 {
            state.get_task_outages -= 1;
            return Err(Status::unavailable("service restarting"));
        }
        let task = state.tasks.pop_front();
        Ok(Response::new(baton::BatonServiceGetTaskResponse {
            task,
            next_poll: seconds(1),
            next_heartbeat: seconds(1),
            annotations: Vec::new(),
        }))
    }

    async fn get_tasks(
        &self,
        _: Request<baton::BatonServiceGetTasksRequest>,
    ) -> Result<Response<baton::BatonServiceGetTasksResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn heartbeat(
        &self,
        request: Request<baton::BatonServiceHeartbeatRequest>,
    ) -> Result<Response<baton::BatonServiceHeartbeatResponse>, Status> {
        authorized(&self.state, &request)?;
        let task_id = request.into_inner().task_id;
        let mut state = self.state.lock().unwrap();
        let seen = state.heartbeats.iter().filter(|t| **t == task_id).count();
        state.heartbeats.push(task_id.clone());
        let cancelled = state.cancel_task.as_deref() == Some(task_id.as_str()) && seen >= 1;
        Ok(Response::new(baton::BatonServiceHeartbeatResponse {
            next_heartbeat: seconds(1),
            cancelled,
            ..Default::default()
        }))
    }

    async fn finish_task(
        &self,
        request: Request<baton::BatonServiceFinishTaskRequest>,
    ) -> Result<Response<baton::BatonServiceFinishTaskResponse>, Status> {
        authorized(&self.state, &request)?;
        self.state
            .lock()
            .unwrap()
            .finished
            .push(request.into_inner());
        Ok(Response::new(Default::default()))
    }

    async fn upload_asset(
        &self,
        request: Request<Streaming<baton::BatonServiceUploadAssetRequest>>,
    ) -> Result<Response<baton::BatonServiceUploadAssetResponse>, Status> {
        use baton::baton_service_upload_asset_request::Msg;
        authorized(&self.state, &request)?;
        let mut stream = request.into_inner();
        let (mut task, mut data, mut ok) = (String::new(), Vec::new(), false);
        while let Some(message) = stream.message().await? {
            match message.msg {
                Some(Msg::Metadata(m)) => task = m.task_id,
                Some(Msg::Data(d)) => {
                    assert!(d.data.len() <= 512 * 1024, "chunks are at most 512 KiB");
                    data.extend_from_slice(&d.data);
                }
                Some(Msg::Eof(eof)) => ok = eof.sha256_checksum == Sha256::digest(&data).to_vec(),
                None => {}
            }
        }
        self.state.lock().unwrap().uploads.push((task, data, ok));
        Ok(Response::new(Default::default()))
    }

    async fn start_debugging(
        &self,
        _: Request<baton::StartDebuggingRequest>,
    ) -> Result<Response<baton::StartDebuggingResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

/// A running server.
pub struct C1Server {
    pub address: SocketAddr,
    pub state: Arc<Mutex<State>>,
    pub ca_file: tempfile::NamedTempFile,
    pub client_id: String,
    pub client_secret: String,
}

impl C1Server {
    pub fn host(&self) -> String {
        format!("localhost:{}", self.address.port())
    }

    /// Waits until `check` holds, or panics after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&State) -> bool) {
        let deadline = std::time::Instant::now() + limit;
        while !check(&self.state.lock().unwrap()) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn verify_assertion(form: &str, key: &ed25519_dalek::VerifyingKey, client_id: &str) -> bool {
    let params: std::collections::HashMap<String, String> = url_decode_form(form);
    let Some(jws) = params.get("client_assertion") else {
        return false;
    };
    if params.get("grant_type").map(String::as_str) != Some("client_credentials")
        || params.get("client_id").map(String::as_str) != Some(client_id)
    {
        return false;
    }
    let parts: Vec<&str> = jws.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let Ok(sig) = URL_SAFE_NO_PAD.decode(parts[2]) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&sig) else {
        return false;
    };
    if key
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .is_err()
    {
        return false;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap_or_default())
            .unwrap_or_default();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default())
            .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    header["alg"] == "EdDSA"
        && header["nonce"].as_str().is_some_and(|n| n.len() == 32)
        && claims["iss"] == client_id
        && claims["sub"] == client_id
        && claims["aud"] == "localhost"
        && claims["nbf"].as_i64().is_some_and(|t| t <= now)
        && claims["exp"].as_i64().is_some_and(|t| t >= now)
}

fn url_decode_form(form: &str) -> std::collections::HashMap<String, String> {
    form.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let d = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

/// Starts the server on 127.0.0.1 with a fresh CA, key pair and client credentials.
pub async fn start() -> C1Server {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut ca_file, ca.pem().as_bytes()).unwrap();

    let mut tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

    let signing = SigningKey::from_bytes(&rand_seed());
    let client_secret = baton_sdk::service::credentials::make_client_secret(&signing);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let client_id = format!("test-connector@localhost:{}/pcc", address.port());
    let state = Arc::new(Mutex::new(State::default()));
    let grpc = BatonServiceServer::new(Baton {
        state: state.clone(),
    });
    let verifying = signing.verifying_key();
    let (server_state, server_client_id) = (state.clone(), client_id.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let grpc = grpc.clone();
            let state = server_state.clone();
            let client_id = server_client_id.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let grpc = grpc.clone();
                        let state = state.clone();
                        let client_id = client_id.clone();
                        async move {
                            if request.uri().path() == "/auth/v1/token" {
                                let body = request
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let good = verify_assertion(
                                    &String::from_utf8_lossy(&body),
                                    &verifying,
                                    &client_id,
                                );
                                let mut s = state.lock().unwrap();
                                let (status, text) = if good {
                                    s.good_assertions += 1;
                                    (
                                        200,
                                        format!(
                                            r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":3600}}"#
                                        ),
                                    )
                                } else {
                                    s.bad_assertions += 1;
                                    (401, r#"{"error":"invalid_client"}"#.to_string())
                                };
                                let response = hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(tonic::body::Body::new(http_body_util::Full::new(
                                        bytes::Bytes::from(text),
                                    )))
                                    .unwrap();
                                return Ok::<_, std::convert::Infallible>(response);
                            }
                            let mut grpc = grpc;
                            let response = tower::Service::call(&mut grpc, request).await.unwrap();
                            Ok(response)
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    C1Server {
        address,
        state,
        ca_file,
        client_id,
        client_secret,
    }
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = (std::process::id() as u8)
            .wrapping_add(i as u8)
            .wrapping_mul(31);
    }
    seed
}
