//! A SCIM 2.0 server (PyPI `scim2-server`) on 127.0.0.1, stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Scim {
    child: Child,
    port: u16,
    token: String,
}

impl Scim {
    pub fn start(token: &str) -> Scim {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("scim2-server")
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                token,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start scim2-server ({e}); install it with: pip install scim2-server"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "scim2-server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Scim {
            child,
            port,
            token: token.into(),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn add_user(&self, user_name: &str, active: bool) {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": active,
        });
        let response = reqwest::Client::new()
            .post(format!("{}/Users", self.endpoint()))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("SCIM POST");
        assert!(
            response.status().is_success(),
            "SCIM POST returned {}",
            response.status()
        );
    }
}

impl Drop for Scim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
