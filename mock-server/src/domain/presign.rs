//! Presigned storage URLs, as S3 hands them out for SEND's safe storage: the URL carries its
//! method, path, date, lifetime and credential in `X-Amz-*` query parameters, and a signature
//! over all of them that the storage checks. A client that drops the query, edits a parameter,
//! moves the path or uses another method gets S3's 403, as in UAT.
//!
//! The signature is an HMAC-SHA256 with the mock's own key over the method, the path and the
//! sorted query without `X-Amz-Signature`. It is not AWS's SigV4 (no client computes one here:
//! the URL is used as given), but it fails on exactly what SigV4 fails on.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The bucket SEND's presigned URLs name (UAT's is `pn-safestorage-eu-south-1-<account>`).
pub const BUCKET: &str = "pn-safestorage-eu-south-1-mock";
/// The region named in credentials.
const REGION: &str = "eu-south-1";
/// Headers an upload URL signs (S3 refuses the upload when one differs from preload).
const UPLOAD_SIGNED_HEADERS: &str = "content-type;host;x-amz-checksum-sha256;x-amz-meta-secret";
/// The credential id of upload URLs (downloads carry their grant's token instead).
pub const UPLOAD_CREDENTIAL: &str = "ASIASENDMOCKUPLOADS";

/// Why a presigned URL does not authorise a request (S3's answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    /// No `X-Amz-Signature`: an anonymous request to a private bucket.
    #[error(
        "the URL has no X-Amz-Signature: use the url exactly as SEND returned it, query included"
    )]
    Unsigned,
    /// The signature does not match what was signed: query, path or method changed.
    #[error(
        "the request signature does not match: the {0} differs from the presigned URL SEND returned (use it unchanged, with the method it was issued for)"
    )]
    Mismatch(&'static str),
}

/// Signs and checks presigned URLs with one key.
#[derive(Clone)]
pub struct Presigner {
    key: [u8; 32],
}

impl std::fmt::Debug for Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presigner(***)")
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under a 32-byte key.
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut inner = Sha256::new();
    let mut outer = Sha256::new();
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(msg);
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                HEX[(b >> 4) as usize] as char,
                HEX[(b & 15) as usize] as char,
            ]
        })
        .collect()
}

/// The decoded query pairs of `query` (`a=1&b=2`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

impl Presigner {
    /// A presigner whose key derives from `seed` (a durable mock signs with the same key after
    /// a restart, so URLs it handed out stay valid).
    pub fn from_seed(seed: u64) -> Presigner {
        let mut h = Sha256::new();
        h.update(b"send-mock presigned urls");
        h.update(seed.to_be_bytes());
        Presigner {
            key: h.finalize().into(),
        }
    }

    fn signature(&self, method: &str, path: &str, params: &[(String, String)]) -> String {
        let mut sorted: Vec<&(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "X-Amz-Signature")
            .collect();
        sorted.sort();
        let query = serde_urlencoded::to_string(&sorted).unwrap_or_default();
        hex(&hmac_sha256(
            &self.key,
            format!("{method}\n{path}\n{query}").as_bytes(),
        ))
    }

    /// The presigned URL for `method path` at `base`, valid `expires_secs` from `at`, naming
    /// `credential` (the id the storage finds the grant by).
    pub fn url(
        &self,
        base: &str,
        method: &str,
        path: &str,
        credential: &str,
        at: DateTime<Utc>,
        expires_secs: u32,
    ) -> String {
        let signed_headers = if method == "PUT" {
            UPLOAD_SIGNED_HEADERS
        } else {
            "host"
        };
        let mut params: Vec<(String, String)> = vec![
            ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
            ("X-Amz-Date".into(), at.format("%Y%m%dT%H%M%SZ").to_string()),
            ("X-Amz-SignedHeaders".into(), signed_headers.into()),
            (
                "X-Amz-Credential".into(),
                format!(
                    "{credential}/{}/{REGION}/s3/aws4_request",
                    at.format("%Y%m%d")
                ),
            ),
            ("X-Amz-Expires".into(), expires_secs.to_string()),
        ];
        let sig = self.signature(method, path, &params);
        params.push(("X-Amz-Signature".into(), sig));
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        format!("{base}{path}?{query}")
    }

    /// Checks that `method path?query` is a URL this presigner issued, unchanged; returns the
    /// credential id it names.
    pub fn verify(&self, method: &str, path: &str, query: &str) -> Result<String, PresignError> {
        let params = query_pairs(query);
        let Some((_, given)) = params.iter().find(|(k, _)| k == "X-Amz-Signature") else {
            return Err(PresignError::Unsigned);
        };
        if *given != self.signature(method, path, &params) {
            // Name what changed where it can be told: the same query signed for the other
            // method, or for nothing at all.
            let other_method = ["PUT", "GET"]
                .into_iter()
                .filter(|m| *m != method)
                .any(|m| *given == self.signature(m, path, &params));
            let what = if other_method {
                "method"
            } else {
                "query or path"
            };
            return Err(PresignError::Mismatch(what));
        }
        let credential = params
            .iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .and_then(|(_, v)| v.split('/').next())
            .unwrap_or_default();
        Ok(credential.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    fn split(url: &str) -> (&str, &str) {
        let rest = url.strip_prefix("http://s").unwrap();
        rest.split_once('?').unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231_shape() {
        // RFC 4231 test case 2 has a 4-byte key; ours are 32 bytes, zero-padded the same way.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_url_verifies_unchanged_and_names_its_credential() {
        let p = Presigner::from_seed(7);
        let url = p.url("http://s", "GET", "/b/k.pdf", "tok123", at(), 3600);
        assert!(
            url.contains("X-Amz-Credential=tok123%2F20261204%2Feu-south-1%2Fs3%2Faws4_request")
        );
        let (path, query) = split(&url);
        assert_eq!(p.verify("GET", path, query).unwrap(), "tok123");
        // The parameters in another order, or with `/` not encoded, are the same URL.
        let mut pairs = query_pairs(query);
        pairs.reverse();
        let reordered = serde_urlencoded::to_string(&pairs)
            .unwrap()
            .replace("%2F", "/");
        assert_eq!(p.verify("GET", path, &reordered).unwrap(), "tok123");
    }

    #[test]
    fn every_change_is_refused() {
        let p = Presigner::from_seed(7);
        let url = p.url("http://s", "PUT", "/b/k.pdf", UPLOAD_CREDENTIAL, at(), 3600);
        let (path, query) = split(&url);
        assert_eq!(p.verify("PUT", path, ""), Err(PresignError::Unsigned));
        assert_eq!(
            p.verify("POST", path, query),
            Err(PresignError::Mismatch("method"))
        );
        assert_eq!(
            p.verify("GET", path, query),
            Err(PresignError::Mismatch("method"))
        );
        assert_eq!(
            p.verify("PUT", "/b/other.pdf", query),
            Err(PresignError::Mismatch("query or path"))
        );
        let longer = query.replace("X-Amz-Expires=3600", "X-Amz-Expires=86400");
        assert!(p.verify("PUT", path, &longer).is_err());
        let dropped: Vec<_> = query
            .split('&')
            .filter(|kv| !kv.starts_with("X-Amz-Date"))
            .collect();
        assert!(p.verify("PUT", path, &dropped.join("&")).is_err());
        // Another mock's key.
        assert!(Presigner::from_seed(8).verify("PUT", path, query).is_err());
    }
}
