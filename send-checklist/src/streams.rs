//! TC-INVIO-03: a TIMELINE stream created, read by its id until the notification's acceptance
//! (newStatus ACCEPTED, with the IUN), acknowledged with lastEventId, and every read of every
//! stream made after the retry-after its previous read answered.

use super::call::{Call, Op};
use super::engine::{Check, Outcome, Unmet, group, leaf};
use super::facts::{Facts, field};
use serde_json::Value;
use std::collections::BTreeMap;

/// The events of a page (each the kept part: an eventId string, or an object for the events
/// that carry a status).
fn events(c: &Call) -> &[Value] {
    c.response
        .as_ref()
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn event_id(e: &Value) -> Option<&str> {
    e.as_str().or_else(|| field(e, "/eventId"))
}

/// The TIMELINE streams a client created and what it read from them.
struct Streams<'a> {
    /// Creations of TIMELINE streams answered 200.
    creates: Vec<&'a Call>,
    ids: Vec<&'a str>,
    by_stream: BTreeMap<String, Vec<&'a Call>>,
    /// Reads of the TIMELINE streams created, answered 200.
    reads: Vec<&'a Call>,
}

impl<'a> Streams<'a> {
    fn of(f: &Facts<'a>) -> Self {
        let creates: Vec<&Call> = f
            .of(|o| matches!(o, Op::StreamCreate { timeline: true }))
            .filter(|c| c.status == 200)
            .collect();
        let ids: Vec<&str> = creates
            .iter()
            .filter_map(|c| c.response.as_ref().and_then(|r| field(r, "/streamId")))
            .collect();
        let mut by_stream: BTreeMap<String, Vec<&Call>> = BTreeMap::new();
        for c in f.calls {
            if let Op::StreamConsume { stream } = c.op() {
                by_stream.entry(stream).or_default().push(c);
            }
        }
        let reads: Vec<&Call> = ids
            .iter()
            .flat_map(|id| by_stream.get(*id).map_or(&[][..], Vec::as_slice))
            .copied()
            .filter(|c| c.status == 200)
            .collect();
        Streams {
            creates,
            ids,
            by_stream,
            reads,
        }
    }

    /// The reads that returned an event `pred` accepts, or why there is none.
    fn with_event(
        &self,
        pred: &dyn Fn(&Value) -> bool,
        what: &str,
        no_read: &dyn Fn() -> String,
    ) -> Outcome {
        let hits: Vec<u64> = self
            .reads
            .iter()
            .filter(|c| events(c).iter().any(pred))
            .map(|c| c.id)
            .collect();
        match hits.is_empty() {
            false => Ok(hits),
            true if self.reads.is_empty() => Err(no_read().into()),
            true => Err(format!(
                "no event {what} was read: create the stream before sending, and read until acceptance"
            ).into()),
        }
    }
}

pub(super) fn checks(f: &Facts) -> Vec<Check> {
    let s = Streams::of(f);
    let Streams {
        creates,
        ids,
        by_stream,
        reads,
    } = &s;
    let no_read = || no_stream_read(f, creates);
    let with_event = |pred: &dyn Fn(&Value) -> bool, what: &str| s.with_event(pred, what, &no_read);
    let accepted = |e: &Value| field(e, "/newStatus") == Some("ACCEPTED");
    let with_iun = |e: &Value| field(e, "/iun").is_some();
    vec![
        group(
            "TC-INVIO-03.stream",
            "Configure a stream where you can get the timeline events of a notification",
            vec![leaf(
                "TC-INVIO-03.stream.create",
                "Have you created the stream with the property eventType set to TIMELINE?",
                if creates.is_empty() {
                    Err("no TIMELINE stream was created (POST …/streams with eventType TIMELINE, answered 200)".into())
                } else {
                    Ok(creates.iter().map(|c| c.id).collect())
                },
            )],
        ),
        group(
            "TC-INVIO-03.consume",
            "Consume events from a stream",
            vec![
                leaf(
                    "TC-INVIO-03.consume.retry-after",
                    "Have you honored the retry-after value?",
                    retry_after(by_stream, reads, &no_read),
                ),
                leaf(
                    "TC-INVIO-03.consume.properly",
                    "Have you properly consumed the events coming from the stream?",
                    properly(ids, by_stream, &no_read),
                ),
                group(
                    "TC-INVIO-03.consume.creation",
                    "Have you received the event that confirms the creation of the notification?",
                    vec![
                        leaf(
                            "TC-INVIO-03.consume.creation.iun",
                            "Have you received an event with the iun populated?",
                            with_event(&with_iun, "with the iun"),
                        ),
                        leaf(
                            "TC-INVIO-03.consume.creation.accepted",
                            "Have you received the event with newStatus set to ACCEPTED?",
                            with_event(&accepted, "with newStatus ACCEPTED"),
                        ),
                    ],
                ),
                leaf(
                    "TC-INVIO-03.consume.stream-id",
                    "Have you requested the stream using the streamId provided when the stream was created?",
                    with_event(&|_| true, "at all"),
                ),
            ],
        ),
    ]
}

