//! One error type for the whole API, rendered as SEND's Problem JSON with a trace id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use send_wire::{Problem, ProblemError};

tokio::task_local! {
    /// The trace id of the request being served (set by the trace middleware).
    pub static TRACE_ID: String;
    /// SEND's (virtual) time when the request arrived: the timestamp Problems show.
    pub static REQUEST_TIME: chrono::DateTime<chrono::Utc>;
}

/// The current request's trace id, or a fresh one outside a request.
pub fn current_trace_id() -> String {
    TRACE_ID
        .try_with(|t| t.clone())
        .unwrap_or_else(|_| new_trace_id())
}

/// An AWS-style trace id, like the ones SEND's gateway returns: `Root=1-` then the Unix time
/// in 8 hex digits, `-`, and 96 random bits in 24. Written digit by digit rather than with
/// `format!`, because every request gets one.
pub fn new_trace_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let time = chrono::Utc::now().timestamp() as u32;
    let random = rand::random::<u128>();
    let mut id = *b"Root=1-00000000-000000000000000000000000";
    for (i, digit) in id[7..15].iter_mut().enumerate() {
        *digit = HEX[(time >> (28 - 4 * i)) as usize & 0xf];
    }
    for (i, digit) in id[16..].iter_mut().enumerate() {
        *digit = HEX[(random >> (92 - 4 * i)) as usize & 0xf];
    }
    std::str::from_utf8(&id)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<ProblemError>,
    pub retry_after_ms: Option<u64>,
    /// Rendered as SEND's API gateway answers an authorizer's denial, not as a Problem.
    pub gateway: bool,
}

fn err(code: &str, element: Option<String>, detail: impl Into<String>) -> ProblemError {
    ProblemError {
        code: code.to_string(),
        element,
        detail: Some(detail.into()),
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        title: &'static str,
        detail: impl Into<String>,
        errors: Vec<ProblemError>,
    ) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            errors,
            retry_after_ms: None,
            gateway: false,
        }
    }

    /// 400 from the gateway's body validation.
    pub fn invalid_body(errors: Vec<ProblemError>) -> Self {
        let n = errors.len();
        Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION ERROR",
            format!("Validation errors: {n} problem(s) in the request body"),
            errors,
        )
    }

    /// 400 `PN_INVALID_BODY` with one error per schema violation.
    pub fn from_violations(violations: Vec<crate::domain::schema::Violation>) -> Self {
        Self::invalid_body(
            violations
                .into_iter()
                .map(|v| ProblemError {
                    code: "PN_INVALID_BODY".into(),
                    element: Some(if v.element.is_empty() {
                        "/".into()
                    } else {
                        v.element
                    }),
                    detail: Some(v.detail),
                })
                .collect(),
        )
    }

    pub fn invalid_body_one(detail: impl Into<String>) -> Self {
        Self::invalid_body(vec![err("PN_INVALID_BODY", None, detail)])
    }

    /// 400 from the gateway's path or query validation.
    pub fn invalid_parameter(element: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION ERROR",
            "Validation errors in path or query parameters",
            vec![err("PN_INVALID_PARAMETERS", Some(element.into()), detail)],
        )
    }

    /// 400 from a service rule.
    pub fn bad_request(code: &str, element: Option<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            detail.clone(),
            vec![err(code, element, detail)],
        )
    }

    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            detail.clone(),
            vec![err(code, None, detail)],
        )
    }

    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            detail.clone(),
            vec![err(code, None, detail)],
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            detail.clone(),
            vec![err("PN_UNAUTHORIZED", None, detail)],
        )
    }

    pub fn conflict(errors: Vec<(String, String)>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            "Duplicated notification",
            errors
                .into_iter()
                .map(|(e, d)| err("PN_GENERIC_INVALIDPARAMETER_DUPLICATED", Some(e), d))
                .collect(),
        )
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected error",
            detail.clone(),
            vec![err("PN_GENERIC_ERROR", None, detail)],
        )
    }

    /// The denial as SEND's gateway answers it (`--uat-twin`): AWS's fixed body, no reason; the
    /// mock's reason goes in `x-send-mock-reason`.
    pub fn into_gateway_denial(mut self) -> Self {
        self.gateway = true;
        self
    }

    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    pub fn problem(&self) -> Problem {
        let errors = if self.errors.is_empty() {
            vec![err("PN_GENERIC_ERROR", None, self.detail.clone())]
        } else {
            self.errors.clone()
        };
        Problem {
            kind: None,
            status: self.status.as_u16(),
            title: Some(self.title.to_string()),
            detail: Some(clean(&self.detail, DETAIL_MAX)),
            trace_id: Some(current_trace_id()),
            timestamp: Some(crate::domain::clock::rfc3339(
                REQUEST_TIME
                    .try_with(|t| *t)
                    .unwrap_or_else(|_| chrono::Utc::now()),
            )),
            errors: errors
                .into_iter()
                .map(|e| ProblemError {
                    code: clean(&e.code, ERROR_DETAIL_MAX),
                    element: e.element.map(|x| clean(&x, ERROR_DETAIL_MAX)),
                    detail: e.detail.map(|d| clean(&d, ERROR_DETAIL_MAX)),
                })
                .collect(),
        }
    }
}

