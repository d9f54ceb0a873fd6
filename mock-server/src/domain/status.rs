//! SEND's notification status, derived from the timeline through SEND's state map
//! (pn-delivery-push `StateMap` / `StatusUtils`), multi-recipient rules included.

#[cfg(test)]
use super::timeline::ElementId;
use super::timeline::{Category, TimelineElement};
use chrono::{DateTime, Utc};
use std::ops::Range;

pub use send_wire::timeline::Status;

/// One entry of `notificationStatusHistory`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEntry {
    pub status: Status,
    pub active_from: DateTime<Utc>,
    /// The timeline elements (by index) applied while this status was current: every element
    /// goes through the tracker once, in timeline order, so an entry's elements are a range.
    pub related: Range<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Outcome {
    #[default]
    Open,
    Reached,
    Unreachable,
    Deceased,
}

/// Follows the timeline element by element and keeps the status history.
#[derive(Debug, Clone)]
pub struct StatusTracker {
    history: Vec<StatusEntry>,
    outcomes: Vec<Outcome>,
}

impl StatusTracker {
    pub fn new(recipients: usize, sent_at: DateTime<Utc>) -> Self {
        StatusTracker {
            history: vec![StatusEntry {
                status: Status::IN_VALIDATION,
                active_from: sent_at,
                related: 0..0,
            }],
            outcomes: vec![Outcome::Open; recipients.max(1)],
        }
    }

    pub fn current(&self) -> Status {
        self.history
            .last()
            .map(|h| h.status)
            .unwrap_or(Status::IN_VALIDATION)
    }

    pub fn history(&self) -> &[StatusEntry] {
        &self.history
    }

    /// Applies one element; returns the new status when it changed.
    pub fn apply(&mut self, e: &TimelineElement) -> Option<Status> {
        use Category as C;
        use Status as S;
        let cur = self.current();
        if let Some(i) = e.rec_index().filter(|i| *i < self.outcomes.len()) {
            let outcome = match e.category {
                C::DIGITAL_DELIVERY_CREATION_REQUEST | C::ANALOG_SUCCESS_WORKFLOW => {
                    Some(Outcome::Reached)
                }
                C::COMPLETELY_UNREACHABLE => Some(Outcome::Unreachable),
                C::ANALOG_WORKFLOW_RECIPIENT_DECEASED => Some(Outcome::Deceased),
                _ => None,
            };
            if let Some(o) = outcome {
                self.outcomes[i] = o;
            }
        }
        let all_done = self.outcomes.iter().all(|o| *o != Outcome::Open);
        let next = match (cur, e.category) {
            (S::IN_VALIDATION, C::REQUEST_ACCEPTED) => Some(S::ACCEPTED),
            (S::IN_VALIDATION, C::REQUEST_REFUSED) => Some(S::REFUSED),
            (S::ACCEPTED, C::SEND_DIGITAL_DOMICILE | C::SEND_ANALOG_DOMICILE) => {
                Some(S::DELIVERING)
            }
            (
                S::ACCEPTED | S::DELIVERING | S::DELIVERED | S::EFFECTIVE_DATE | S::UNREACHABLE,
                C::NOTIFICATION_VIEWED,
            ) => Some(S::VIEWED),
            (S::REFUSED | S::CANCELLED | S::IN_VALIDATION, C::NOTIFICATION_CANCELLED) => None,
            (_, C::NOTIFICATION_CANCELLED) => Some(S::CANCELLED),
            (S::DELIVERED | S::UNREACHABLE, C::REFINEMENT) => Some(S::EFFECTIVE_DATE),
            (
                S::ACCEPTED | S::DELIVERING,
                C::DIGITAL_DELIVERY_CREATION_REQUEST
                | C::ANALOG_SUCCESS_WORKFLOW
                | C::COMPLETELY_UNREACHABLE,
            )
            | (S::DELIVERING | S::VIEWED, C::ANALOG_WORKFLOW_RECIPIENT_DECEASED)
                if all_done =>
            {
                self.closed_delivery_status(cur)
            }
            _ => None,
        };
        let index = self.history.last().map_or(0, |h| h.related.end);
        match next.filter(|n| *n != cur) {
            Some(status) => {
                self.history.push(StatusEntry {
                    status,
                    active_from: e.timestamp,
                    related: index..index + 1,
                });
                Some(status)
            }
            None => {
                if let Some(last) = self.history.last_mut() {
                    last.related.end += 1;
                }
                None
            }
        }
    }

