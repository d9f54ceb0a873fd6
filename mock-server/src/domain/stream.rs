//! SEND's progress streams: versions, filters and what an event looks like in each version.

use super::status::Status;
use super::timeline::{Category, DetailVersion};
use std::collections::HashSet;

send_wire::api_versions! {
    /// The stream API families SEND routes (`/delivery-progresses[/v2.x]/streams`).
    #[derive(serde::Serialize, serde::Deserialize)]
    StreamVersion {
        V1 => "", V23 => "/v2.3", V24 => "/v2.4", V25 => "/v2.5", V26 => "/v2.6",
        V27 => "/v2.7", V28 => "/v2.8", V29 => "/v2.9",
    }
}

impl StreamVersion {
    /// SEND's `version` field (`v10` is the first API).
    pub fn label(self) -> &'static str {
        match self {
            Self::V1 => "v10",
            Self::V23 => "v23",
            Self::V24 => "v24",
            Self::V25 => "v25",
            Self::V26 => "v26",
            Self::V27 => "v27",
            Self::V28 => "v28",
            Self::V29 => "v29",
        }
    }

    /// The timeline element schema of this version's events, as a detail version that shows
    /// the same one (v2.3 → TimelineElementV23 … v2.8 → V27, v2.9 → V28; v1 names categories
    /// from the V23 enum).
    pub fn element_version(self) -> DetailVersion {
        match self {
            Self::V1 | Self::V23 => DetailVersion::V23,
            Self::V24 => DetailVersion::V24,
            Self::V25 => DetailVersion::V25,
            Self::V26 | Self::V27 => DetailVersion::V26,
            Self::V28 => DetailVersion::V27,
            Self::V29 => DetailVersion::V29,
        }
    }

    pub fn has_groups(self) -> bool {
        self != Self::V1
    }

    pub fn has_disable(self) -> bool {
        self != Self::V1
    }

    pub fn has_wait_for_accepted(self) -> bool {
        self >= Self::V27
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventType {
    Status,
    Timeline,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Status => "STATUS",
            EventType::Timeline => "TIMELINE",
        }
    }
}

/// The categories `DEFAULT` stands for (pn-stream's `list-categories-pa`).
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "REQUEST_REFUSED",
    "REQUEST_ACCEPTED",
    "SEND_DIGITAL_DOMICILE",
    "SEND_DIGITAL_FEEDBACK",
    "DIGITAL_SUCCESS_WORKFLOW",
    "DIGITAL_FAILURE_WORKFLOW",
    "SEND_SIMPLE_REGISTERED_LETTER",
    "SEND_SIMPLE_REGISTERED_LETTER_PROGRESS",
    "SEND_ANALOG_DOMICILE",
    "SEND_ANALOG_PROGRESS",
    "SEND_ANALOG_FEEDBACK",
    "ANALOG_SUCCESS_WORKFLOW",
    "ANALOG_FAILURE_WORKFLOW",
    "COMPLETELY_UNREACHABLE",
    "REFINEMENT",
    "NOTIFICATION_VIEWED",
    "NOTIFICATION_CANCELLED",
    "NOTIFICATION_RADD_RETRIEVED",
    "ANALOG_WORKFLOW_RECIPIENT_DECEASED",
];

/// Statuses a STATUS stream of `version` can carry (SearchableNotificationStatus).
pub fn searchable_statuses(version: StreamVersion) -> Vec<Status> {
    use Status as S;
    let mut v = vec![
        S::ACCEPTED,
        S::REFUSED,
        S::DELIVERING,
        S::DELIVERED,
        S::VIEWED,
        S::EFFECTIVE_DATE,
        S::UNREACHABLE,
        S::CANCELLED,
    ];
    if version >= StreamVersion::V26 {
        v.push(S::RETURNED_TO_SENDER);
    }
    v
}

/// Categories a TIMELINE stream of `version` can carry.
pub fn categories(version: StreamVersion) -> Vec<Category> {
    let ev = version.element_version();
    Category::ALL
        .iter()
        .copied()
        .filter(|c| c.since() <= ev && *c != Category::NOT_HANDLED)
        .collect()
}

/// A `filterValues` entry the stream's version does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filterValues: `{value}` is not a status of stream version {version}")]
    NotAStatus {
        value: String,
        version: &'static str,
    },
    #[error("filterValues: `{value}` is not a timeline category of stream version {version}")]
    NotACategory {
        value: String,
        version: &'static str,
    },
}

/// What a stream lets through, resolved from its `filterValues`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Statuses(HashSet<Status>),
    Categories(HashSet<Category>),
}

