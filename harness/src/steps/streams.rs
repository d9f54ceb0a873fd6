//! TC-INVIO-03: the IUN and the statuses through SEND's event streams, honouring retry-after.

use super::*;
use crate::world::{SendWorld, StreamHandle};
use cucumber::{given, then};
use reqwest::Method;
use std::time::{Duration, Instant};

async fn create(w: &mut SendWorld, event_type: &str) -> Result<(), String> {
    // The profile's group, when its notifications name one: a key bound to groups may not
    // create a stream without groups, and the stream sees the group's notifications either way.
    let groups: Vec<&String> = w.ctx.profile.group.iter().collect();
    let body = json!({"title": format!("send-conformance {event_type}"), "eventType": event_type, "groups": groups});
    let path = w.client().family.streams();
    let a = w
        .client()
        .expect(Method::POST, path, Some(&body), 200, "create stream")
        .await
        .map_err(|e| e.to_string())?;
    let id = a.json()["streamId"]
        .as_str()
        .ok_or("the stream has no streamId")?
        .to_string();
    w.streams.push(StreamHandle {
        id,
        event_type: event_type.into(),
        last_event_id: None,
        next_read: Instant::now(),
        events: vec![],
        reads: 0,
    });
    Ok(())
}

#[given(expr = "the Ente has created a TIMELINE stream and a STATUS stream")]
async fn streams(w: &mut SendWorld) -> Result<(), String> {
    create(w, "TIMELINE").await?;
    create(w, "STATUS").await
}

/// One read of stream `i`: waits for the last retry-after, acknowledges with lastEventId,
/// keeps the events; returns how many came.
async fn read(w: &mut SendWorld, i: usize) -> Result<usize, String> {
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
        .await
        .map_err(|e| e.to_string())?;
    let retry_ms: u64 = a
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .ok_or("the stream answer has no retry-after header")?;
    let h = &mut w.streams[i];
    h.next_read = Instant::now() + Duration::from_millis(retry_ms);
    h.reads += 1;
    if a.status == 429 {
        return Err(format!(
            "SEND refused a read before retry-after elapsed (429): the harness must wait {retry_ms} ms"
        ));
    }
    if a.status != 200 {
        return Err(format!("reading stream {}: HTTP {}", h.id, a.status));
    }
    let events = a.json().as_array().cloned().unwrap_or_default();
    if let Some(last) = events.last() {
        h.last_event_id = last["eventId"].as_str().map(str::to_string);
    }
    let n = events.len();
    h.events.extend(events);
    Ok(n)
}

/// Reads stream `i` until `found` holds for one of this notification's events.
async fn follow(
    w: &mut SendWorld,
    i: usize,
    what: &str,
    found: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let rid = w
        .request_id
        .clone()
        .ok_or("the notification was not sent in an earlier step")?;
    let deadline = Instant::now() + w.timing().deadline;
    loop {
        if let Some(e) = w.streams[i]
            .events
            .iter()
            .find(|e| e["notificationRequestId"] == rid.as_str() && found(e))
        {
            return Ok(e.clone());
        }
        // A refused notification never gets further: say so now rather than at the deadline.
        if let Some(e) = w.streams[i].events.iter().find(|e| {
            e["notificationRequestId"] == rid.as_str()
                && e["element"]["category"] == "REQUEST_REFUSED"
        }) {
            return Err(format!(
                "{what}: the {} stream reports the notification REFUSED: {}",
                w.streams[i].event_type, e["element"]["details"]["refusalReasons"]
            ));
        }
        if Instant::now() > deadline {
            let seen: Vec<String> = w.streams[i]
                .events
                .iter()
                .filter(|e| e["notificationRequestId"] == rid.as_str())
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["element"]["category"].as_str().unwrap_or("?"),
                        e["newStatus"].as_str().unwrap_or("-")
                    )
                })
                .collect();
            return Err(format!(
                "{what}: not seen on the {} stream within {}; this notification's events: {}",
                w.streams[i].event_type,
                w.timing().describe(),
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            ));
        }
        read(w, i).await?;
    }
}

#[then(
    expr = "the TIMELINE stream, read with lastEventId and honouring retry-after, delivers the acceptance with the IUN"
)]
async fn acceptance(w: &mut SendWorld) -> Result<(), String> {
    let e = follow(w, 0, "REQUEST_ACCEPTED", |e| {
        e["element"]["category"] == "REQUEST_ACCEPTED" && e["newStatus"] == "ACCEPTED"
    })
    .await?;
    // Acknowledge what was processed: the next read passes lastEventId (SEND then drops it).
    read(w, 0).await?;
    let iun = e["iun"]
        .as_str()
        .ok_or("the acceptance event carries no iun")?
        .to_string();
    w.evidence(|ev| ev.iuns.push(iun.clone()));
    w.iun = Some(iun);
    Ok(())
}

#[then(expr = "the STATUS stream shows the notification delivered")]
async fn delivered(w: &mut SendWorld) -> Result<(), String> {
    follow(w, 1, "a delivered status", |e| {
        e["newStatus"]
            .as_str()
            .is_some_and(|s| DELIVERED_OR_LATER.contains(&s))
    })
    .await?;
    let rid = w.request_id.clone().unwrap_or_default();
    let mine: Vec<Value> = w
        .streams
        .iter()
        .flat_map(|s| s.events.iter().map(move |e| (s.event_type.as_str(), e)))
        .filter(|(_, e)| e["notificationRequestId"] == rid.as_str())
        .map(|(stream, e)| json!({"stream": stream, "eventId": e["eventId"], "category": e["element"]["category"], "newStatus": e["newStatus"], "timestamp": e["element"]["timestamp"]}))
        .collect();
    let ids: Vec<&str> = w.streams[1]
        .events
        .iter()
        .filter_map(|e| e["eventId"].as_str())
        .collect();
    if !ids.windows(2).all(|p| p[0] < p[1]) {
        return Err("the STATUS stream's eventIds do not increase".into());
    }
    w.evidence(|ev| ev.stream_events = mine);
    Ok(())
}

#[then(expr = "the Ente deletes its streams")]
async fn delete(w: &mut SendWorld) -> Result<(), String> {
    for h in std::mem::take(&mut w.streams) {
        let path = format!("{}/{}", w.client().family.streams(), h.id);
        w.client()
            .expect(Method::DELETE, &path, None, 204, "delete stream")
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