/// Why no stream was read, as a PT reads it.
fn no_stream_read(f: &Facts, creates: &[&Call]) -> String {
    let polled = f
        .of(|o| matches!(o, Op::Detail { .. }))
        .any(|c| c.status == 200);
    match (creates.is_empty(), polled) {
        (_, true) => "the notification detail was polled but no TIMELINE stream was read: detail polling does not satisfy TC-INVIO-03".into(),
        (true, false) => "no TIMELINE stream was created, so none was read".into(),
        (false, false) => "the TIMELINE stream created was never read (GET …/streams/{streamId}/events)".into(),
    }
}

/// Every read of every stream came after the retry-after its stream's previous read answered
/// (and none was refused 429), with at least one read of a TIMELINE stream created.
fn retry_after(
    by_stream: &BTreeMap<String, Vec<&Call>>,
    reads: &[&Call],
    no_read: &dyn Fn() -> String,
) -> Outcome {
    if reads.is_empty() {
        return Err(no_read().into());
    }
    let mut late = vec![];
    for (id, calls) in by_stream {
        for w in calls.windows(2) {
            let asked: i64 = w[0]
                .response_headers
                .get("retry-after")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let waited = w[1].at_ms - w[0].at_ms;
            // 20 ms of slack for clocks read at slightly different points.
            if waited + 20 < asked || w[1].status == 429 {
                late.push(format!(
                    "stream {id}: call #{} came {waited} ms after a retry-after of {asked} ms",
                    w[1].id
                ));
            }
        }
    }
    if late.is_empty() {
        Ok(by_stream.values().flatten().map(|c| c.id).collect())
    } else {
        Err(format!(
            "{} (every read must wait what the previous read of its stream answered in retry-after)",
            late.join("; ")
        ).into())
    }
}

/// A TIMELINE stream created was read until acceptance, with lastEventId = an event it had
/// received (acknowledging it) in that read or a later one.
fn properly(
    ids: &[&str],
    by_stream: &BTreeMap<String, Vec<&Call>>,
    no_read: &dyn Fn() -> String,
) -> Outcome {
    let mut any_read = false;
    let mut accepted_seen = false;
    for id in ids {
        let calls = by_stream.get(*id).map_or(&[][..], Vec::as_slice);
        let mut seen: Vec<&str> = vec![];
        let mut accepted_at = None;
        for c in calls.iter().filter(|c| c.status == 200) {
            any_read = true;
            let acked = c
                .query
                .get("lastEventId")
                .is_some_and(|l| seen.contains(&l.as_str()));
            seen.extend(events(c).iter().filter_map(event_id));
            if accepted_at.is_none()
                && events(c).iter().any(|e| {
                    field(e, "/newStatus") == Some("ACCEPTED") && field(e, "/iun").is_some()
                })
            {
                accepted_at = Some(c.id);
                accepted_seen = true;
            }
            // Acknowledged in the read that brought the acceptance, or in a later one.
            if let (Some(first), true) = (accepted_at, acked) {
                return Ok(vec![first, c.id]);
            }
        }
    }
    Err(Unmet(match (any_read, accepted_seen) {
        (false, _) => no_read(),
        (true, false) => "no read returned the event with newStatus ACCEPTED and the iun".into(),
        (true, true) => "after the acceptance was read, no read passed lastEventId = the last eventId received: acknowledge what you processed".into(),
    }))
}
