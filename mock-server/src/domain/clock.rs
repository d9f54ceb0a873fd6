//! The virtual clock: SEND time runs `scale` times faster than wall time and can jump ahead.
//!
//! `--time-scale` is the real time one SEND day takes (default `1s`), so a 7-day refinement
//! takes 7 s of wall time by default and 7 minutes with `60s` (UAT-like).

use chrono::{DateTime, Duration as SendDuration, Utc};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Virtual SEND time shared by the whole mock.
#[derive(Debug)]
pub struct VirtualClock {
    state: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    virtual_at: DateTime<Utc>,
    /// Virtual seconds per real second.
    scale: f64,
    /// Total of every explicit jump ([`VirtualClock::advance`]).
    jumped: SendDuration,
    /// While set, the clock stands at this instant (a journal being replayed).
    pinned: Option<DateTime<Utc>>,
    /// While set, io time stands here (the io instant a replayed op was journaled at).
    io_pinned: Option<SendDuration>,
}

impl Anchor {
    fn now(&self) -> DateTime<Utc> {
        self.pinned.unwrap_or_else(|| {
            self.virtual_at + to_send(self.real.elapsed().as_secs_f64() * self.scale)
        })
    }
}

impl VirtualClock {
    /// A clock starting at `start`, where one SEND day lasts `real_per_day` of wall time.
    pub fn new(start: DateTime<Utc>, real_per_day: Duration) -> Self {
        let secs = real_per_day.as_secs_f64().max(1e-6);
        VirtualClock {
            state: Mutex::new(Anchor {
                real: Instant::now(),
                virtual_at: start,
                scale: 86_400.0 / secs,
                jumped: SendDuration::zero(),
                pinned: None,
                io_pinned: None,
            }),
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.lock().expect("clock lock").now()
    }

    /// Jumps ahead by `by` of virtual time; returns the new virtual now.
    pub fn advance(&self, by: SendDuration) -> DateTime<Utc> {
        let mut a = self.state.lock().expect("clock lock");
        let now = a.now();
        a.jumped += by;
        if let Some(p) = a.pinned.as_mut() {
            *p = now + by;
            return now + by;
        }
        a.real = Instant::now();
        a.virtual_at = now + by;
        a.virtual_at
    }

    /// Stops the clock at `at` (`Some`) or lets it run again from where it was (`None`).
    pub fn pin(&self, at: Option<DateTime<Utc>>) {
        let mut a = self.state.lock().expect("clock lock");
        if at.is_none() && a.pinned.is_some() {
            a.real = Instant::now();
        }
        a.pinned = at;
    }

    /// Runs on from `at` (after a restart, from the last instant the journal saw).
    pub fn resume_at(&self, at: DateTime<Utc>) {
        let mut a = self.state.lock().expect("clock lock");
        a.pinned = None;
        a.real = Instant::now();
        a.virtual_at = at.max(a.virtual_at);
    }

    /// Wall time (since the Unix epoch) plus every explicit jump. Lifetimes of things that
    /// live in real time even in UAT (presigned URLs, stream events, unreferenced uploads) are
    /// measured on this: the clock's compression of SEND days does not expire them, a jump
    /// does, and so does the time a mock spends stopped (a restart replays the jumps).
    pub fn io_time(&self) -> SendDuration {
        let a = self.state.lock().expect("clock lock");
        if let Some(io) = a.io_pinned {
            return io;
        }
        let wall = SendDuration::microseconds(Utc::now().timestamp_micros());
        wall + a.jumped
    }

    /// Stands io time at `at` (replaying an op journaled then), or lets it run (`None`).
    pub fn pin_io(&self, at: Option<SendDuration>) {
        self.state.lock().expect("clock lock").io_pinned = at;
    }

    /// Wall time left until virtual instant `at` (zero when it is already past).
    pub fn real_until(&self, at: DateTime<Utc>) -> Duration {
        let a = *self.state.lock().expect("clock lock");
        let now = a.now();
        let left = (at - now).num_microseconds().unwrap_or(i64::MAX);
        if left <= 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(left as f64 / 1e6 / a.scale)
        }
    }

    /// Virtual duration that `real` wall time represents.
    pub fn virtual_of(&self, real: Duration) -> SendDuration {
        let a = *self.state.lock().expect("clock lock");
        to_send(real.as_secs_f64() * a.scale)
    }
}

fn to_send(secs: f64) -> SendDuration {
    SendDuration::microseconds((secs * 1e6) as i64)
}

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("`{0}`: expected a number before a unit (ms, s, m, h, d)")]
    NoNumber(String),
    #[error("`{0}`: number too large")]
    TooLarge(String),
    #[error("`{0}`: missing unit (ms, s, m, h, d)")]
    NoUnit(String),
    #[error("`{text}`: unknown unit `{unit}` (use ms, s, m, h, d)")]
    UnknownUnit { text: String, unit: String },
}

/// Parses `50ms`, `1s`, `60s`, `15m`, `2h`, `7d` (also combined like `1d12h`).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::NoNumber(text.into()));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::TooLarge(text.into()))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            "" => return Err(DurationError::NoUnit(text.into())),
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.into(),
                    unit: other.into(),
                });
            }
        };
        total = total.saturating_add(part);
    }
    Ok(total)
}

/// SEND's timestamp format: RFC 3339, UTC, millisecond precision.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_rejects_garbage() {
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert!(
            parse_duration("7")
                .unwrap_err()
                .to_string()
                .contains("missing unit")
        );
        assert!(
            parse_duration("7w")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn advance_moves_virtual_time_and_real_until_shrinks() {
        let start = "2026-01-01T00:00:00Z".parse().unwrap();
        // One SEND day per hour of wall time: time barely moves during the test.
        let clock = VirtualClock::new(start, Duration::from_secs(3600));
        let t0 = clock.now();
        let target = t0 + SendDuration::days(2);
        assert!(clock.real_until(target) > Duration::from_secs(7000));
        clock.advance(SendDuration::days(2));
        assert!(clock.now() >= target);
        assert_eq!(clock.real_until(target), Duration::ZERO);
    }

    #[test]
    fn io_time_ignores_compression_but_counts_jumps() {
        // One SEND day per millisecond: virtual time races, io time does not.
        let clock = VirtualClock::new(Utc::now(), Duration::from_millis(1));
        let io0 = clock.io_time();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() - Utc::now() > SendDuration::days(10));
        assert!(clock.io_time() - io0 < SendDuration::seconds(5));
        clock.advance(SendDuration::hours(2));
        assert!(clock.io_time() - io0 >= SendDuration::hours(2));
    }

    #[test]
    fn scale_maps_one_day_to_the_configured_real_time() {
        let clock = VirtualClock::new(Utc::now(), Duration::from_millis(100));
        let v = clock.virtual_of(Duration::from_millis(100));
        assert_eq!(v.num_hours(), 24);
    }
}
