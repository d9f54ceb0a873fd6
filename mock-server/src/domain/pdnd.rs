//! PDND Interoperabilità, as far as a SEND client meets it: the token endpoint that exchanges a
//! client assertion (RS256, signed with the Ente's key) for a voucher, and the voucher check
//! SEND's authorizer makes. Each mistake PTs make gets PDND's code and a precise reason.

use crate::domain::ente::EnteId;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The audience PDND's UAT token endpoint expects in client assertions (no scheme).
pub const ASSERTION_AUDIENCE: &str = "auth.uat.interop.pagopa.it/client-assertion";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const VOUCHER_ISSUER: &str = "mock.interop.pagopa.it";
const VOUCHER_AUDIENCE: &str = "send-mock";
/// Voucher lifetime, in seconds (PDND's default order of magnitude).
pub const VOUCHER_TTL: i64 = 600;

/// A PDND client the mock knows: which Ente it belongs to and how to check its assertions.
pub struct PdndClient {
    pub ente: EnteId,
    pub client_id: String,
    pub kid: String,
    pub key: DecodingKey,
}

/// Why the token endpoint refused: PDND's code and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenError {
    pub code: &'static str,
    pub detail: String,
}

fn refuse(detail: impl Into<String>) -> TokenError {
    TokenError {
        code: "015-0008",
        detail: format!(
            "Unable to generate a token for the given request: {}",
            detail.into()
        ),
    }
}

/// The assertion's claims, once its signature verifies with the client's key (expiry and
/// audience are checked by [`check_claims`], with SEND's messages).
fn verified_claims(client: &PdndClient, assertion: &str) -> Result<Value, TokenError> {
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let claims = decode::<Value>(assertion, &client.key, &v)
        .map_err(|e| {
            refuse(format!(
                "the client_assertion signature does not verify with key {} ({e})",
                client.kid
            ))
        })?
        .claims;
    Ok(claims)
}

/// The claims SEND's PDND requires of a client assertion; returns its `purposeId`.
fn check_claims(claims: &Value, client_id: &str, now: i64) -> Result<String, TokenError> {
    let claim = |k: &str| claims.get(k).and_then(Value::as_str);
    if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err(refuse(format!(
            "iss and sub must both be the client_id {client_id} (got iss {}, sub {})",
            claim("iss").map_or("none".into(), |v| format!("`{v}`")),
            claim("sub").map_or("none".into(), |v| format!("`{v}`"))
        )));
    }
    match claims.get("aud") {
        Some(Value::String(a)) if a == ASSERTION_AUDIENCE => {}
        Some(Value::String(a)) if a.trim_start_matches("https://") == ASSERTION_AUDIENCE => {
            return Err(refuse(format!(
                "aud `{a}` must be written without the scheme: {ASSERTION_AUDIENCE}"
            )));
        }
        other => {
            return Err(refuse(format!(
                "aud must be {ASSERTION_AUDIENCE}, got {}",
                other.map_or("none".into(), |v| v.to_string())
            )));
        }
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| refuse("exp is missing"))?;
    if exp <= now {
        return Err(refuse(format!(
            "the client assertion expired {} s ago: sign a new one",
            now - exp
        )));
    }
    if claims.get("iat").and_then(Value::as_i64).is_none() {
        return Err(refuse("iat is missing"));
    }
    if claim("jti").is_none() {
        return Err(refuse("jti is missing"));
    }
    let purpose = claim("purposeId")
        .ok_or_else(|| refuse("purposeId is missing"))?
        .to_string();
    Ok(purpose)
}

/// Issues and checks vouchers.
pub struct Pdnd {
    pub clients: Vec<PdndClient>,
    secret: Vec<u8>,
}

impl Pdnd {
    pub fn new(clients: Vec<PdndClient>) -> Pdnd {
        Pdnd {
            clients,
            secret: (0..32).map(|_| rand::random::<u8>()).collect(),
        }
    }

    /// Checks a token request (the form fields) and returns a voucher for the Ente's client.
    pub fn token(
        &self,
        form: &HashMap<String, String>,
        now: i64,
    ) -> Result<(EnteId, String), TokenError> {
        let (client, assertion) = self.client_of(form)?;
        let claims = verified_claims(client, assertion)?;
        let purpose = check_claims(&claims, &client.client_id, now)?;
        Ok((client.ente, self.voucher(&client.client_id, &purpose, now)?))
    }

