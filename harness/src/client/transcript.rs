//! Every HTTP exchange of a run, with secrets redacted, for the report's evidence.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// A body as the transcript keeps it: JSON verbatim, anything else as its digest and size.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum BodyRecord {
    None,
    Json { json: Value },
    Binary { sha256: String, size: usize },
}

impl BodyRecord {
    pub fn of(bytes: &[u8], content_type: &str) -> BodyRecord {
        if bytes.is_empty() {
            return BodyRecord::None;
        }
        if content_type.contains("json")
            && let Ok(mut json) = serde_json::from_slice(bytes)
        {
            sanitize(&mut json);
            return BodyRecord::Json { json };
        }
        use base64::Engine as _;
        BodyRecord::Binary {
            sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes)),
            size: bytes.len(),
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    pub at: String,
    pub method: String,
    pub url: String,
    pub status: u16,
    pub duration_ms: u64,
    pub request_headers: Vec<(String, String)>,
    pub request_body: BodyRecord,
    pub response_headers: Vec<(String, String)>,
    pub response_body: BodyRecord,
}

/// JSON fields whose values are credentials.
const SECRET_FIELDS: [&str; 5] = [
    "secret",
    "access_token",
    "client_assertion",
    "api_key",
    "apikey",
];

/// Removes credentials from a JSON body: secret fields, and presigned signatures in URLs.
pub fn sanitize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()) {
                    *val = Value::String("[REDACTED]".into());
                } else {
                    sanitize(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize),
        Value::String(s)
            if s.contains("X-Amz-Signature=") || s.contains("X-Amz-Security-Token=") =>
        {
            *s = redact_url(s)
        }
        _ => {}
    }
}

const SECRET_HEADERS: [&str; 4] = ["x-api-key", "authorization", "x-amz-meta-secret", "cookie"];

/// Header pairs with secret values replaced.
pub fn redact_headers(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                "[REDACTED]".to_string()
            } else {
                v.to_str().unwrap_or("[binary]").to_string()
            };
            (name, value)
        })
        .collect()
}

/// A URL with its presigned signature removed.
pub fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        None => url.to_string(),
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _))
                        if k.eq_ignore_ascii_case("X-Amz-Signature")
                            || k.eq_ignore_ascii_case("X-Amz-Security-Token") =>
                    {
                        format!("{k}=[REDACTED]")
                    }
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
    }
}

/// The shared, append-only transcript of a run.
#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<Exchange>>>);

impl Transcript {
    pub fn push(&self, e: Exchange) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }
    pub fn snapshot(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_transcript() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-api-key", "super-secret-key".parse().unwrap());
        h.insert("authorization", "Bearer voucher.jwt.value".parse().unwrap());
        h.insert("x-amz-meta-secret", "slot-secret".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        let out = format!("{:?}", redact_headers(&h));
        for secret in ["super-secret-key", "voucher.jwt.value", "slot-secret"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("application/json"));
        let u = redact_url("http://h/storage/k?X-Amz-Date=1&X-Amz-Signature=abcdef");
        assert_eq!(
            u,
            "http://h/storage/k?X-Amz-Date=1&X-Amz-Signature=[REDACTED]"
        );
    }

    #[test]
    fn json_bodies_lose_their_credentials() {
        let body = br#"[{"secret": "s3cr3t", "url": "http://h/k?X-Amz-Signature=abc&X-Amz-Date=1", "key": "K"}]"#;
        let BodyRecord::Json { json } = BodyRecord::of(body, "application/json") else {
            panic!()
        };
        let text = json.to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("abc&"), "{text}");
        assert!(text.contains("X-Amz-Date=1") && text.contains("\"K\""));
    }

    #[test]
    fn bodies_are_json_or_digest() {
        assert!(matches!(
            BodyRecord::of(b"{\"a\":1}", "application/json"),
            BodyRecord::Json { .. }
        ));
        let BodyRecord::Binary { size, .. } = BodyRecord::of(b"%PDF-1.4", "application/pdf") else {
            panic!()
        };
        assert_eq!(size, 8);
        assert_eq!(BodyRecord::of(b"", "application/json"), BodyRecord::None);
    }
}
