//! The HTTP health endpoints of service mode and the client the
//! `health-check` subcommand uses.
//!
//! `/live` answers 200 while the process runs; `/ready` answers 200 once the
//! startup Hello succeeded; `/health` answers 200 when ready and the last
//! task poll reached ConductorOne. Otherwise they answer 503. Bodies are
//! JSON: `{"status":"ok"}` or `{"status":"unavailable"}`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{info, warn};

/// State behind the health endpoints.
#[derive(Debug, Default)]
pub struct HealthState {
    pub ready: AtomicBool,
    pub polling: AtomicBool,
}

impl HealthState {
    fn status(&self, path: &str) -> Option<bool> {
        match path {
            "/live" => Some(true),
            "/ready" => Some(self.ready.load(Ordering::Relaxed)),
            "/health" => {
                Some(self.ready.load(Ordering::Relaxed) && self.polling.load(Ordering::Relaxed))
            }
            _ => None,
        }
    }
}

/// Serves the endpoints on `address` until the process ends.
pub async fn serve(address: String, state: Arc<HealthState>) -> std::io::Result<()> {
    let listener = TcpListener::bind(&address).await?;
    info!(address = %address, "health check server listening");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(stream, &state).await {
                    warn!(error = %e, "health check request failed");
                }
            });
        }
    });
    Ok(())
}

async fn answer(mut stream: TcpStream, state: &HealthState) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .unwrap_or(Ok(0))?;
    let request = String::from_utf8_lossy(&buffer[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (code, body) = match state.status(path) {
        Some(true) => ("200 OK", r#"{"status":"ok"}"#),
        Some(false) => ("503 Service Unavailable", r#"{"status":"unavailable"}"#),
        None => ("404 Not Found", r#"{"status":"not found"}"#),
    };
    let response = format!("HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Asks a health server for `endpoint` (health, ready or live); true on HTTP 200.
pub async fn check(address: &str, endpoint: &str, timeout: Duration) -> Result<bool, String> {
    let attempt = async {
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let request =
            format!("GET /{endpoint} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<bool, String>(response.split_whitespace().nth(1) == Some("200"))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| format!("no answer from {address} within {} s", timeout.as_secs()))?
}
