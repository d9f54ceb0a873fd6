//! Where a run sends its calls: the embedded mock (default), a mock URL, or SEND's UAT.

use crate::profile::EnteProfile;
use send_mock::{ApiKey, MockConfig, MockServer};
use std::time::Duration;

pub const UAT_URL: &str = "https://api.uat.notifichedigitali.it";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Embedded,
    Url(String),
    Uat,
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, String> {
        match s {
            "embedded" => Ok(Target::Embedded),
            "uat" => Ok(Target::Uat),
            u if u.starts_with("http://") || u.starts_with("https://") => {
                Ok(Target::Url(u.trim_end_matches('/').to_string()))
            }
            other => Err(format!(
                "--target: `{other}` is not embedded, uat or an http(s) URL"
            )),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Target::Embedded => "embedded mock".into(),
            Target::Url(_) => "mock at URL".into(),
            Target::Uat => "SEND UAT".into(),
        }
    }

    /// Waits scale with the target: UAT compresses a SEND day into about a minute.
    pub fn timing(&self) -> Timing {
        match self {
            Target::Embedded => Timing {
                deadline: Duration::from_secs(60),
                max_poll: Duration::from_millis(100),
            },
            Target::Url(_) => Timing {
                deadline: Duration::from_secs(300),
                max_poll: Duration::from_secs(2),
            },
            Target::Uat => Timing {
                deadline: Duration::from_secs(45 * 60),
                max_poll: Duration::from_secs(30),
            },
        }
    }

    pub fn is_mock(&self) -> bool {
        !matches!(self, Target::Uat)
    }
}

/// How long to wait for SEND, and the longest pause between two polls.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub deadline: Duration,
    pub max_poll: Duration,
}

/// The API key the embedded mock gives the scenario-2 creditor.
pub fn embedded_creditor_key(profile: &EnteProfile) -> String {
    format!("creditor-{}", profile.creditor_tax_id)
}

/// Starts the embedded mock for `profile`: the Ente itself and the creditor of TC-COSTO-01
/// scenario 2, on an ephemeral port, with a fast clock (one SEND day per 100 ms).
pub async fn start_embedded(profile: &EnteProfile) -> Result<MockServer, String> {
    let key = profile.api_key()?;
    let pdnd = profile.pdnd.as_ref();
    if let Some(p) = pdnd
        && p.public_key_file.is_none()
    {
        return Err("pdnd.public_key_file: the embedded mock needs the public key of the PDND client to check its assertions".into());
    }
    let ente = send_mock::EnteProfile {
        name: profile.name.clone(),
        tax_id: profile.tax_id.clone(),
        api_key: ApiKey::new(key.expose()),
        pdnd: pdnd.is_some(),
        groups: vec![],
        taxonomy_codes: profile.taxonomy_codes.clone(),
        pdnd_client_id: pdnd.map(|p| p.client_id.clone()),
        pdnd_kid: pdnd.map(|p| p.kid.clone()),
        pdnd_public_key_file: pdnd.and_then(|p| p.public_key_file.clone()),
    };
    let mut enti = vec![ente];
    if profile.creditor_tax_id != profile.tax_id {
        enti.push(send_mock::EnteProfile {
            name: format!("Creditore di {}", profile.name),
            tax_id: profile.creditor_tax_id.clone(),
            api_key: ApiKey::new(embedded_creditor_key(profile)),
            ..send_mock::EnteProfile::demo()
        });
    }
    let config = MockConfig {
        enti,
        time_scale: Duration::from_millis(100),
        stream_retry_after: Duration::from_millis(50),
        ..MockConfig::for_tests()
    };
    MockServer::start(config)
        .await
        .map_err(|e| format!("cannot start the embedded mock: {e}"))
}

/// A URL fit for a report: without any `user:password@`.
pub fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod url_tests {
    #[test]
    fn credentials_in_a_url_never_reach_a_report() {
        use super::without_credentials as w;
        assert_eq!(w("http://user:pw@host:8080/x"), "http://host:8080/x");
        assert_eq!(
            w("https://api.uat.notifichedigitali.it"),
            "https://api.uat.notifichedigitali.it"
        );
        assert_eq!(w("http://host/a@b"), "http://host/a@b");
    }
}