/// The longest `detail` of a Problem (the bundle's `maxLength`).
pub const DETAIL_MAX: usize = 4096;
/// The longest `errors[].detail`.
pub const ERROR_DETAIL_MAX: usize = 1024;
/// What marks a text cut to its limit.
const CUT: &str = "… (cut)";

/// `text` as a Problem may carry it: control characters (a newline copied from the input, say)
/// written as escapes, so the schema's `^.{0,4096}$` holds; at most `max` characters, the cut
/// marked. Every Problem goes through here.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for c in text.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            for e in c.escape_default() {
                out.push(e);
                count += 1;
            }
        } else {
            out.push(c);
            count += 1;
        }
        // One past the limit is enough to know it must be cut.
        if count > max {
            let room = max.saturating_sub(CUT.chars().count());
            return out.chars().take(room).collect::<String>() + CUT;
        }
    }
    out
}

/// An authorizer denial as API Gateway words it: 401 when the key is missing, 403 otherwise.
fn gateway_denial(e: &ApiError) -> Response {
    let (body, kind) = if e.status == StatusCode::UNAUTHORIZED {
        (r#"{"message":"Unauthorized"}"#, "UnauthorizedException")
    } else {
        (
            r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#,
            "AccessDeniedException",
        )
    };
    let mut res = (e.status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    let reason: String = e
        .detail
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&reason) {
        h.insert("x-send-mock-reason", v);
    }
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.gateway {
            return gateway_denial(&self);
        }
        let body = serde_json::to_vec(&self.problem()).expect("problem serializes");
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(ms) = self.retry_after_ms {
            res.headers_mut()
                .insert("retry-after", HeaderValue::from(ms));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod clean_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn newlines_are_escaped_and_long_texts_cut_visibly() {
        assert_eq!(clean("a\nb", 100), "a\\nb");
        assert_eq!(clean("ok", 2), "ok");
        let long = "x".repeat(3000);
        let c = clean(&long, ERROR_DETAIL_MAX);
        assert_eq!(c.chars().count(), ERROR_DETAIL_MAX);
        assert!(c.ends_with(CUT));
    }

    proptest! {
        /// Whatever a client puts in a path or a body, the Problem passes the bundle's Problem
        /// schema: detail ≤ 4096 characters matching `^.{0,4096}$`, errors[].detail ≤ 1024.
        #[test]
        fn any_input_gives_a_problem_within_the_schema(text in any::<String>(), n in 0usize..5000) {
            let input: String = text.chars().cycle().take(n.max(text.chars().count())).collect();
            let p = ApiError::bad_request("PN_GENERIC_INVALIDPARAMETER", Some(input.clone()), input.clone()).problem();
            let detail = p.detail.unwrap();
            prop_assert!(detail.chars().count() <= DETAIL_MAX);
            let line = |s: &str| !s.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}');
            prop_assert!(line(&detail));
            for e in &p.errors {
                let d = e.detail.as_deref().unwrap_or_default();
                prop_assert!(d.chars().count() <= ERROR_DETAIL_MAX);
                prop_assert!(line(d));
                prop_assert!(line(e.element.as_deref().unwrap_or_default()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_trace_id;

    #[test]
    fn trace_ids_have_the_gateway_shape_with_the_time_and_random_bits() {
        let before = chrono::Utc::now().timestamp() as u32;
        let ids: Vec<String> = (0..200).map(|_| new_trace_id()).collect();
        let after = chrono::Utc::now().timestamp() as u32;
        for id in &ids {
            assert_eq!(id.len(), 40, "{id}");
            assert!(
                id.starts_with("Root=1-") && id.as_bytes()[15] == b'-',
                "{id}"
            );
            let hex = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            };
            assert!(hex(&id[7..15]) && hex(&id[16..]), "{id}");
            let time = u32::from_str_radix(&id[7..15], 16).unwrap();
            assert!((before..=after).contains(&time), "{id}: time {time}");
        }
        let distinct: std::collections::HashSet<&str> = ids.iter().map(|id| &id[16..]).collect();
        assert_eq!(distinct.len(), ids.len(), "random parts repeat");
        // Each of the 24 random digits takes more than one value over 200 ids.
        for pos in 16..40 {
            let seen: std::collections::HashSet<u8> =
                ids.iter().map(|id| id.as_bytes()[pos]).collect();
            assert!(seen.len() > 1, "digit {pos} never changes");
        }
    }
}
