//! The only code that knows JWTs: the server's Ed25519 key, signed receipts, API tokens, and
//! which token may do what. Reading the token out of a request is `routes::roles`'s job.

use crate::error::ApiError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use biscotte_shared::api::ConsentRecord;
use biscotte_shared::revision::hex;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

pub const ISSUER: &str = "biscotte";
/// Audience of receipts handed to visitors.
pub const RECEIPT_AUDIENCE: &str = "biscotte-receipt";
/// Audience of API tokens; a receipt is never accepted as a token, nor the reverse.
pub const TOKEN_AUDIENCE: &str = "biscotte-api";
/// Clock skew forgiven on a token's expiry. jsonwebtoken's default is a minute, which would keep
/// a revoked-by-expiry token working that long.
pub const TOKEN_LEEWAY_SECS: u64 = 5;

/// The server's signing key and what verifiers need of it.
#[derive(Clone)]
pub struct Signer {
    /// The same key for raw signatures (checkpoints are C2SP signed notes, not JWTs).
    pair: std::sync::Arc<Ed25519KeyPair>,
    public: [u8; 32],
    /// The JWS protected header, encoded once: `{"typ":"JWT","alg":"EdDSA","kid":…}`.
    jws_header: String,
    decoding: DecodingKey,
    public_x: String,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn pem_encode(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

fn pem_decode(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body.trim()).ok()
}

impl Signer {
    /// Loads the key at `path`, which must exist: for commands that read a store and must not
    /// create a key as a side effect.
    pub fn load(path: &Path) -> Result<Signer, String> {
        if !path.exists() {
            return Err(format!(
                "no signing key at {}: give the deployment's key file (key_path, BISCOTTE_KEY_PATH)",
                path.display()
            ));
        }
        Signer::load_or_create(path)
    }

    /// Loads the key at `path`, creating it (mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Signer, String> {
        if !path.exists() {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| "cannot generate an Ed25519 key".to_owned())?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            write_private(path, pem_encode(pkcs8.as_ref()).as_bytes())
                .map_err(|e| format!("cannot write the signing key to {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new Ed25519 signing key");
        }
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
        let der = pem_decode(&pem).ok_or_else(|| {
            format!(
                "{} is not a PEM file; delete it to have a new key created",
                path.display()
            )
        })?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| {
            format!(
                "{} is not an Ed25519 PKCS#8 key; delete it to have a new key created",
                path.display()
            )
        })?;
        let public = pair.public_key().as_ref().to_vec();
        let public_x = URL_SAFE_NO_PAD.encode(&public);
        let public_bytes: [u8; 32] = public
            .as_slice()
            .try_into()
            .map_err(|_| format!("{} holds an Ed25519 key of an odd size", path.display()))?;
        let kid = hex(Sha256::digest(&public).get(..8).unwrap_or_default());
        Ok(Signer {
            pair: std::sync::Arc::new(pair),
            public: public_bytes,
            jws_header: URL_SAFE_NO_PAD.encode(
                serde_json::json!({ "typ": "JWT", "alg": "EdDSA", "kid": kid }).to_string(),
            ),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            public_x,
        })
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// A raw Ed25519 signature of `message` (deterministic: the same message, the same bytes).
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// The public key as a JSON Web Key Set, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.public_x }]
        })
    }

    /// A compact JWS (RFC 7515) of `claims`, EdDSA, signed with the key already held: what
    /// `jsonwebtoken::encode` writes, without parsing the PKCS#8 key again on every call (a
    /// receipt is signed per decision).
    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, ApiError> {
        let payload = serde_json::to_vec(claims)
            .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))?;
        let mut jws = String::with_capacity(self.jws_header.len() + payload.len() * 4 / 3 + 90);
        jws.push_str(&self.jws_header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jws);
        let signature = self.pair.sign(jws.as_bytes());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
        Ok(jws)
    }

    /// A receipt for a recorded decision: what the visitor can show to prove their choice.
    pub fn receipt(&self, record: &ConsentRecord) -> Result<String, ApiError> {
        self.sign(&ReceiptClaims {
            iss: ISSUER.to_owned(),
            aud: RECEIPT_AUDIENCE.to_owned(),
            sub: record.consent_id.clone(),
            iat: record.server_time.as_secs(),
            site: record.site.clone(),
            record_id: record.record_id,
            revision: record.revision.to_string(),
            method: record.method.as_str().to_owned(),
            categories: record.categories.clone(),
            services: record.services.clone(),
            leaf_index: record.leaf_index,
            record_hash: record.leaf_hash.clone(),
        })
    }

    /// An API token for `role` (on `site`, except for admins), valid `days`.
    pub fn issue_token(
        &self,
        role: Role,
        site: Option<&str>,
        now_secs: i64,
        days: i64,
    ) -> Result<String, ApiError> {
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        self.sign(&TokenClaims {
            iss: ISSUER.to_owned(),
            aud: TOKEN_AUDIENCE.to_owned(),
            role,
            site: site.map(str::to_owned),
            iat: now_secs,
            exp: now_secs + days * 86_400,
            jti: hex(&jti),
        })
    }

    fn verify_token(&self, token: &str) -> Result<TokenClaims, ApiError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = TOKEN_LEEWAY_SECS;
        validation.set_audience(&[TOKEN_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| {
                ApiError::Unauthorized(format!(
                    "the bearer token is not valid ({e}); issue one with `biscotte token issue`"
                ))
            })
    }

    /// The claims of `token` when it is valid, has `role` and, for site roles, is for
    /// `path_site` (the site named in the route, if any).
    pub fn authorize(
        &self,
        token: &str,
        role: Role,
        path_site: Option<&str>,
    ) -> Result<TokenClaims, ApiError> {
        let claims = self.verify_token(token)?;
        if claims.role != role {
            return Err(ApiError::Forbidden(format!(
                "this route needs a token of role {role}; yours has role {}",
                claims.role
            )));
        }
        if let Some(path_site) = path_site
            && claims.site.as_deref() != Some(path_site)
        {
            return Err(ApiError::Forbidden(format!(
                "your token is not for site {path_site:?}"
            )));
        }
        Ok(claims)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// What a receipt says. Verifiable by anyone with the public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    pub iss: String,
    pub aud: String,
    /// The consent id.
    pub sub: String,
    pub iat: i64,
    pub site: String,
    pub record_id: u64,
    pub revision: String,
    pub method: String,
    pub categories: BTreeMap<String, bool>,
    pub services: BTreeMap<String, bool>,
    /// The record's position in its site's tree (absent from receipts made before the tree).
    #[serde(default)]
    pub leaf_index: u64,
    /// The record's leaf hash (SHA-256 of 0x00 and its leaf bytes), in hex.
    pub record_hash: String,
}

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The operator of this Biscotte server: creates sites.
    Admin,
    /// A site's owner: publishes revisions of its configuration.
    Owner,
    /// A site's auditor (DPO, regulator): exports and verifies its consent log.
    Auditor,
    /// A site's server-side integration, which sends no `Origin`: may only record decisions
    /// for its site.
    Recorder,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Admin => "admin",
            Role::Owner => "owner",
            Role::Auditor => "auditor",
            Role::Recorder => "recorder",
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    pub role: Role,
    pub site: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}
