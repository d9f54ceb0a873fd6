//! Before any scenario: can the target be reached with the Ente's credentials, and how long is
//! a SEND day there. A run that cannot start says why in one line and writes no report of
//! failed test cases.

use crate::client::{ClientError, SendClient, TransportKind};
use crate::target::{ClockSource, Target, TargetClock};
use reqwest::Method;
use std::time::Duration;

/// Why the target cannot be used, one cause each, as a QA fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    #[error("{url}: the host name does not resolve ({detail})")]
    Dns { url: String, detail: String },
    #[error(
        "{url}: connection refused: nothing listens there; is the target running and the URL right?"
    )]
    Refused { url: String },
    #[error("{url}: the TLS handshake failed ({detail})")]
    Tls { url: String, detail: String },
    #[error("{url}: no answer in time ({detail})")]
    Timeout { url: String, detail: String },
    #[error("{url}: no answer ({detail})")]
    NoAnswer { url: String, detail: String },
    #[error("the PDND voucher was refused: {detail}")]
    Voucher { detail: String },
    #[error("{url} answered 401 Unauthorized to GET /status: the API key was not accepted as a key{}", why(.detail))]
    Unauthorized { url: String, detail: String },
    #[error("{url} answered 403 Forbidden to GET /status: the API key is unknown or not enabled there, or its PDND voucher is missing, expired or of another client{}", why(.detail))]
    Forbidden { url: String, detail: String },
    #[error(
        "{url}: SEND reports a downtime (GET /status answered 500): {incidents}; evidence made now would not show a working integration, run again once /status answers 200"
    )]
    Degraded { url: String, incidents: String },
    #[error("{url} answered HTTP {status} to GET /status{}", why(.detail))]
    Unexpected {
        url: String,
        status: u16,
        detail: String,
    },
}

fn why(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// What the target said beside a refusal: the mock's reason, SEND's Problem, or the body.
fn refusal_detail(answer: &crate::client::Answer) -> String {
    if let Some(r) = answer.header("x-send-mock-reason") {
        return r.to_string();
    }
    let body = answer.json();
    let text = body["errors"][0]["detail"]
        .as_str()
        .or(body["detail"].as_str())
        .or(body["message"].as_str())
        .or(body["Message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&answer.bytes).into_owned());
    text.chars().take(300).collect()
}

/// The open incidents a `/status` body lists (`PnStatusResponse.openIncidents`), in words:
/// "NOTIFICATION_CREATE KO since 2026-12-04T10:00:00Z".
fn open_incidents(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let list = v["openIncidents"].as_array().filter(|l| !l.is_empty())?;
    Some(
        list.iter()
            .map(|i| {
                format!(
                    "{} {} since {}",
                    i["functionality"].as_str().unwrap_or("?"),
                    i["status"].as_str().unwrap_or("KO"),
                    i["startDate"].as_str().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// `GET /status` with the Ente's key (and voucher): the one call every target answers.
pub async fn check(client: &SendClient) -> Result<(), PreflightError> {
    let url = client.base().to_string();
    let answer = client
        .call(Method::GET, "/status", None, true, "preflight")
        .await;
    let answer = match answer {
        Ok(a) => a,
        Err(ClientError::Transport { error, .. }) => {
            let detail = error.message;
            return Err(match error.kind {
                TransportKind::Dns => PreflightError::Dns { url, detail },
                TransportKind::Refused => PreflightError::Refused { url },
                TransportKind::Tls => PreflightError::Tls { url, detail },
                TransportKind::Timeout => PreflightError::Timeout { url, detail },
                TransportKind::Voucher => PreflightError::Voucher { detail },
                TransportKind::Other => PreflightError::NoAnswer { url, detail },
            });
        }
        Err(ClientError::Http {
            status: 500, body, ..
        }) if open_incidents(&body).is_some() => {
            return Err(PreflightError::Degraded {
                url,
                incidents: open_incidents(&body).unwrap_or_default(),
            });
        }
        Err(e @ (ClientError::Http { .. } | ClientError::Schema { .. })) => {
            return Err(PreflightError::Unexpected {
                url,
                status: e.status().unwrap_or(0),
                detail: e.to_string(),
            });
        }
    };
    let detail = refusal_detail(&answer);
    match answer.status {
        200 => Ok(()),
        401 => Err(PreflightError::Unauthorized { url, detail }),
        403 => Err(PreflightError::Forbidden { url, detail }),
        status => Err(PreflightError::Unexpected {
            url,
            status,
            detail,
        }),
    }
}

/// How long a SEND day lasts at the target: UAT's minute, or what a mock says at
/// `GET /mock/clock`. A URL that answers no clock is taken to run on UAT's.
pub async fn clock(client: &SendClient, target: &Target) -> TargetClock {
    if *target == Target::Uat {
        return TargetClock::uat();
    }
    let said = client
        .call(Method::GET, "/mock/clock", None, true, "the mock's clock")
        .await
        .ok()
        .filter(|a| a.status == 200)
        .and_then(|a| a.json()["realTimePerSendDayMs"].as_u64())
        .filter(|ms| *ms > 0);
    match said {
        Some(ms) => TargetClock {
            send_day: Duration::from_millis(ms),
            source: ClockSource::Mock,
        },
        None => TargetClock {
            source: ClockSource::Assumed,
            ..TargetClock::uat()
        },
    }
}
