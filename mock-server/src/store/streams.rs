//! Progress streams: each stream gets its events when they are emitted (after its creation,
//! through its filter), keeps them until acknowledged or expired, and pages them 50 at a time.

use super::{Notification, State, Store};
use crate::domain::clock::rfc3339;
use crate::domain::ente::EnteId;
use crate::domain::iun::Iun;
use crate::domain::status::Status;
use crate::domain::stream::{EventType, Filter, StreamVersion, event_id};
use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// SEND's page size.
pub const PAGE: usize = 50;
/// Events are kept this long (SEND's stream TTL), on the clock's io time: a storage TTL
/// runs in real time even in UAT, so compressed SEND days do not expire events, jumps do.
pub const EVENT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Active streams allowed per Ente.
pub const MAX_STREAMS: usize = 10;
/// A disabled stream stays readable this long, then is deleted (pn-stream's `disable-ttl`), on
/// the io clock like the events' TTL.
pub const DISABLED_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// How far past the replaced stream's last event id a replacing stream starts (pn-stream's
/// `deltaCounter`: the new ids never collide with ids the client saw on the old stream).
pub const REPLACE_DELTA: u64 = 1000;

/// A stream's configuration as the client set it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamSpec {
    pub title: String,
    pub event_type: EventType,
    pub filter_values: Option<Vec<String>>,
    pub groups: Vec<String>,
    pub wait_for_accepted: Option<bool>,
}

impl StreamSpec {
    /// The filter this spec asks for in `version`, or why it cannot be.
    fn filter(&self, version: StreamVersion) -> Result<Filter, StreamError> {
        Filter::resolve(
            version,
            self.event_type,
            self.filter_values.as_deref().unwrap_or(&[]),
        )
        .map_err(StreamError::BadFilter)
    }
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    event_id: u64,
    seq: u64,
    /// The io instant (ms) the event was emitted at.
    io_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Stream {
    pub id: String,
    pub ente: EnteId,
    pub version: StreamVersion,
    pub spec: StreamSpec,
    pub activation: DateTime<Utc>,
    pub disabled: Option<DateTime<Utc>>,
    /// The io instant (ms) it was disabled at: it is deleted `DISABLED_TTL_MS` later.
    disabled_io_ms: Option<i64>,
    filter: Filter,
    queue: VecDeque<Queued>,
    /// Events held by waitForAccepted until their notification is accepted or refused.
    held: HashMap<Iun, Vec<u64>>,
    next_id: u64,
    not_before: Option<Instant>,
}

impl Stream {
    /// The metadata answer (`StreamMetadataResponse…`) of the stream's version.
    pub fn metadata(&self) -> Value {
        let mut m = json!({
            "title": self.spec.title,
            "eventType": self.spec.event_type.as_str(),
            "streamId": self.id,
            "activationDate": rfc3339(self.activation),
        });
        if let Some(f) = &self.spec.filter_values {
            m["filterValues"] = json!(f);
        }
        if self.version.has_groups() {
            m["groups"] = json!(self.spec.groups);
            m["version"] = json!(self.version.label());
            if let Some(d) = self.disabled {
                m["disabledDate"] = json!(rfc3339(d));
            }
        }
        if self.version.has_wait_for_accepted() {
            m["waitForAccepted"] = json!(self.spec.wait_for_accepted.unwrap_or(false));
        }
        m
    }
}

/// Why a stream operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamError {
    NotFound,
    Forbidden(String),
    TooMany,
    BadFilter(crate::domain::stream::FilterError),
    /// Polled before the last retry-after elapsed: wait this many milliseconds.
    TooEarly(u64),
}

/// One page of events.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<Value>,
    pub retry_after_ms: u64,
}

/// Which queued events a read drops as expired.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expiry {
    /// Those older than the TTL at this io instant (ms).
    Now(i64),
    /// Those up to this event id (a journaled read replayed), or none.
    Through(Option<u64>),
}