impl Filter {
    /// Resolves `values` for a stream; an unknown value for that version is an error naming it.
    pub fn resolve(
        version: StreamVersion,
        kind: EventType,
        values: &[String],
    ) -> Result<Filter, FilterError> {
        match kind {
            EventType::Status => {
                let all = searchable_statuses(version);
                if values.is_empty() {
                    return Ok(Filter::Statuses(all.into_iter().collect()));
                }
                let mut set = HashSet::new();
                for v in values {
                    match Status::parse(v).filter(|s| all.contains(s)) {
                        Some(s) => set.insert(s),
                        None => {
                            return Err(FilterError::NotAStatus {
                                value: v.clone(),
                                version: version.label(),
                            });
                        }
                    };
                }
                Ok(Filter::Statuses(set))
            }
            EventType::Timeline => {
                let all = categories(version);
                if values.is_empty() {
                    return Ok(Filter::Categories(all.into_iter().collect()));
                }
                let mut set = HashSet::new();
                for v in values {
                    if v == "DEFAULT" {
                        set.extend(
                            DEFAULT_CATEGORIES
                                .iter()
                                .filter_map(|c| Category::parse(c))
                                .filter(|c| all.contains(c)),
                        );
                        continue;
                    }
                    match Category::parse(v).filter(|c| all.contains(c)) {
                        Some(c) => set.insert(c),
                        None => {
                            return Err(FilterError::NotACategory {
                                value: v.clone(),
                                version: version.label(),
                            });
                        }
                    };
                }
                Ok(Filter::Categories(set))
            }
        }
    }

    /// Whether an element of `category`, leaving the notification in `status_after` (changed
    /// when `new_status` is set), goes to the stream.
    pub fn admits(&self, category: Category, new_status: Option<Status>) -> bool {
        match self {
            Filter::Statuses(s) => new_status.is_some_and(|n| s.contains(&n)),
            Filter::Categories(c) => c.contains(&category),
        }
    }
}

/// SEND's eventId: a 38-digit decimal counter, zero-padded.
pub fn event_id(n: u64) -> String {
    format!("{n:038}")
}

/// Parses a `lastEventId` (`^0\d{37}$`).
pub fn parse_event_id(s: &str) -> Option<u64> {
    (s.len() == 38 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit()))
        .then(|| s.trim_start_matches('0').parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_expands_and_combines() {
        let f = Filter::resolve(
            StreamVersion::V29,
            EventType::Timeline,
            &["DEFAULT".into(), "SEND_COURTESY_MESSAGE".into()],
        )
        .unwrap();
        let Filter::Categories(c) = &f else { panic!() };
        assert_eq!(c.len(), DEFAULT_CATEGORIES.len() + 1);
        assert!(f.admits(Category::REFINEMENT, None));
        assert!(f.admits(Category::SEND_COURTESY_MESSAGE, None));
        assert!(!f.admits(Category::GET_ADDRESS, None));
    }

    #[test]
    fn values_unknown_to_the_version_are_refused() {
        let err = Filter::resolve(
            StreamVersion::V23,
            EventType::Timeline,
            &["ANALOG_WORKFLOW_RECIPIENT_DECEASED".into()],
        )
        .unwrap_err();
        assert!(err.to_string().contains("v23"));
        assert!(
            Filter::resolve(
                StreamVersion::V26,
                EventType::Timeline,
                &["ANALOG_WORKFLOW_RECIPIENT_DECEASED".into()]
            )
            .is_ok()
        );
        assert!(
            Filter::resolve(
                StreamVersion::V25,
                EventType::Status,
                &["RETURNED_TO_SENDER".into()]
            )
            .is_err()
        );
        assert!(
            Filter::resolve(
                StreamVersion::V26,
                EventType::Status,
                &["RETURNED_TO_SENDER".into()]
            )
            .is_ok()
        );
        assert!(
            Filter::resolve(
                StreamVersion::V29,
                EventType::Status,
                &["IN_VALIDATION".into()]
            )
            .is_err()
        );
        assert!(
            Filter::resolve(
                StreamVersion::V29,
                EventType::Timeline,
                &["ACCEPTED".into()]
            )
            .is_err()
        );
    }

    #[test]
    fn empty_filter_is_everything_of_the_version_and_status_streams_see_changes_only() {
        let f = Filter::resolve(StreamVersion::V23, EventType::Timeline, &[]).unwrap();
        assert!(f.admits(Category::NOTIFICATION_RADD_RETRIEVED, None));
        assert!(!f.admits(Category::ANALOG_WORKFLOW_RECIPIENT_DECEASED, None));
        let s = Filter::resolve(StreamVersion::V29, EventType::Status, &[]).unwrap();
        assert!(s.admits(Category::REQUEST_ACCEPTED, Some(Status::ACCEPTED)));
        assert!(!s.admits(Category::AAR_GENERATION, None));
    }

    #[test]
    fn event_ids_are_38_digits() {
        assert_eq!(event_id(42).len(), 38);
        assert_eq!(parse_event_id(&event_id(42)), Some(42));
        assert_eq!(parse_event_id("42"), None);
        assert_eq!(parse_event_id(&format!("1{}", "0".repeat(37))), None);
    }
}
