//! What a call log says, indexed once: the slots preloaded, the files uploaded into them, the
//! notifications sent and what became of them. The checks are predicates over these.

use super::call::{Call, Op};
use super::engine::Unmet;
use serde_json::Value;
use std::collections::HashMap;

pub(super) fn field<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// One slot a preload answered 200 with.
#[derive(Debug)]
pub(super) struct Slot<'a> {
    pub call: &'a Call,
    pub key: String,
    pub sha256: String,
    pub content_type: String,
}

/// A successful upload into a slot that a preload issued, with the digest the slot declared.
#[derive(Debug)]
pub(super) struct Upload<'a> {
    pub call: &'a Call,
    pub key: String,
    pub version: String,
    pub sha256: String,
}

/// A notification request: its body, its answer and, once read, its outcome.
#[derive(Debug)]
pub(super) struct Sent<'a> {
    pub call: &'a Call,
    pub body: &'a Value,
    pub request_id: Option<String>,
}

/// What the client learnt of a request: status and IUN.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub status: String,
    pub iun: Option<String>,
    /// The request-status answer's errors (a refusal's codes), as SEND wrote them.
    pub errors: Option<Value>,
}

pub(super) struct Facts<'a> {
    pub calls: &'a [Call],
    pub slots: Vec<Slot<'a>>,
    pub uploads: Vec<Upload<'a>>,
    pub sends: Vec<Sent<'a>>,
    /// requestId → outcome as last read (request status, stream events).
    pub outcomes: HashMap<String, Outcome>,
}

impl<'a> Facts<'a> {
    pub fn new(calls: &'a [Call]) -> Facts<'a> {
        let slots = preloaded_slots(calls);
        let uploads = calls
            .iter()
            .filter(|c| c.status == 200)
            .filter_map(|c| match c.op() {
                Op::Upload { key } => Some((c, key)),
                _ => None,
            })
            .filter_map(|(c, key)| {
                let sum = c.request_headers.get("x-amz-checksum-sha256")?;
                // Uploaded into a slot preloaded before it, with the digest it declared.
                slots
                    .iter()
                    .find(|s| s.key == key && s.sha256 == *sum && s.call.id < c.id)?;
                Some(Upload {
                    call: c,
                    key,
                    version: c.response_headers.get("x-amz-version-id")?.clone(),
                    sha256: sum.clone(),
                })
            })
            .collect();
        let sends = calls
            .iter()
            .filter(|c| c.op() == Op::Send)
            .filter_map(|c| {
                Some(Sent {
                    call: c,
                    body: c.request.as_ref()?,
                    request_id: c
                        .response
                        .as_ref()
                        .and_then(|r| field(r, "/notificationRequestId"))
                        .map(str::to_string),
                })
            })
            .collect();
        Facts {
            calls,
            slots,
            uploads,
            sends,
            outcomes: outcomes(calls),
        }
    }

    pub fn of<'f>(&self, f: impl Fn(&Op) -> bool + 'f) -> impl Iterator<Item = &'a Call> + 'f
    where
        'a: 'f,
    {
        self.calls.iter().filter(move |c| f(&c.op()))
    }

    /// The upload an attachment of a request refers to (key, versionToken, digest), or why none.
    pub fn upload_of(&self, att: &Value) -> Result<&Upload<'a>, Unmet> {
        let key = field(att, "/ref/key")
            .unwrap_or_default()
            .trim_start_matches("safestorage://");
        let version = field(att, "/ref/versionToken").unwrap_or_default();
        let sha = field(att, "/digests/sha256").unwrap_or_default();
        let of_key: Vec<&Upload> = self.uploads.iter().filter(|u| u.key == key).collect();
        if let Some(u) = of_key
            .iter()
            .find(|u| u.version == version && u.sha256 == sha)
        {
            return Ok(u);
        }
        let Some(last) = of_key.last() else {
            return Err(Unmet(format!(
                "key {key} has no successful upload into a preloaded slot"
            )));
        };
        Err(Unmet(if last.version != version {
            format!(
                "ref.versionToken `{version}` of key {key} is not the x-amz-version-id `{}` its upload (call #{}) returned",
                last.version, last.call.id
            )
        } else {
            format!(
                "digests.sha256 `{sha}` of key {key} differs from the checksum `{}` uploaded (call #{}): preload, upload and send must carry the same digest",
                last.sha256, last.call.id
            )
        }))
    }

    /// What the client learnt of `sent` (accepted with an IUN, refused…), if it read it.
    pub fn outcome(&self, sent: &Sent) -> Option<&Outcome> {
        self.outcomes.get(sent.request_id.as_ref()?)
    }

    /// The IUNs the client obtained: from request statuses and stream events.
    pub fn known_iuns(&self) -> impl Iterator<Item = &str> {
        self.outcomes.values().filter_map(|o| o.iun.as_deref())
    }
}

/// The slots of the preloads answered 200, entry by entry.
fn preloaded_slots(calls: &[Call]) -> Vec<Slot<'_>> {
    let mut slots = vec![];
    for c in calls
        .iter()
        .filter(|c| c.status == 200 && c.op() == Op::Preload)
    {
        let asked = c.request.as_ref().and_then(Value::as_array);
        let given = c.response.as_ref().and_then(Value::as_array);
        for (i, slot) in given.into_iter().flatten().enumerate() {
            let idx = field(slot, "/preloadIdx");
            // The request entry with the same preloadIdx (or at the same place).
            let entry = asked.and_then(|a| {
                a.iter()
                    .find(|e| idx.is_some() && field(e, "/preloadIdx") == idx)
                    .or(a.get(i))
            });
            let (Some(key), Some(entry)) = (field(slot, "/key"), entry) else {
                continue;
            };
            slots.push(Slot {
                call: c,
                key: key.to_string(),
                sha256: field(entry, "/sha256").unwrap_or_default().to_string(),
                content_type: field(entry, "/contentType")
                    .unwrap_or("application/pdf")
                    .to_string(),
            });
        }
    }
    slots
}

/// What the client read of each request: the request status answers, and the ACCEPTED events
/// of its streams.
fn outcomes(calls: &[Call]) -> HashMap<String, Outcome> {
    let mut out = HashMap::new();
    for c in calls.iter().filter(|c| c.status == 200) {
        match c.op() {
            Op::RequestStatus => {
                let Some(r) = &c.response else { continue };
                if let (Some(id), Some(st)) = (
                    field(r, "/notificationRequestId"),
                    field(r, "/notificationRequestStatus"),
                ) {
                    let o = Outcome {
                        status: st.to_string(),
                        iun: field(r, "/iun").map(str::to_string),
                        errors: r.get("errors").cloned(),
                    };
                    // An ACCEPTED outcome stays: a later WAITING read cannot be.
                    if out.get(id).is_none_or(|p: &Outcome| p.status != "ACCEPTED") {
                        out.insert(id.to_string(), o);
                    }
                }
            }
            Op::StreamConsume { .. } => {
                for e in c
                    .response
                    .as_ref()
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(id), Some("ACCEPTED")) =
                        (field(e, "/notificationRequestId"), field(e, "/newStatus"))
                    {
                        out.insert(
                            id.to_string(),
                            Outcome {
                                status: "ACCEPTED".into(),
                                iun: field(e, "/iun").map(str::to_string),
                                errors: None,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }
    out
}