impl Expiry {
    fn expired(&self, q: &Queued) -> bool {
        match *self {
            Expiry::Now(io_now) => q.io_ms + EVENT_TTL_MS < io_now,
            Expiry::Through(last) => last.is_some_and(|l| q.event_id <= l),
        }
    }
}

/// How reads are paced.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub interval_ms: u64,
    pub strict: bool,
}

impl State {
    /// Feeds an emitted event to the streams of its Ente.
    pub(super) fn dispatch(
        &mut self,
        seq: u64,
        ente: EnteId,
        iun: &Iun,
        category: crate::domain::timeline::Category,
        status_after: Status,
        new_status: Option<Status>,
    ) {
        let settled = status_after != Status::IN_VALIDATION;
        // A stream with groups gets only the notifications of those groups (KB "Gruppi").
        let group = self
            .notifications
            .get(iun)
            .and_then(|n| n.request.group.clone());
        for s in self.streams.values_mut().filter(|s| {
            s.ente == ente
                && s.disabled.is_none()
                && (s.spec.groups.is_empty()
                    || group.as_ref().is_some_and(|g| s.spec.groups.contains(g)))
        }) {
            if !s.filter.admits(category, new_status) {
                continue;
            }
            let wait =
                s.spec.wait_for_accepted == Some(true) && s.spec.event_type == EventType::Timeline;
            if wait && !settled {
                s.held.entry(iun.clone()).or_default().push(seq);
                continue;
            }
            if let Some(held) = s.held.remove(iun) {
                for h in held {
                    s.next_id += 1;
                    s.queue.push_back(Queued {
                        event_id: s.next_id,
                        seq: h,
                        io_ms: self.io_ms,
                    });
                }
            }
            s.next_id += 1;
            s.queue.push_back(Queued {
                event_id: s.next_id,
                seq,
                io_ms: self.io_ms,
            });
        }
    }

    /// Deletes the streams disabled more than `DISABLED_TTL_MS` before `io_now`.
    fn purge_disabled(&mut self, io_now: i64) {
        self.streams.retain(|_, s| {
            s.disabled_io_ms
                .is_none_or(|d| io_now - d <= DISABLED_TTL_MS)
        });
    }

    fn stream_mut(
        &mut self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
    ) -> Result<&mut Stream, StreamError> {
        let s = self
            .streams
            .get_mut(id)
            .filter(|s| s.ente == ente)
            .ok_or(StreamError::NotFound)?;
        if s.version != version {
            return Err(StreamError::Forbidden(format!(
                "api version mismatch: stream {id} was created with {} and must be used through that version",
                s.version.label()
            )));
        }
        Ok(s)
    }

    /// Renders one queued event in the stream version's shape.
    fn render(&self, version: StreamVersion, q: Queued) -> Option<Value> {
        let ev = self.events.get(q.seq)?;
        let n: &Notification = self.notifications.get(&ev.iun)?;
        let element = n.timeline.get(ev.element_index())?;
        let accepted = !matches!(ev.status_after, Status::IN_VALIDATION | Status::REFUSED);
        let dv = version.element_version();
        let mut out =
            json!({"eventId": event_id(q.event_id), "notificationRequestId": n.request_id()});
        if accepted {
            out["iun"] = json!(n.iun.as_str());
        }
        if ev.status_after != Status::IN_VALIDATION {
            out["newStatus"] = json!(ev.status_after.shown_in(dv));
        }
        if version == StreamVersion::V1 {
            out["timestamp"] = json!(rfc3339(element.timestamp));
            out["timelineEventCategory"] = json!(element.category.as_str());
            if let Some(r) = element.rec_index() {
                out["recipientIndex"] = json!(r);
            }
            if let Some(c) = element.details.get("analogCost") {
                out["analogCost"] = c.clone();
            }
            out["channel"] = json!("B2B");
            out["legalfactIds"] = json!(
                element
                    .legal_facts
                    .iter()
                    .map(|l| l.key.trim_start_matches("safestorage://"))
                    .collect::<Vec<_>>()
            );
            if let Some(r) = element.details.get("refusalReasons") {
                out["validationErrors"] = r.clone();
            }
        } else {
            out["element"] = element.render(dv, n.iun.as_str(), n.sent_at);
        }
        Some(out)
    }
}

