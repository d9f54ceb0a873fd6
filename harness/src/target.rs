//! Where a run sends its calls: the embedded mock (default), a mock URL, or SEND's UAT.

use crate::profile::{EnteProfile, ProfileError};
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
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        match s {
            "embedded" => Ok(Target::Embedded),
            "uat" => Ok(Target::Uat),
            u if u.starts_with("http://") || u.starts_with("https://") => {
                Ok(Target::Url(u.trim_end_matches('/').to_string()))
            }
            other => Err(TargetError::Unknown(other.to_string())),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Target::Embedded => "embedded mock".into(),
            Target::Url(_) => "mock at URL".into(),
            Target::Uat => "SEND UAT".into(),
        }
    }

    pub fn is_mock(&self) -> bool {
        !matches!(self, Target::Uat)
    }

    /// The kind a report names: `embedded`, `mock` or `uat`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Embedded => "embedded",
            Target::Url(_) => "mock",
            Target::Uat => "uat",
        }
    }
}

/// How long a SEND day lasts at the target, and how the harness knows.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetClock {
    pub send_day: Duration,
    pub source: ClockSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// The mock said so (`GET /mock/clock`).
    Mock,
    /// SEND's UAT: "1 day PROD = 1 minute UAT".
    Uat,
    /// A URL that is not a mock: assumed to run on UAT's clock.
    Assumed,
}

impl ClockSource {
    pub fn code(self) -> &'static str {
        match self {
            ClockSource::Mock => "mock",
            ClockSource::Uat => "uat",
            ClockSource::Assumed => "assumed",
        }
    }
}

impl TargetClock {
    pub fn uat() -> TargetClock {
        TargetClock {
            send_day: UAT_DAY,
            source: ClockSource::Uat,
        }
    }

    /// `1 SEND day = 60 s (UAT)`, for messages.
    pub fn describe(&self) -> String {
        let day = humane(self.send_day);
        match self.source {
            ClockSource::Mock => format!("1 SEND day = {day} (the mock's clock)"),
            ClockSource::Uat => format!("1 SEND day = {day} (UAT's clock)"),
            ClockSource::Assumed => {
                format!("1 SEND day = {day} (assumed: the target has no /mock/clock)")
            }
        }
    }
}

/// How long a SEND day lasts in UAT.
pub const UAT_DAY: Duration = Duration::from_secs(60);
/// The longest wait a scenario has, in SEND days: a digital failure (two rounds 7 days apart,
/// then 15 days to the refinement) with room to spare. UAT's 45 minutes.
const DEADLINE_SEND_DAYS: u32 = 45;
/// The shortest deadline, whatever the clock: network and start-up take real time too.
const MIN_DEADLINE: Duration = Duration::from_secs(60);

/// How long to wait for SEND, the longest pause between two polls, and the clock they assume.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub deadline: Duration,
    pub max_poll: Duration,
    pub clock: TargetClock,
}

impl Timing {
    /// Waits that follow the target's clock: a deadline of 45 SEND days (at least a minute),
    /// polls at most every half SEND day (20 ms to 30 s). `deadline` overrides the former.
    pub fn for_clock(clock: TargetClock, deadline: Option<Duration>) -> Timing {
        Timing {
            deadline: deadline.unwrap_or((clock.send_day * DEADLINE_SEND_DAYS).max(MIN_DEADLINE)),
            max_poll: (clock.send_day / 2)
                .clamp(Duration::from_millis(20), Duration::from_secs(30)),
            clock,
        }
    }

    /// What a wait that ran out says about the wait.
    pub fn describe(&self) -> String {
        format!("{}, {}", humane(self.deadline), self.clock.describe())
    }
}

/// `850 ms`, `1.5 s`, `45 min`.
pub fn humane(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", (ms as f64 / 100.0).round() / 10.0)
    } else {
        format!("{} min", (ms as f64 / 6_000.0).round() / 10.0)
    }
}