    /// The client a token request names, and its assertion once the header is the client's
    /// (RS256, the client's kid).
    fn client_of<'f>(
        &self,
        form: &'f HashMap<String, String>,
    ) -> Result<(&PdndClient, &'f str), TokenError> {
        let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
        if field("grant_type") != Some("client_credentials") {
            return Err(refuse("grant_type must be client_credentials"));
        }
        if field("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(refuse(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        let assertion =
            field("client_assertion").ok_or_else(|| refuse("client_assertion is missing"))?;
        let client_id = field("client_id").ok_or_else(|| refuse("client_id is missing"))?;
        let client = self
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .ok_or_else(|| refuse(format!("unknown client_id {client_id}")))?;
        let header = decode_header(assertion)
            .map_err(|e| refuse(format!("client_assertion is not a JWT ({e})")))?;
        if header.alg != Algorithm::RS256 {
            return Err(refuse(format!(
                "client_assertion must be signed RS256, not {:?}",
                header.alg
            )));
        }
        match header.kid.as_deref() {
            None => return Err(refuse("the client_assertion header has no kid")),
            Some(k) if k != client.kid => {
                return Err(refuse(format!(
                    "kid {k} is not a key of client {client_id}"
                )));
            }
            Some(_) => {}
        }
        Ok((client, assertion))
    }

    /// Signs a voucher for `client_id` (HS256, `at+jwt`), valid [`VOUCHER_TTL`] seconds.
    fn voucher(&self, client_id: &str, purpose: &str, now: i64) -> Result<String, TokenError> {
        let voucher = json!({
            "iss": VOUCHER_ISSUER, "aud": VOUCHER_AUDIENCE, "sub": client_id, "client_id": client_id,
            "purposeId": purpose, "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + VOUCHER_TTL,
        });
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        let key = EncodingKey::from_secret(&self.secret)
            .map_err(|e| refuse(format!("cannot sign the voucher ({e})")))?;
        let token = encode(&h, &voucher, &key)
            .map_err(|e| refuse(format!("cannot sign the voucher ({e})")))?;
        Ok(token)
    }

    /// Checks a voucher as SEND's authorizer does; returns the client id it was issued to.
    pub fn verify(&self, token: &str, now: i64) -> Result<String, VoucherError> {
        let header = decode_header(token).map_err(|_| VoucherError::NotAJwt)?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(VoucherError::NotAVoucher);
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[VOUCHER_AUDIENCE]);
        v.set_issuer(&[VOUCHER_ISSUER]);
        v.validate_exp = false;
        let key = DecodingKey::from_secret(&self.secret).map_err(VoucherError::Key)?;
        let claims = decode::<Value>(token, &key, &v)
            .map_err(VoucherError::NotIssuedHere)?
            .claims;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp <= now {
            return Err(VoucherError::Expired(now - exp));
        }
        claims
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(VoucherError::NoClient)
    }
}

/// Why SEND's authorizer refuses a bearer token.
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    #[error("the bearer token is not a JWT")]
    NotAJwt,
    #[error(
        "the bearer token is not a PDND voucher (typ must be at+jwt): send the access_token, not the client assertion"
    )]
    NotAVoucher,
    #[error("the voucher was not issued by this PDND ({0})")]
    NotIssuedHere(#[source] jsonwebtoken::errors::Error),
    #[error("the voucher expired {0} s ago: ask the token endpoint for a new one")]
    Expired(i64),
    #[error("the voucher names no client_id")]
    NoClient,
    /// The mock's own signing secret cannot make a key (never for a generated secret).
    #[error("{0}")]
    Key(#[source] jsonwebtoken::errors::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../../../fixtures/pdnd/test-client.key");
    const PUBLIC: &str = include_str!("../../../fixtures/pdnd/test-client.pub.pem");

    fn pdnd() -> Pdnd {
        Pdnd::new(vec![PdndClient {
            ente: EnteId::new(0),
            client_id: "client-1".into(),
            kid: "kid-1".into(),
            key: DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap(),
        }])
    }

    fn assertion(edit: impl FnOnce(&mut Value, &mut Header)) -> String {
        let now = 1_800_000_000;
        let mut claims = json!({"iss": "client-1", "sub": "client-1", "aud": ASSERTION_AUDIENCE, "purposeId": "p-1", "jti": "j-1", "iat": now, "exp": now + 600});
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("kid-1".into());
        h.typ = Some("JWT".into());
        edit(&mut claims, &mut h);
        encode(
            &h,
            &claims,
            &EncodingKey::from_rsa_pem(PRIVATE.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn form(a: &str) -> HashMap<String, String> {
        [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_id", "client-1"),
            ("client_assertion", a),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    #[test]
    fn a_good_assertion_gets_a_voucher_that_verifies() {
        let p = pdnd();
        let (ente, token) = p
            .token(&form(&assertion(|_, _| {})), 1_800_000_000)
            .unwrap();
        assert_eq!(ente, EnteId::new(0));
        assert_eq!(p.verify(&token, 1_800_000_100).unwrap(), "client-1");
        assert!(
            p.verify(&token, 1_800_000_000 + VOUCHER_TTL + 1)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        assert!(
            p.verify(&assertion(|_, _| {}), 1_800_000_000)
                .unwrap_err()
                .to_string()
                .contains("at+jwt")
        );
    }

    #[test]
    fn each_assertion_mistake_is_named() {
        let p = pdnd();
        let now = 1_800_000_000;
        let cases: Vec<(String, &str)> = vec![
            (assertion(|c, _| c["exp"] = json!(now - 5)), "expired"),
            (
                assertion(|c, _| c["aud"] = json!(format!("https://{ASSERTION_AUDIENCE}"))),
                "without the scheme",
            ),
            (
                assertion(|_, h| h.kid = Some("other".into())),
                "kid other is not a key",
            ),
            (
                assertion(|c, _| c["iss"] = json!("someone")),
                "iss and sub must both be",
            ),
            (
                assertion(|c, _| {
                    c.as_object_mut().unwrap().remove("purposeId");
                }),
                "purposeId is missing",
            ),
            (
                assertion(|c, _| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
                "jti is missing",
            ),
        ];
        for (a, reason) in cases {
            let e = p.token(&form(&a), now).unwrap_err();
            assert_eq!(e.code, "015-0008");
            assert!(
                e.detail.contains(reason),
                "{} should contain {reason}",
                e.detail
            );
        }
        let mut f = form(&assertion(|_, _| {}));
        f.insert("client_id".into(), "nobody".into());
        assert!(
            p.token(&f, now)
                .unwrap_err()
                .detail
                .contains("unknown client_id")
        );
        let mut tampered = assertion(|_, _| {});
        tampered.pop();
        tampered.push('A');
        assert!(
            p.token(&form(&tampered), now)
                .unwrap_err()
                .detail
                .contains("signature")
        );
    }
}
