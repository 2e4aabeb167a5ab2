//! The ConductorOne client credentials, and the signed assertion that
//! trades them for an access token.
//!
//! A client id is `<client name>@<tenant host>/<suffix>`. A client secret
//! is `<a>:<b>:v1:<key>`, where `<key>` is base64url (no padding) of an
//! Ed25519 private JSON Web Key. The assertion is a compact JWS signed with
//! EdDSA whose issuer and subject are the client id and whose audience is
//! the tenant host without a port, valid from two minutes before to two
//! minutes after now. Neither the secret nor the key is ever logged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use rand::RngCore;
use serde::Deserialize;

use super::ServiceError;

/// Parsed client credentials.
pub struct ClientCredentials {
    pub client_id: String,
    pub client_name: String,
    /// `host[:port]` of the tenant.
    pub tenant_host: String,
    key: SigningKey,
    kid: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("tenant_host", &self.tenant_host)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: String,
    d: Option<String>,
    x: String,
    kid: Option<String>,
}

impl ClientCredentials {
    /// Parses a client id and secret as ConductorOne issues them.
    pub fn parse(client_id: &str, client_secret: &str) -> Result<Self, ServiceError> {
        let (client_name, rest) = client_id
            .split_once('@')
            .ok_or(ServiceError::InvalidClientId)?;
        let (tenant_host, _) = rest.split_once('/').ok_or(ServiceError::InvalidClientId)?;
        if client_name.is_empty() || tenant_host.is_empty() {
            return Err(ServiceError::InvalidClientId);
        }
        let parts: Vec<&str> = client_secret.splitn(4, ':').collect();
        if parts.len() != 4 {
            return Err(ServiceError::InvalidClientSecret(
                "expected four ':'-separated parts",
            ));
        }
        if parts[2] != "v1" {
            return Err(ServiceError::InvalidClientSecret(
                "unsupported version (expected v1)",
            ));
        }
        let json = URL_SAFE_NO_PAD
            .decode(parts[3].trim_end_matches('='))
            .map_err(|_| ServiceError::InvalidClientSecret("the key is not base64url"))?;
        let jwk: Jwk = serde_json::from_slice(&json)
            .map_err(|_| ServiceError::InvalidClientSecret("the key is not a JSON Web Key"))?;
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(ServiceError::InvalidClientSecret(
                "the key is not an Ed25519 key",
            ));
        }
        let d = jwk.d.ok_or(ServiceError::InvalidClientSecret(
            "the key is not a private key",
        ))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(d)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ServiceError::InvalidClientSecret(
                "the private key is not 32 bytes",
            ))?;
        let key = SigningKey::from_bytes(&seed);
        let x = URL_SAFE_NO_PAD
            .decode(&jwk.x)
            .map_err(|_| ServiceError::InvalidClientSecret("the public key is not base64url"))?;
        if x != key.verifying_key().to_bytes() {
            return Err(ServiceError::InvalidClientSecret(
                "the public key does not match the private key",
            ));
        }
        Ok(ClientCredentials {
            client_id: client_id.into(),
            client_name: client_name.into(),
            tenant_host: tenant_host.into(),
            key,
            kid: jwk.kid,
        })
    }

    /// Signs the client assertion for a token request made at `now` (Unix seconds).
    pub fn assertion(&self, now: i64) -> String {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut header = serde_json::json!({"alg": "EdDSA", "nonce": hex(&nonce)});
        if let Some(kid) = &self.kid {
            header["kid"] = kid.clone().into();
        }
        let audience = self
            .tenant_host
            .split(':')
            .next()
            .unwrap_or(&self.tenant_host);
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "nbf": now - 120,
            "exp": now + 120,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encodes an Ed25519 key as a client secret in ConductorOne's format (for tests and local servers).
pub fn make_client_secret(key: &SigningKey) -> String {
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": URL_SAFE_NO_PAD.encode(key.to_bytes()),
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
    });
    format!(
        "secret-token:conductorone.com:v1:{}",
        URL_SAFE_NO_PAD.encode(jwk.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    #[test]
    fn parses_and_signs() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let creds = ClientCredentials::parse(
            "sync-bot@acme.conductor.one:8443/pcc",
            &make_client_secret(&key),
        )
        .unwrap();
        assert_eq!(creds.tenant_host, "acme.conductor.one:8443");
        let jws = creds.assertion(1_000_000);
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "acme.conductor.one");
        assert_eq!(claims["iss"], "sync-bot@acme.conductor.one:8443/pcc");
        assert_eq!(claims["exp"], 1_000_120);
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        key.verifying_key()
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        assert!(!format!("{creds:?}").contains(&URL_SAFE_NO_PAD.encode(key.to_bytes())));
    }

    #[test]
    fn rejects_bad_credentials() {
        let secret = make_client_secret(&SigningKey::from_bytes(&[1u8; 32]));
        assert!(matches!(
            ClientCredentials::parse("no-at-sign", &secret),
            Err(ServiceError::InvalidClientId)
        ));
        assert!(matches!(
            ClientCredentials::parse("a@host", &secret),
            Err(ServiceError::InvalidClientId)
        ));
        assert!(ClientCredentials::parse("a@host/x", "a:b:v2:xyz").is_err());
        assert!(ClientCredentials::parse("a@host/x", "a:b:v1:!!!").is_err());
    }
}