/// The demo Enti's API keys and tax id: the mock's, never UAT's.
const DEMO_KEYS: [&str; 2] = ["demo-api-key", "demo-pdnd-api-key"];
const DEMO_TAX_ID: &str = "80016350821";

/// Why a profile must not be run against UAT: it is the demo's, whose key and tax id belong to
/// the mock.
pub fn refuse_demo_on_uat(profile: &EnteProfile, target: &Target) -> Result<(), TargetError> {
    if *target != Target::Uat {
        return Ok(());
    }
    if profile
        .api_key()
        .is_ok_and(|k| DEMO_KEYS.contains(&k.expose()))
    {
        return Err(TargetError::DemoKey(profile.name.clone()));
    }
    if profile.tax_id == DEMO_TAX_ID {
        return Err(TargetError::DemoTaxId(profile.name.clone()));
    }
    Ok(())
}

/// The API key the embedded mock gives the scenario-2 creditor.
pub fn embedded_creditor_key(profile: &EnteProfile) -> String {
    format!("creditor-{}", profile.creditor_tax_id)
}

/// Starts the embedded mock for `profile`: the Ente itself and the creditor of TC-COSTO-01
/// scenario 2, on an ephemeral port, with a fast clock (one SEND day per 100 ms).
pub async fn start_embedded(profile: &EnteProfile) -> Result<MockServer, TargetError> {
    let key = profile.api_key()?;
    let pdnd = profile.pdnd.as_ref();
    if let Some(p) = pdnd
        && p.public_key_file.is_none()
    {
        return Err(TargetError::NoPublicKey);
    }
    let ente = send_mock::EnteProfile {
        name: profile.name.clone(),
        tax_id: profile.tax_id.clone(),
        api_key: ApiKey::new(key.expose()),
        pdnd: pdnd.is_some(),
        // The group the profile's notifications name is one of the Ente's.
        groups: profile
            .group
            .iter()
            .map(|g| send_mock::config::GroupEntry::Id(g.clone()))
            .collect(),
        key_groups: vec![],
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
    MockServer::start(config).await.map_err(TargetError::Start)
}

/// Why a run cannot use its target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("--target: `{0}` is not embedded, uat or an http(s) URL")]
    Unknown(String),
    #[error(
        "{0}: the demo API key is the mock's; against UAT give the Ente's own key (api_key_env)"
    )]
    DemoKey(String),
    #[error("{0}: tax_id {DEMO_TAX_ID} is the demo Ente's; against UAT give the Ente's own")]
    DemoTaxId(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(
        "pdnd.public_key_file: the embedded mock needs the public key of the PDND client to check its assertions"
    )]
    NoPublicKey,
    #[error("cannot start the embedded mock: {0}")]
    Start(#[source] std::io::Error),
    #[error("cannot start a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("the run panicked")]
    Panicked,
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
mod timing_tests {
    use super::*;

    #[test]
    fn waits_follow_the_clock() {
        let at = |ms| TargetClock {
            send_day: Duration::from_millis(ms),
            source: ClockSource::Mock,
        };
        let uat = Timing::for_clock(TargetClock::uat(), None);
        assert_eq!(uat.deadline, Duration::from_secs(45 * 60));
        assert_eq!(uat.max_poll, Duration::from_secs(30));
        let fast = Timing::for_clock(at(1000), None);
        assert_eq!(fast.deadline, Duration::from_secs(60), "at least a minute");
        assert_eq!(fast.max_poll, Duration::from_millis(500));
        let twin = Timing::for_clock(at(60_000), None);
        assert_eq!(twin.deadline, uat.deadline);
        assert_eq!(
            Timing::for_clock(at(10), None).max_poll,
            Duration::from_millis(20)
        );
        let given = Timing::for_clock(at(1000), Some(Duration::from_secs(5)));
        assert_eq!(given.deadline, Duration::from_secs(5));
        assert_eq!(
            twin.describe(),
            "45 min, 1 SEND day = 60 s (the mock's clock)"
        );
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