impl Store {
    pub fn create_stream(
        &self,
        ente: EnteId,
        version: StreamVersion,
        spec: StreamSpec,
        replaced: Option<String>,
    ) -> Result<Value, StreamError> {
        let filter = spec.filter(version)?;
        let now = self.clock.now();
        let io_now = self.clock.io_time().num_milliseconds();
        let mut st = self.lock();
        st.purge_disabled(io_now);
        self.log(now, || super::journal::Op::CreateStream {
            ente,
            version,
            spec: spec.clone(),
            replaced: replaced.clone(),
        });
        let id = uuid::Builder::from_random_bytes(st.rng.0.random())
            .into_uuid()
            .to_string();
        // A replacement may replace a stream of any version (the KB's version upgrade); the
        // count of active streams is not checked, as one is disabled for the other.
        let mut next_id = 0;
        if let Some(old) = &replaced {
            let o = st
                .streams
                .get_mut(old)
                .filter(|s| s.ente == ente)
                .ok_or(StreamError::NotFound)?;
            if o.disabled.is_some() {
                return Err(StreamError::Forbidden(format!(
                    "Not supported operation, stream {old} already disabled"
                )));
            }
            o.disabled = Some(now);
            o.disabled_io_ms = Some(io_now);
            next_id = o.next_id + REPLACE_DELTA;
        } else {
            let active = st
                .streams
                .values()
                .filter(|s| s.ente == ente && s.disabled.is_none())
                .count();
            if active >= MAX_STREAMS {
                return Err(StreamError::TooMany);
            }
        }
        let s = Stream {
            id: id.clone(),
            ente,
            version,
            spec,
            activation: now,
            disabled: None,
            disabled_io_ms: None,
            filter,
            queue: VecDeque::new(),
            held: HashMap::new(),
            next_id,
            not_before: None,
        };
        let meta = s.metadata();
        st.streams.insert(id, s);
        Ok(meta)
    }

    /// The Ente's streams, whatever version created them (pn-stream lists them by PA: the way
    /// a PT finds an old stream to replace).
    pub fn list_streams(&self, ente: EnteId) -> Vec<Value> {
        let io_now = self.clock.io_time().num_milliseconds();
        let mut st = self.lock();
        st.purge_disabled(io_now);
        let mut v: Vec<&Stream> = st.streams.values().filter(|s| s.ente == ente).collect();
        v.sort_by_key(|s| (s.activation, s.id.clone()));
        v.iter()
            .map(|s| json!({"streamId": s.id, "title": s.spec.title}))
            .collect()
    }

    pub fn stream(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
    ) -> Result<Value, StreamError> {
        let io_now = self.clock.io_time().num_milliseconds();
        let mut st = self.lock();
        st.purge_disabled(io_now);
        Ok(st.stream_mut(ente, version, id)?.metadata())
    }

    pub fn update_stream(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
        spec: StreamSpec,
    ) -> Result<Value, StreamError> {
        let filter = spec.filter(version)?;
        let mut st = self.lock();
        st.purge_disabled(self.clock.io_time().num_milliseconds());
        self.log_now(|| super::journal::Op::UpdateStream {
            ente,
            version,
            id: id.to_string(),
            spec: spec.clone(),
        });
        let s = st.stream_mut(ente, version, id)?;
        if s.disabled.is_some() {
            return Err(StreamError::Forbidden(format!(
                "stream {id} is disabled and cannot be updated"
            )));
        }
        if let Some(lost) = s.spec.groups.iter().find(|g| !spec.groups.contains(g)) {
            return Err(StreamError::Forbidden(format!(
                "groups can only be extended: `{lost}` would be removed"
            )));
        }
        s.spec = spec;
        s.filter = filter;
        Ok(s.metadata())
    }

