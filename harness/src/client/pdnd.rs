//! The PDND voucher: an RS256 client assertion signed with the Ente's key, exchanged at the
//! token endpoint (client_credentials, jwt-bearer), cached and renewed before it expires — never
//! one voucher per call.

use super::Secret;
use super::transcript::{BodyRecord, Exchange, Transcript, redact_headers};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the assertion and the token request need.
#[derive(Clone)]
pub struct VoucherSettings {
    pub client_id: String,
    pub kid: String,
    pub purpose_id: String,
    pub token_url: String,
    pub audience: String,
}

pub struct VoucherMinter {
    settings: VoucherSettings,
    key: EncodingKey,
    http: reqwest::Client,
    transcript: Transcript,
    cached: tokio::sync::Mutex<Option<(Secret, Instant)>>,
    minted: AtomicUsize,
}

impl std::fmt::Debug for VoucherMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoucherMinter")
            .field("client_id", &self.settings.client_id)
            .field("token_url", &self.settings.token_url)
            .finish_non_exhaustive()
    }
}

impl VoucherMinter {
    pub fn new(
        settings: VoucherSettings,
        private_key_pem: &[u8],
        transcript: Transcript,
    ) -> Result<VoucherMinter, PdndError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem).map_err(PdndError::Key)?;
        Ok(VoucherMinter {
            settings,
            key,
            http: reqwest::Client::new(),
            transcript,
            cached: tokio::sync::Mutex::new(None),
            minted: AtomicUsize::new(0),
        })
    }

    /// A client assertion valid for ten minutes from `now` (seconds since the epoch).
    pub fn assertion(&self, now: i64) -> Result<String, PdndError> {
        let s = &self.settings;
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(s.kid.clone());
        h.typ = Some("JWT".into());
        let claims = json!({"iss": s.client_id, "sub": s.client_id, "aud": s.audience, "purposeId": s.purpose_id, "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 600});
        encode(&h, &claims, &self.key).map_err(PdndError::Sign)
    }

    /// How many vouchers this run asked PDND for.
    pub fn minted(&self) -> usize {
        self.minted.load(Ordering::Relaxed)
    }

    /// The current voucher, asking for a new one when there is none or it expires within a minute.
    pub async fn voucher(&self) -> Result<Secret, PdndError> {
        let mut cached = self.cached.lock().await;
        if let Some((v, until)) = cached.as_ref()
            && *until > Instant::now() + Duration::from_secs(60)
        {
            return Ok(v.clone());
        }
        let assertion = self.assertion(chrono::Utc::now().timestamp())?;
        let form = [
            ("client_id", self.settings.client_id.as_str()),
            ("client_assertion", assertion.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("grant_type", "client_credentials"),
        ];
        let req = self
            .http
            .post(&self.settings.token_url)
            .form(&form)
            .build()
            .map_err(PdndError::Request)?;
        let headers = redact_headers(req.headers());
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let started = Instant::now();
        let res = self
            .http
            .execute(req)
            .await
            .map_err(|source| PdndError::NoAnswer {
                url: self.settings.token_url.clone(),
                source,
            })?;
        let status = res.status().as_u16();
        let res_headers = redact_headers(res.headers());
        let bytes = res.bytes().await.map_err(PdndError::Body)?;
        self.transcript.push(Exchange {
            at,
            method: "POST".into(),
            url: self.settings.token_url.clone(),
            status,
            duration_ms: started.elapsed().as_millis() as u64,
            request_headers: headers,
            // The form carries the client assertion: keep only its digest.
            request_body: BodyRecord::of(
                b"client_credentials form",
                "application/x-www-form-urlencoded",
            ),
            response_headers: res_headers,
            response_body: BodyRecord::of(&bytes, "application/json"),
        });
        let body: TokenAnswer = serde_json::from_slice(&bytes).unwrap_or_default();
        if status != 200 {
            let why = body.errors.first().and_then(|e| e.detail.clone());
            return Err(PdndError::Refused {
                status,
                why: why
                    .or(body.detail)
                    .unwrap_or_else(|| "no reason given".into()),
            });
        }
        let token = body.access_token.ok_or(PdndError::NoToken)?;
        let ttl = body.expires_in.unwrap_or(600);
        let v = Secret::new(token);
        *cached = Some((v.clone(), Instant::now() + Duration::from_secs(ttl)));
        self.minted.fetch_add(1, Ordering::Relaxed);
        Ok(v)
    }
}

/// What PDND's token endpoint answers: a voucher, or why not.
#[derive(Debug, Default, serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    #[serde(default)]
    errors: Vec<TokenProblem>,
    detail: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct TokenProblem {
    detail: Option<String>,
}

/// Why no voucher could be had from PDND.
#[derive(Debug, thiserror::Error)]
pub enum PdndError {
    #[error("pdnd: the private key is not an RSA key in PEM ({0})")]
    Key(#[source] jsonwebtoken::errors::Error),
    #[error("pdnd: cannot sign the client assertion ({0})")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("pdnd token request: {0}")]
    Request(#[source] reqwest::Error),
    #[error("pdnd token endpoint {url}: no answer ({source})")]
    NoAnswer {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("pdnd token endpoint: {0}")]
    Body(#[source] reqwest::Error),
    #[error("pdnd token endpoint refused the client assertion (HTTP {status}): {why}")]
    Refused { status: u16, why: String },
    #[error("pdnd token endpoint answered without access_token")]
    NoToken,
}