    /// What the end of every recipient's delivery workflow means for the notification.
    fn closed_delivery_status(&self, cur: Status) -> Option<Status> {
        let reached = self.outcomes.contains(&Outcome::Reached);
        let all_unreachable = self.outcomes.iter().all(|o| *o == Outcome::Unreachable);
        let all_deceased = self.outcomes.iter().all(|o| *o == Outcome::Deceased);
        if all_deceased {
            Some(Status::RETURNED_TO_SENDER)
        } else if cur == Status::VIEWED {
            None
        } else if all_unreachable {
            Some(Status::UNREACHABLE)
        } else if reached || cur == Status::DELIVERING {
            Some(Status::DELIVERED)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::timeline::DetailVersion;
    use serde_json::{Map, json};

    fn el(category: Category, rec: Option<usize>, n: i64) -> TimelineElement {
        let mut details = Map::new();
        if let Some(r) = rec {
            details.insert("recIndex".into(), json!(r));
        }
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000 + n, 0).unwrap();
        TimelineElement::new(
            ElementId::new(&format!("{category}.{n}"), ""),
            category,
            at,
            details,
        )
    }

    fn run(recipients: usize, steps: &[(Category, Option<usize>)]) -> Vec<Status> {
        let mut t = StatusTracker::new(
            recipients,
            DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        for (n, (c, r)) in steps.iter().enumerate() {
            t.apply(&el(*c, *r, n as i64 + 1));
        }
        t.history().iter().map(|h| h.status).collect()
    }

    use Category as C;
    use Status as S;

    #[test]
    fn state_map_rows() {
        // (from-path, category, expected final status) — one row per transition of SEND's map.
        type Path = Vec<(Category, Option<usize>)>;
        let rows: Vec<(Path, Status)> = vec![
            (vec![(C::REQUEST_ACCEPTED, None)], S::ACCEPTED),
            (vec![(C::REQUEST_REFUSED, None)], S::REFUSED),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_DIGITAL_DOMICILE, Some(0)),
                ],
                S::DELIVERING,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_ANALOG_DOMICILE, Some(0)),
                ],
                S::DELIVERING,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::NOTIFICATION_VIEWED, Some(0)),
                ],
                S::VIEWED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::COMPLETELY_UNREACHABLE, Some(0)),
                ],
                S::UNREACHABLE,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_DIGITAL_DOMICILE, Some(0)),
                    (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(0)),
                ],
                S::DELIVERED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_ANALOG_DOMICILE, Some(0)),
                    (C::ANALOG_SUCCESS_WORKFLOW, Some(0)),
                ],
                S::DELIVERED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_ANALOG_DOMICILE, Some(0)),
                    (C::ANALOG_WORKFLOW_RECIPIENT_DECEASED, Some(0)),
                ],
                S::RETURNED_TO_SENDER,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_ANALOG_DOMICILE, Some(0)),
                    (C::ANALOG_SUCCESS_WORKFLOW, Some(0)),
                    (C::REFINEMENT, Some(0)),
                ],
                S::EFFECTIVE_DATE,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::COMPLETELY_UNREACHABLE, Some(0)),
                    (C::REFINEMENT, Some(0)),
                ],
                S::EFFECTIVE_DATE,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::COMPLETELY_UNREACHABLE, Some(0)),
                    (C::NOTIFICATION_VIEWED, Some(0)),
                ],
                S::VIEWED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::SEND_DIGITAL_DOMICILE, Some(0)),
                    (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(0)),
                    (C::REFINEMENT, Some(0)),
                    (C::NOTIFICATION_VIEWED, Some(0)),
                ],
                S::VIEWED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::NOTIFICATION_CANCELLED, None),
                ],
                S::CANCELLED,
            ),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::NOTIFICATION_VIEWED, Some(0)),
                    (C::NOTIFICATION_CANCELLED, None),
                ],
                S::CANCELLED,
            ),
            (
                vec![
                    (C::REQUEST_REFUSED, None),
                    (C::NOTIFICATION_CANCELLED, None),
                ],
                S::REFUSED,
            ),
            // Non-moving categories keep the status.
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::AAR_GENERATION, Some(0)),
                    (C::GET_ADDRESS, Some(0)),
                    (C::PAYMENT, Some(0)),
                ],
                S::ACCEPTED,
            ),
            // Illegal transitions are ignored.
            (vec![(C::REFINEMENT, Some(0))], S::IN_VALIDATION),
            (
                vec![
                    (C::REQUEST_ACCEPTED, None),
                    (C::NOTIFICATION_CANCELLED, None),
                    (C::SEND_DIGITAL_DOMICILE, Some(0)),
                ],
                S::CANCELLED,
            ),
        ];
        for (steps, expected) in rows {
            assert_eq!(*run(1, &steps).last().unwrap(), expected, "{steps:?}");
        }
    }

    #[test]
    fn multi_recipient_rules() {
        // DELIVERED only when every recipient closed its workflow.
        let h = run(
            2,
            &[
                (C::REQUEST_ACCEPTED, None),
                (C::SEND_DIGITAL_DOMICILE, Some(0)),
                (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(0)),
            ],
        );
        assert_eq!(*h.last().unwrap(), S::DELIVERING);
        let h = run(
            2,
            &[
                (C::REQUEST_ACCEPTED, None),
                (C::SEND_DIGITAL_DOMICILE, Some(0)),
                (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(0)),
                (C::COMPLETELY_UNREACHABLE, Some(1)),
            ],
        );
        assert_eq!(*h.last().unwrap(), S::DELIVERED);
        // UNREACHABLE only when all are unreachable.
        let h = run(
            2,
            &[
                (C::REQUEST_ACCEPTED, None),
                (C::SEND_ANALOG_DOMICILE, Some(0)),
                (C::COMPLETELY_UNREACHABLE, Some(0)),
                (C::COMPLETELY_UNREACHABLE, Some(1)),
            ],
        );
        assert_eq!(*h.last().unwrap(), S::UNREACHABLE);
        // EFFECTIVE_DATE once any recipient refines.
        let h = run(
            2,
            &[
                (C::REQUEST_ACCEPTED, None),
                (C::SEND_DIGITAL_DOMICILE, Some(0)),
                (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(0)),
                (C::DIGITAL_DELIVERY_CREATION_REQUEST, Some(1)),
                (C::REFINEMENT, Some(1)),
            ],
        );
        assert_eq!(
            h,
            vec![
                S::IN_VALIDATION,
                S::ACCEPTED,
                S::DELIVERING,
                S::DELIVERED,
                S::EFFECTIVE_DATE
            ]
        );
    }

    #[test]
    fn history_relates_every_element_once() {
        let mut t = StatusTracker::new(
            1,
            DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        for (n, c) in [
            C::SENDER_ACK_CREATION_REQUEST,
            C::REQUEST_ACCEPTED,
            C::AAR_GENERATION,
            C::SEND_DIGITAL_DOMICILE,
        ]
        .iter()
        .enumerate()
        {
            t.apply(&el(*c, Some(0), n as i64));
        }
        let related: Vec<Range<usize>> = t.history().iter().map(|h| h.related.clone()).collect();
        assert_eq!(related, vec![0..1, 1..3, 3..4]);
        assert_eq!(RETURNED.shown_in(DetailVersion::V25), "DELIVERED");
        assert_eq!(RETURNED.shown_in(DetailVersion::V26), "RETURNED_TO_SENDER");
    }
    const RETURNED: Status = Status::RETURNED_TO_SENDER;
}
