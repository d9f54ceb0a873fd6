//! SEND's platform downtimes (pn-downtime-logs): a functionality goes KO at an instant and OK at
//! a later one; a resolved downtime has a legal fact (the "atto opponibile a terzi" a PA uses to
//! justify a missed deadline). At most one downtime per functionality is open at a time.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Rome;
use serde::{Deserialize, Serialize};

/// `PnFunctionality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum Functionality {
    NOTIFICATION_CREATE,
    NOTIFICATION_VISUALIZATION,
    NOTIFICATION_WORKFLOW,
}

impl Functionality {
    pub const ALL: [Functionality; 3] = [
        Functionality::NOTIFICATION_CREATE,
        Functionality::NOTIFICATION_VISUALIZATION,
        Functionality::NOTIFICATION_WORKFLOW,
    ];

    pub fn parse(s: &str) -> Option<Functionality> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Functionality::NOTIFICATION_CREATE => "NOTIFICATION_CREATE",
            Functionality::NOTIFICATION_VISUALIZATION => "NOTIFICATION_VISUALIZATION",
            Functionality::NOTIFICATION_WORKFLOW => "NOTIFICATION_WORKFLOW",
        }
    }

    /// What the functionality is, in the words of SEND's documents.
    pub fn italian(self) -> &'static str {
        match self {
            Functionality::NOTIFICATION_CREATE => "creazione di nuove notifiche",
            Functionality::NOTIFICATION_VISUALIZATION => {
                "visualizzazione delle notifiche e download degli atti"
            }
            Functionality::NOTIFICATION_WORKFLOW => "avanzamento del processo di notifica",
        }
    }
}

/// One downtime of one functionality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downtime {
    pub functionality: Functionality,
    pub start: DateTime<Utc>,
    /// `None` while open.
    pub end: Option<DateTime<Utc>>,
    /// Set when the downtime is resolved.
    pub legal_fact_id: Option<String>,
}