    pub fn delete_stream(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
    ) -> Result<(), StreamError> {
        let mut st = self.lock();
        st.purge_disabled(self.clock.io_time().num_milliseconds());
        self.log_now(|| super::journal::Op::DeleteStream {
            ente,
            version,
            id: id.to_string(),
        });
        st.stream_mut(ente, version, id)?;
        st.streams.remove(id);
        Ok(())
    }

    pub fn disable_stream(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
    ) -> Result<Value, StreamError> {
        let now = self.clock.now();
        let mut st = self.lock();
        st.purge_disabled(self.clock.io_time().num_milliseconds());
        self.log(now, || super::journal::Op::DisableStream {
            ente,
            version,
            id: id.to_string(),
        });
        let s = st.stream_mut(ente, version, id)?;
        if s.disabled.is_some() {
            return Err(StreamError::Forbidden(format!(
                "stream {id} is already disabled"
            )));
        }
        s.disabled = Some(now);
        s.disabled_io_ms = Some(self.clock.io_time().num_milliseconds());
        Ok(s.metadata())
    }

    /// One read: acknowledges up to `last_event_id`, drops expired events, returns the next page.
    pub fn consume(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
        last_event_id: Option<u64>,
        pacing: Pacing,
    ) -> Result<Page, StreamError> {
        let io_now = self.clock.io_time().num_milliseconds();
        self.consume_expiring(
            ente,
            version,
            id,
            last_event_id,
            pacing,
            Expiry::Now(io_now),
        )
    }

    /// [`Store::consume`], with expiry decided by `expiry`: the io clock when serving, the
    /// journal's account when replaying (the io clock restarts with the process).
    pub(super) fn consume_expiring(
        &self,
        ente: EnteId,
        version: StreamVersion,
        id: &str,
        last_event_id: Option<u64>,
        pacing: Pacing,
        expiry: Expiry,
    ) -> Result<Page, StreamError> {
        let now = self.clock.now();
        self.fire_due(now);
        let mut st = self.lock();
        st.purge_disabled(self.clock.io_time().num_milliseconds());
        let real_now = Instant::now();
        let s = st.stream_mut(ente, version, id)?;
        if pacing.strict
            && let Some(nb) = s.not_before.filter(|nb| *nb > real_now)
        {
            let wait = (nb - real_now).as_millis() as u64;
            return Err(StreamError::TooEarly(wait.max(1)));
        }
        let before = s.queue.len();
        if let Some(last) = last_event_id {
            while s.queue.front().is_some_and(|q| q.event_id <= last) {
                s.queue.pop_front();
            }
        }
        // Work on the queue in place: only the expired front and one page are visited.
        let mut queue = std::mem::take(&mut s.queue);
        let version = s.version;
        let mut expired_through = None;
        while let Some(q) = queue.front().filter(|q| expiry.expired(q)) {
            expired_through = Some(q.event_id);
            queue.pop_front();
        }
        if queue.len() != before {
            self.log(now, || super::journal::Op::Consume {
                ente,
                version,
                id: id.to_string(),
                last_event_id,
                expired_through,
            });
        }
        let events: Vec<Value> = queue
            .iter()
            .take(PAGE)
            .filter_map(|q| st.render(version, *q))
            .collect();
        let retry_after_ms = if queue.len() > PAGE {
            0
        } else {
            pacing.interval_ms
        };
        let s = st.streams.get_mut(id).expect("checked above");
        s.queue = queue;
        s.not_before = (retry_after_ms > 0)
            .then(|| real_now + std::time::Duration::from_millis(retry_after_ms));
        Ok(Page {
            events,
            retry_after_ms,
        })
    }
}
