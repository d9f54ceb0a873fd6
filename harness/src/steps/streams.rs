//! TC-INVIO-03: the IUN and the statuses through SEND's event streams, honouring retry-after.

use super::*;
use crate::world::{SeenEvent, SendWorld, StreamHandle};
use cucumber::{given, then};
use reqwest::Method;
use send_wire::notification::{StreamCreationRequest, StreamEvent, StreamMetadata};
use std::time::{Duration, Instant};

async fn create(w: &mut SendWorld, event_type: &str) -> StepResult {
    // The profile's group, when its notifications name one: a key bound to groups may not
    // create a stream without groups, and the stream sees the group's notifications either way.
    let body = to_json(&StreamCreationRequest {
        title: format!("send-conformance {event_type}"),
        event_type: event_type.into(),
        groups: w.ctx.profile.group.iter().cloned().collect(),
    });
    let path = w.client().family.streams();
    let created: StreamMetadata = w
        .client()
        .expect(Method::POST, path, Some(&body), 200, "create stream")
        .await?
        .parse("create stream")?;
    w.streams.push(StreamHandle {
        id: created.stream_id,
        event_type: event_type.into(),
        last_event_id: None,
        next_read: Instant::now(),
        events: vec![],
        reads: 0,
    });
    Ok(())
}

#[given(expr = "the Ente has created a TIMELINE stream and a STATUS stream")]
async fn streams(w: &mut SendWorld) -> StepResult {
    create(w, "TIMELINE").await?;
    create(w, "STATUS").await
}

/// One read of stream `i`: waits for the last retry-after, acknowledges with lastEventId,
/// keeps the events; returns how many came.
async fn read(w: &mut SendWorld, i: usize) -> StepResult<usize> {
    let h = &w.streams[i];
    let wait = h.next_read.saturating_duration_since(Instant::now());
    tokio::time::sleep(wait).await;
    let mut path = format!("{}/{}/events", w.client().family.streams(), h.id);
    if let Some(last) = &h.last_event_id {
        path.push_str(&format!("?lastEventId={last}"));
    }
    let a = w
        .client()
        .call(Method::GET, &path, None, false, "read stream")
        .await?;
    let retry_ms: u64 = a
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| StepError::check("the stream answer has no retry-after header"))?;
    let h = &mut w.streams[i];
    h.next_read = Instant::now() + Duration::from_millis(retry_ms);
    h.reads += 1;
    if a.status == 429 {
        return Err(StepError::check(format!(
            "SEND refused a read before retry-after elapsed (429): the harness must wait {retry_ms} ms"
        )));
    }
    if a.status != 200 {
        return Err(StepError::check(format!(
            "reading stream {}: HTTP {}",
            h.id, a.status
        )));
    }
    let events: Vec<StreamEvent> = a.parse("read stream")?;
    if let Some(last) = events.last() {
        h.last_event_id = Some(last.event_id.clone());
    }
    let n = events.len();
    h.events.extend(events);
    Ok(n)
}

/// This notification's events on stream `i`.
fn mine<'a>(w: &'a SendWorld, i: usize, rid: &'a str) -> impl Iterator<Item = &'a StreamEvent> {
    w.streams[i]
        .events
        .iter()
        .filter(move |e| e.notification_request_id.as_deref() == Some(rid))
}

/// Reads stream `i` until `found` holds for one of this notification's events.
async fn follow(
    w: &mut SendWorld,
    i: usize,
    what: &str,
    found: impl Fn(&StreamEvent) -> bool,
) -> StepResult<StreamEvent> {
    let rid = w.request_id.clone().ok_or(StepError::Earlier(
        "the notification was not sent in an earlier step",
    ))?;
    let deadline = Instant::now() + w.timing().deadline;
    loop {
        if let Some(e) = mine(w, i, &rid).find(|e| found(e)) {
            return Ok(e.clone());
        }
        // A refused notification never gets further: say so now rather than at the deadline.
        if let Some(e) = mine(w, i, &rid).find(|e| e.is(Category::REQUEST_REFUSED)) {
            let reasons = e.element.as_ref().and_then(|el| el.details.as_ref());
            return Err(StepError::check(format!(
                "{what}: the {} stream reports the notification REFUSED: {}",
                w.streams[i].event_type,
                reasons.map_or(Value::Null, |d| d
                    .refusal_reasons
                    .clone()
                    .unwrap_or_default())
            )));
        }
        if Instant::now() > deadline {
            let seen: Vec<String> = mine(w, i, &rid)
                .map(|e| {
                    format!(
                        "{}/{}",
                        e.category().map_or("?", |c| c.as_str()),
                        e.new_status.as_ref().map_or("-", |s| s.as_str())
                    )
                })
                .collect();
            return Err(StepError::Timeout {
                what: format!("{what} on the {} stream", w.streams[i].event_type),
                within: w.timing().describe(),
                seen: if seen.is_empty() {
                    "none of this notification's events".to_string()
                } else {
                    seen.join(", ")
                },
            });
        }
        read(w, i).await?;
    }
}

#[then(
    expr = "the TIMELINE stream, read with lastEventId and honouring retry-after, delivers the acceptance with the IUN"
)]
async fn acceptance(w: &mut SendWorld) -> StepResult {
    let e = follow(w, 0, "REQUEST_ACCEPTED", |e| {
        e.is(Category::REQUEST_ACCEPTED)
            && e.new_status
                .as_ref()
                .is_some_and(|s| s.is(Status::ACCEPTED))
    })
    .await?;
    // Acknowledge what was processed: the next read passes lastEventId (SEND then drops it).
    read(w, 0).await?;
    let iun = e
        .iun
        .ok_or_else(|| StepError::check("the acceptance event carries no iun"))?;
    w.keep_iun(iun);
    Ok(())
}

#[then(expr = "the STATUS stream shows the notification delivered")]
async fn delivered(w: &mut SendWorld) -> StepResult {
    follow(w, 1, "a delivered status", |e| {
        e.new_status
            .as_ref()
            .is_some_and(|s| s.any_of(&DELIVERED_OR_LATER))
    })
    .await?;
    let rid = w.request_id.clone().unwrap_or_default();
    let seen: Vec<SeenEvent> = (0..w.streams.len())
        .flat_map(|i| mine(w, i, &rid).map(move |e| (i, e)))
        .map(|(i, e)| SeenEvent {
            stream: w.streams[i].event_type.clone(),
            event_id: e.event_id.clone(),
            category: e.category().cloned(),
            new_status: e.new_status.clone(),
            timestamp: e.element.as_ref().and_then(|el| el.timestamp.clone()),
        })
        .collect();
    let ids: Vec<&str> = w.streams[1]
        .events
        .iter()
        .map(|e| e.event_id.as_str())
        .collect();
    if !ids.windows(2).all(|p| p[0] < p[1]) {
        return Err(StepError::check(
            "the STATUS stream's eventIds do not increase",
        ));
    }
    w.evidence(|ev| ev.stream_events = seen);
    Ok(())
}

#[then(expr = "the Ente deletes its streams")]
async fn delete(w: &mut SendWorld) -> StepResult {
    for h in std::mem::take(&mut w.streams) {
        let path = format!("{}/{}", w.client().family.streams(), h.id);
        w.client()
            .expect(Method::DELETE, &path, None, 204, "delete stream")
            .await?;
    }
    Ok(())
}