impl Downtime {
    /// The legal fact's file name (SEND's example: `downtime_NEW_NOTIFICATION_20221204.pdf`).
    pub fn filename(&self) -> String {
        format!(
            "downtime_{}_{}.pdf",
            self.functionality.as_str(),
            self.start.with_timezone(&Rome).format("%Y%m%d")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DowntimeError {
    #[error("{} is already KO since {since}: close it (status OK) before opening another", .functionality.as_str())]
    AlreadyOpen {
        functionality: Functionality,
        since: DateTime<Utc>,
    },
    #[error("{} has no open downtime to close", .0.as_str())]
    NotOpen(Functionality),
    #[error("{} went KO at {start}: it cannot be OK again at {at}, earlier", .functionality.as_str())]
    EndsBeforeStart {
        functionality: Functionality,
        start: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

/// Every downtime, open and resolved, in the order they began.
#[derive(Debug, Clone, Default)]
pub struct Downtimes {
    entries: Vec<Downtime>,
}

impl Downtimes {
    /// `functionality` goes KO at `at`.
    pub fn open(
        &mut self,
        functionality: Functionality,
        at: DateTime<Utc>,
    ) -> Result<&Downtime, DowntimeError> {
        if let Some(d) = self.open_of(functionality) {
            return Err(DowntimeError::AlreadyOpen {
                functionality,
                since: d.start,
            });
        }
        self.entries.push(Downtime {
            functionality,
            start: at,
            end: None,
            legal_fact_id: None,
        });
        Ok(self.entries.last().expect("just pushed"))
    }

    /// `functionality` is OK again at `at`; its downtime gets its legal fact.
    pub fn close(
        &mut self,
        functionality: Functionality,
        at: DateTime<Utc>,
    ) -> Result<&Downtime, DowntimeError> {
        let index = self
            .entries
            .iter()
            .position(|d| d.functionality == functionality && d.end.is_none())
            .ok_or(DowntimeError::NotOpen(functionality))?;
        let d = &mut self.entries[index];
        if at < d.start {
            return Err(DowntimeError::EndsBeforeStart {
                functionality,
                start: d.start,
                at,
            });
        }
        d.end = Some(at);
        // Deterministic, so a journal replay names it again the same way.
        d.legal_fact_id = Some(format!(
            "PN_DOWNTIME_LEGAL_FACTS-{index:04}-{}.pdf",
            d.start.format("%Y%m%d%H%M%S")
        ));
        Ok(&self.entries[index])
    }

    fn open_of(&self, functionality: Functionality) -> Option<&Downtime> {
        self.entries
            .iter()
            .find(|d| d.functionality == functionality && d.end.is_none())
    }

    pub fn is_open(&self, functionality: Functionality) -> bool {
        self.open_of(functionality).is_some()
    }

    /// The open downtimes, at most one per functionality.
    pub fn open_incidents(&self) -> Vec<&Downtime> {
        self.entries.iter().filter(|d| d.end.is_none()).collect()
    }

    /// The resolved downtimes that began in `month` of `year`, Italian time.
    pub fn resolved_in(&self, year: i32, month: u32) -> Vec<&Downtime> {
        self.entries
            .iter()
            .filter(|d| d.end.is_some())
            .filter(|d| {
                let start = d.start.with_timezone(&Rome);
                start.year() == year && start.month() == month
            })
            .collect()
    }

    pub fn by_legal_fact(&self, id: &str) -> Option<&Downtime> {
        self.entries
            .iter()
            .find(|d| d.legal_fact_id.as_deref() == Some(id))
    }
}

/// The legal fact's text lines, for the PDF.
pub fn legal_fact_lines(d: &Downtime) -> Vec<String> {
    let rome = |t: DateTime<Utc>| {
        t.with_timezone(&Rome)
            .format("%d/%m/%Y %H:%M:%S %Z")
            .to_string()
    };
    let mut lines = vec![
        "PagoPA S.p.A. attesta il malfunzionamento della piattaforma SEND".to_string(),
        format!(
            "Funzionalità: {} ({})",
            d.functionality.as_str(),
            d.functionality.italian()
        ),
        format!("Inizio del malfunzionamento: {}", rome(d.start)),
    ];
    if let Some(end) = d.end {
        lines.push(format!("Ripristino: {}", rome(end)));
    }
    lines.push(String::new());
    lines.push("Documento generato da send-mock: non ha valore legale.".to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use Functionality::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn one_open_downtime_per_functionality_and_a_legal_fact_once_resolved() {
        let mut d = Downtimes::default();
        d.open(NOTIFICATION_CREATE, at("2026-12-04T10:00:00Z"))
            .unwrap();
        let again = d.open(NOTIFICATION_CREATE, at("2026-12-04T10:05:00Z"));
        assert!(matches!(again, Err(DowntimeError::AlreadyOpen { .. })));
        d.open(NOTIFICATION_WORKFLOW, at("2026-12-04T10:01:00Z"))
            .unwrap();
        assert_eq!(d.open_incidents().len(), 2);
        assert!(d.open_incidents().iter().all(|i| i.legal_fact_id.is_none()));

        let early = d.close(NOTIFICATION_CREATE, at("2026-12-04T09:00:00Z"));
        assert!(matches!(early, Err(DowntimeError::EndsBeforeStart { .. })));
        let closed = d
            .close(NOTIFICATION_CREATE, at("2026-12-04T11:00:00Z"))
            .unwrap()
            .clone();
        let id = closed.legal_fact_id.clone().expect("a legal fact");
        assert_eq!(d.by_legal_fact(&id), Some(&closed));
        assert_eq!(
            d.close(NOTIFICATION_CREATE, at("2026-12-04T12:00:00Z")),
            Err(DowntimeError::NotOpen(NOTIFICATION_CREATE))
        );
        assert!(!d.is_open(NOTIFICATION_CREATE) && d.is_open(NOTIFICATION_WORKFLOW));
        // Reopened later: a second downtime, with its own legal fact once closed.
        d.open(NOTIFICATION_CREATE, at("2026-12-04T13:00:00Z"))
            .unwrap();
        let second = d
            .close(NOTIFICATION_CREATE, at("2026-12-04T13:30:00Z"))
            .unwrap();
        assert_ne!(second.legal_fact_id.as_deref(), Some(id.as_str()));
    }

    #[test]
    fn resolved_downtimes_are_listed_by_the_italian_month_they_began_in() {
        let mut d = Downtimes::default();
        // 23:30 UTC on 30 November is 00:30 on 1 December in Rome.
        d.open(NOTIFICATION_CREATE, at("2026-11-30T23:30:00Z"))
            .unwrap();
        d.close(NOTIFICATION_CREATE, at("2026-12-01T01:00:00Z"))
            .unwrap();
        d.open(NOTIFICATION_VISUALIZATION, at("2026-11-15T10:00:00Z"))
            .unwrap();
        assert_eq!(d.resolved_in(2026, 12).len(), 1);
        assert!(
            d.resolved_in(2026, 11).is_empty(),
            "still open: not resolved"
        );
        assert_eq!(
            d.resolved_in(2026, 12)[0].filename(),
            "downtime_NOTIFICATION_CREATE_20261201.pdf"
        );
    }

    #[test]
    fn the_legal_fact_names_the_functionality_and_both_instants_in_italian_time() {
        let mut d = Downtimes::default();
        d.open(NOTIFICATION_WORKFLOW, at("2026-07-01T08:00:00Z"))
            .unwrap();
        let closed = d
            .close(NOTIFICATION_WORKFLOW, at("2026-07-01T09:15:00Z"))
            .unwrap();
        let text = legal_fact_lines(closed).join("\n");
        assert!(text.contains("NOTIFICATION_WORKFLOW"), "{text}");
        assert!(text.contains("01/07/2026 10:00:00 CEST"), "{text}");
        assert!(text.contains("01/07/2026 11:15:00 CEST"), "{text}");
    }
}
