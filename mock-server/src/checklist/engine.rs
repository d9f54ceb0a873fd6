//! The client checklist: small pure predicates over a call log, composed into a tree per test
//! case. Each check that fails says why, naming the call that came closest.

use super::call::{Call, Op};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One node of the checklist.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub id: String,
    pub description: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub evidence: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Check>,
}

type Outcome = Result<Vec<u64>, String>;

fn leaf(id: &str, description: &str, outcome: Outcome) -> Check {
    match outcome {
        Ok(evidence) => Check {
            id: id.into(),
            description: description.into(),
            ok: true,
            reason: None,
            evidence,
            children: vec![],
        },
        Err(reason) => Check {
            id: id.into(),
            description: description.into(),
            ok: false,
            reason: Some(reason),
            evidence: vec![],
            children: vec![],
        },
    }
}

fn group(id: &str, description: &str, children: Vec<Check>) -> Check {
    let ok = children.iter().all(|c| c.ok);
    let reason = (!ok).then(|| {
        format!(
            "{} of {} checks failed",
            children.iter().filter(|c| !c.ok).count(),
            children.len()
        )
    });
    Check {
        id: id.into(),
        description: description.into(),
        ok,
        reason,
        evidence: vec![],
        children,
    }
}

/// What the log says, indexed once.
struct Facts<'a> {
    calls: &'a [Call],
    /// Successful uploads: key → (call, version id, checksum sent).
    uploads: HashMap<String, Vec<(u64, String, String)>>,
    /// requestId → (status, iun) as last seen (request status, stream events, detail).
    outcomes: HashMap<String, (String, Option<String>)>,
}

fn field<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

impl<'a> Facts<'a> {
    fn new(calls: &'a [Call]) -> Facts<'a> {
        let mut uploads: HashMap<String, Vec<(u64, String, String)>> = HashMap::new();
        let mut outcomes = HashMap::new();
        for c in calls {
            match c.op() {
                Op::Upload { key } if c.status == 200 => {
                    let v = c
                        .response_headers
                        .get("x-amz-version-id")
                        .cloned()
                        .unwrap_or_default();
                    let sum = c
                        .request_headers
                        .get("x-amz-checksum-sha256")
                        .cloned()
                        .unwrap_or_default();
                    uploads.entry(key).or_default().push((c.id, v, sum));
                }
                Op::RequestStatus if c.status == 200 => {
                    if let Some(r) = &c.response
                        && let (Some(id), Some(st)) = (
                            field(r, "/notificationRequestId"),
                            field(r, "/notificationRequestStatus"),
                        )
                    {
                        outcomes.insert(
                            id.to_string(),
                            (st.to_string(), field(r, "/iun").map(str::to_string)),
                        );
                    }
                }
                Op::StreamConsume { .. } if c.status == 200 => {
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
                            outcomes.entry(id.to_string()).or_insert((
                                "ACCEPTED".into(),
                                field(e, "/iun").map(str::to_string),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Facts {
            calls,
            uploads,
            outcomes,
        }
    }

    fn of<'f>(&self, f: impl Fn(&Op) -> bool + 'f) -> impl Iterator<Item = &'a Call> + 'f
    where
        'a: 'f,
    {
        self.calls.iter().filter(move |c| f(&c.op()))
    }

    fn sends(&self) -> Vec<&'a Call> {
        self.of(|o| *o == Op::Send).collect()
    }

    /// Whether an attachment of a request refers to an upload: key, version and digest.
    fn attachment_matches(&self, att: &Value) -> Result<u64, String> {
        let key = field(att, "/ref/key")
            .unwrap_or_default()
            .trim_start_matches("safestorage://");
        let version = field(att, "/ref/versionToken").unwrap_or_default();
        let sha = field(att, "/digests/sha256").unwrap_or_default();
        let ups = self
            .uploads
            .get(key)
            .ok_or_else(|| format!("no successful upload of key {key}"))?;
        if let Some((id, ..)) = ups.iter().find(|(_, v, s)| v == version && s == sha) {
            return Ok(*id);
        }
        let (id, v, s) = ups.last().expect("non-empty");
        if v != version {
            Err(format!(
                "versionToken `{version}` of key {key} is not the x-amz-version-id `{v}` returned by its upload (call #{id})"
            ))
        } else {
            Err(format!(
                "sha256 `{sha}` of key {key} differs from the checksum `{s}` uploaded (call #{id}): preload, upload and send must carry the same digest"
            ))
        }
    }

    fn request_id(c: &Call) -> Option<String> {
        c.response
            .as_ref()
            .and_then(|r| field(r, "/notificationRequestId"))
            .map(str::to_string)
    }
}

fn payments(body: &Value) -> Vec<&Value> {
    let recs = body["recipients"]
        .as_array()
        .map(|v| v.as_slice())
        .unwrap_or_default();
    recs.iter()
        .flat_map(|r| {
            r["payments"]
                .as_array()
                .map(|v| v.as_slice())
                .unwrap_or_default()
                .iter()
                .chain(r.get("payment"))
        })
        .collect()
}

/// Upload failures, named, for reasons.
fn upload_failures(f: &Facts) -> Vec<String> {
    f.of(|o| matches!(o, Op::Upload { .. }))
        .filter(|c| c.status != 200)
        .map(|c| {
            let text = c.response_text.clone().unwrap_or_default();
            let tag = |t: &str| {
                text.split(&format!("<{t}>"))
                    .nth(1)
                    .and_then(|m| m.split(&format!("</{t}>")).next())
                    .map(str::to_string)
            };
            let code = tag("Code").unwrap_or_default();
            // The mock says why in a header; S3's own message otherwise.
            let why = c
                .response_headers
                .get("x-send-mock-reason")
                .cloned()
                .or_else(|| tag("Message"))
                .unwrap_or(text.clone());
            format!("call #{} HTTP {} {code}: {why}", c.id, c.status)
        })
        .collect()
}

fn send_checks(f: &Facts, tc: &str, with_payment: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let preloads: Vec<&Call> = f.of(|o| *o == Op::Preload).collect();
    out.push(leaf(
        &format!("{tc}.preload"),
        if with_payment {
            "Preloaded at least two PDF slots"
        } else {
            "Preloaded at least one PDF slot"
        },
        {
            let pdf_slots: Vec<u64> = preloads
                .iter()
                .filter(|c| c.status == 200)
                .flat_map(|c| {
                    c.request
                        .as_ref()
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|i| {
                            field(i, "/contentType").unwrap_or("application/pdf")
                                == "application/pdf"
                        })
                        .map(|_| c.id)
                })
                .collect();
            let need = if with_payment { 2 } else { 1 };
            if pdf_slots.len() >= need {
                Ok(pdf_slots)
            } else if preloads.is_empty() {
                Err("no call to /delivery/attachments/preload".into())
            } else {
                Err(format!(
                    "{} PDF slot(s) obtained, {need} needed (last preload: call #{} HTTP {})",
                    pdf_slots.len(),
                    preloads.last().map(|c| c.id).unwrap_or(0),
                    preloads.last().map(|c| c.status).unwrap_or(0)
                ))
            }
        },
    ));
    let ok_uploads: Vec<u64> = f.uploads.values().flatten().map(|u| u.0).collect();
    let need = if with_payment { 2 } else { 1 };
    out.push(leaf(&format!("{tc}.upload"), "Uploaded the files into the preloaded slots, with their secret and base64 sha256", {
        if ok_uploads.len() >= need {
            Ok(ok_uploads)
        } else {
            let fails = upload_failures(f);
            Err(if fails.is_empty() { format!("{} successful upload(s), {need} needed: PUT each file to the url preload returned", ok_uploads.len()) } else { format!("uploads refused: {}", fails.join("; ")) })
        }
    }));
    // The request that comes closest: right shape first, then accepted.
    let sends = f.sends();
    let candidates: Vec<&Call> = sends
        .iter()
        .copied()
        .filter(|c| {
            c.request
                .as_ref()
                .is_some_and(|b| payments(b).is_empty() != with_payment)
        })
        .collect();
    let what = if with_payment {
        "with a pagoPA payment"
    } else {
        "without payment"
    };
    let best = candidates
        .iter()
        .rev()
        .find(|c| c.status == 202)
        .or(candidates.last())
        .copied();
    out.push(leaf(&format!("{tc}.send"), &format!("Sent a request {what}, by REGISTERED_LETTER_890, answered 202"), match best {
        None if sends.is_empty() => Err("no notification was sent".into()),
        None => Err(format!("no request {what} among the {} sent", sends.len())),
        Some(c) if c.status != 202 => Err(format!("call #{} answered HTTP {}: {}", c.id, c.status, problem_text(c))),
        Some(c) => match c.request.as_ref().and_then(|b| field(b, "/physicalCommunicationType")) {
            Some("REGISTERED_LETTER_890") => Ok(vec![c.id]),
            other => Err(format!("call #{}: physicalCommunicationType is {other:?}, the test case asks REGISTERED_LETTER_890", c.id)),
        },
    }));
    let body = best.and_then(|c| c.request.clone()).unwrap_or(Value::Null);
    out.push(leaf(
        &format!("{tc}.recipients"),
        "Every recipient has taxId, digitalDomicile and physicalAddress",
        {
            let recs = body["recipients"].as_array().cloned().unwrap_or_default();
            match recs.iter().enumerate().find(|(_, r)| {
                r.get("taxId").is_none()
                    || r.get("digitalDomicile").is_none()
                    || r.get("physicalAddress").is_none()
            }) {
                _ if recs.is_empty() => Err("no request to judge".into()),
                Some((i, _)) => Err(format!(
                    "recipient {i} lacks taxId, digitalDomicile or physicalAddress"
                )),
                None => Ok(best.map(|c| vec![c.id]).unwrap_or_default()),
            }
        },
    ));
    out.push(leaf(
        &format!("{tc}.documents"),
        "Documents reference uploaded files (key, versionToken = x-amz-version-id, same sha256)",
        {
            let docs = body["documents"].as_array().cloned().unwrap_or_default();
            if docs.is_empty() {
                Err("no request to judge".into())
            } else {
                docs.iter()
                    .map(|d| f.attachment_matches(d))
                    .collect::<Result<Vec<u64>, String>>()
            }
        },
    ));
    if with_payment {
        let pays = payments(&body);
        out.push(leaf(
            &format!("{tc}.payment"),
            "Every payment has creditorTaxId, noticeCode and a pagoPA form uploaded",
            {
                if pays.is_empty() {
                    Err("no request with a payment to judge".into())
                } else {
                    pays.iter()
                        .map(|p| {
                            let pp = p.get("pagoPa").unwrap_or(p);
                            if field(pp, "/creditorTaxId").is_none()
                                || field(pp, "/noticeCode").is_none()
                            {
                                return Err(
                                    "a payment lacks creditorTaxId or noticeCode".to_string()
                                );
                            }
                            let form = pp
                                .get("attachment")
                                .or(pp.get("pagoPaForm"))
                                .ok_or("a payment has no pagoPA form attachment")?;
                            f.attachment_matches(form)
                        })
                        .collect::<Result<Vec<u64>, String>>()
                }
            },
        ));
    }
    out.push(leaf(&format!("{tc}.accepted"), &format!("The notification {what} was accepted and its IUN obtained"), {
        let ids: Vec<(u64, String)> = candidates.iter().filter(|c| c.status == 202).filter_map(|c| Facts::request_id(c).map(|r| (c.id, r))).collect();
        match ids.iter().find(|(_, r)| f.outcomes.get(r).is_some_and(|(s, iun)| s == "ACCEPTED" && iun.is_some())) {
            Some((id, _)) => Ok(vec![*id]),
            // None accepted: explain the newest request, the one the PT is working on.
            None => match ids.last().map(|(_, r)| r).filter(|r| f.outcomes.get(*r).is_some_and(|(s, _)| s == "REFUSED")) {
                Some(r) => {
                    let why = f.of(|o| *o == Op::RequestStatus).filter_map(|c| c.response.as_ref()).find(|v| field(v, "/notificationRequestId") == Some(r)).map(|v| v["errors"].to_string()).unwrap_or_default();
                    Err(format!("request {r} was REFUSED: {why}"))
                }
                None if ids.is_empty() => Err(format!("no request {what} answered 202")),
                None => Err("the outcome was never read: read the request status (or a stream) until ACCEPTED and take the iun".into()),
            },
        }
    }));
    out
}

fn problem_text(c: &Call) -> String {
    c.response
        .as_ref()
        .and_then(|r| r["errors"].as_array())
        .map(|e| {
            e.iter()
                .map(|x| {
                    format!(
                        "{} {}",
                        field(x, "/code").unwrap_or(""),
                        field(x, "/detail").unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

fn stream_checks(f: &Facts) -> Vec<Check> {
    let creates: Vec<&Call> = f
        .of(|o| matches!(o, Op::StreamCreate { timeline: true }))
        .filter(|c| c.status == 200)
        .collect();
    let ids: Vec<String> = creates
        .iter()
        .filter_map(|c| {
            c.response
                .as_ref()
                .and_then(|r| field(r, "/streamId"))
                .map(str::to_string)
        })
        .collect();
    let mut by_stream: BTreeMap<String, Vec<&Call>> = BTreeMap::new();
    for c in f.calls {
        if let Op::StreamConsume { stream } = c.op() {
            by_stream.entry(stream).or_default().push(c);
        }
    }
    let consumed: Vec<&Call> = ids
        .iter()
        .flat_map(|id| by_stream.get(id).cloned().unwrap_or_default())
        .filter(|c| c.status == 200)
        .collect();
    let details_polled = f.of(|o| matches!(o, Op::Detail { .. })).count();
    let no_stream = || {
        if details_polled > 0 {
            "the notification detail was polled but no stream was read: detail polling does not satisfy TC-INVIO-03".to_string()
        } else {
            "no TIMELINE stream was read".to_string()
        }
    };
    let mut out = vec![leaf(
        "TC-INVIO-03.create",
        "Created a TIMELINE stream",
        if creates.is_empty() {
            Err("no TIMELINE stream created (POST …/streams with eventType TIMELINE)".into())
        } else {
            Ok(creates.iter().map(|c| c.id).collect())
        },
    )];
    out.push(leaf(
        "TC-INVIO-03.consume",
        "Read the events of that stream by its streamId",
        if consumed.is_empty() {
            Err(no_stream())
        } else {
            Ok(consumed.iter().map(|c| c.id).collect())
        },
    ));
    out.push(leaf("TC-INVIO-03.accepted", "Received an event with newStatus ACCEPTED and the IUN", {
        let hit = consumed.iter().find(|c| c.response.as_ref().and_then(Value::as_array).is_some_and(|evs| evs.iter().any(|e| field(e, "/newStatus") == Some("ACCEPTED") && field(e, "/iun").is_some())));
        match hit {
            Some(c) => Ok(vec![c.id]),
            None if consumed.is_empty() => Err(no_stream()),
            None => Err("no event with newStatus ACCEPTED and iun was read: create the stream before sending, and read until acceptance".into()),
        }
    }));
    out.push(leaf(
        "TC-INVIO-03.ack",
        "Acknowledged read events with lastEventId",
        {
            let acked: Vec<u64> = ids
                .iter()
                .flat_map(|id| {
                    let calls = by_stream.get(id).cloned().unwrap_or_default();
                    let mut seen: Vec<String> = vec![];
                    let mut hits = vec![];
                    for c in calls {
                        if c.query.get("lastEventId").is_some_and(|l| seen.contains(l)) {
                            hits.push(c.id);
                        }
                        seen.extend(
                            c.response
                                .as_ref()
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(|e| e.as_str().or_else(|| field(e, "/eventId")))
                                .map(str::to_string),
                        );
                    }
                    hits
                })
                .collect();
            if acked.is_empty() {
                Err(if consumed.is_empty() {
                    no_stream()
                } else {
                    "no read passed the lastEventId of an event received before".into()
                })
            } else {
                Ok(acked)
            }
        },
    ));
    // retry-after per stream; a stream recovers once its last reads all waited.
    out.push(leaf(
        "TC-INVIO-03.retry-after",
        "Honoured retry-after on every stream read",
        {
            let mut bad = vec![];
            let mut good = vec![];
            for (id, calls) in by_stream.iter().filter(|(id, _)| ids.contains(id)) {
                let mut violations = vec![];
                for w in calls.windows(2) {
                    let asked: i64 = w[0]
                        .response_headers
                        .get("retry-after")
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(0);
                    let waited = w[1].at_ms - w[0].at_ms;
                    if waited + 20 < asked || w[1].status == 429 {
                        violations.push(format!(
                            "call #{} came {waited} ms after a retry-after of {asked} ms",
                            w[1].id
                        ));
                    }
                }
                // Recovered: the last three reads of the stream all waited.
                let recent = calls.len().saturating_sub(3);
                let recovered = calls.len() > 3
                    && !violations.iter().any(|v| {
                        calls[recent..]
                            .iter()
                            .any(|c| v.starts_with(&format!("call #{} ", c.id)))
                    });
                if violations.is_empty() || recovered {
                    good.extend(calls.iter().map(|c| c.id));
                } else {
                    bad.push(format!(
                        "stream {id}: {}",
                        violations.last().cloned().unwrap_or_default()
                    ));
                }
            }
            if !bad.is_empty() {
                Err(bad.join("; "))
            } else if good.is_empty() {
                Err(no_stream())
            } else {
                Ok(good)
            }
        },
    ));
    out
}

fn download_checks(f: &Facts) -> Vec<Check> {
    let downloads: Vec<&Call> = f
        .of(|o| matches!(o, Op::Download { .. }))
        .filter(|c| c.status == 200)
        .collect();
    let downloaded = |meta: &Call| -> Option<u64> {
        let url = meta.response.as_ref().and_then(|r| field(r, "/url"))?;
        let path = super::call::storage_path(url)?;
        downloads
            .iter()
            .find(|d| d.at_ms >= meta.at_ms && d.path == path)
            .map(|d| d.id)
    };
    let pair = |id: &str, desc: &str, pick: &dyn Fn(&Op) -> bool, what: &str| {
        let metas: Vec<&Call> = f.of(pick).collect();
        leaf(
            id,
            desc,
            match metas
                .iter()
                .filter(|c| c.status == 200)
                .find_map(|m| downloaded(m).map(|d| vec![m.id, d]))
            {
                Some(ev) => Ok(ev),
                None if metas.is_empty() => Err(format!("the {what} metadata was never requested")),
                None if metas.iter().all(|c| c.status != 200) => Err(format!(
                    "every {what} metadata request failed (last: call #{} HTTP {})",
                    metas.last().map(|c| c.id).unwrap_or(0),
                    metas.last().map(|c| c.status).unwrap_or(0)
                )),
                None => Err(format!(
                    "the {what} metadata was read but its url was not downloaded (or it answered retryAfter: ask again after it)"
                )),
            },
        )
    };
    let iuns_with_timeline: Vec<String> = f
        .of(|o| matches!(o, Op::Detail { .. }))
        .filter(|c| c.status == 200)
        .filter_map(|c| match c.op() {
            Op::Detail { iun } => Some(iun),
            _ => None,
        })
        .collect();
    vec![
        pair(
            "TC-INVIO-04.document",
            "Requested the notified document's metadata and downloaded it",
            &|o| matches!(o, Op::DocumentMeta { .. }),
            "document",
        ),
        pair(
            "TC-INVIO-04.pagopa",
            "Requested the pagoPA form's metadata and downloaded it",
            &|o| matches!(o, Op::PaymentMeta { name, .. } if name == "PAGOPA"),
            "pagoPA form",
        ),
        pair(
            "TC-INVIO-04.legal-fact",
            "Requested a legal fact of the notification's timeline and downloaded it",
            &|o| matches!(o, Op::LegalFactMeta { iun, .. } if iuns_with_timeline.contains(iun)),
            "legal fact (of an IUN whose detail was read)",
        ),
    ]
}

fn price_checks(f: &Facts, sender: &str, same: bool) -> Vec<Check> {
    let tc = if same {
        "TC-COSTO-01.1"
    } else {
        "TC-COSTO-01.2"
    };
    let notices: Vec<(u64, String, String)> = f
        .sends()
        .into_iter()
        .filter(|c| c.status == 202)
        .flat_map(|c| {
            payments(c.request.as_ref().unwrap_or(&Value::Null))
                .into_iter()
                .map(move |p| (c.id, p.get("pagoPa").unwrap_or(p).clone()))
        })
        .filter_map(|(id, p)| {
            Some((
                id,
                field(&p, "/creditorTaxId")?.to_string(),
                field(&p, "/noticeCode")?.to_string(),
            ))
        })
        .filter(|(_, c, _)| (c == sender) == same)
        .collect();
    let who = if same {
        "the sender itself"
    } else {
        "another Ente"
    };
    let prices: Vec<&Call> = f.of(|o| matches!(o, Op::Price { .. })).collect();
    vec![
        leaf(
            &format!("{tc}.notice"),
            &format!("Sent a notification whose pagoPA creditor is {who}"),
            if notices.is_empty() {
                Err(format!(
                    "no accepted-for-validation request has a payment whose creditorTaxId is {who}"
                ))
            } else {
                Ok(notices.iter().map(|n| n.0).collect())
            },
        ),
        leaf(
            &format!("{tc}.price"),
            "Read the price of that notice (creditorTaxId + noticeCode) from SEND",
            {
                let hit = prices.iter().find(|c| c.status == 200 && matches!(c.op(), Op::Price { creditor, notice } if notices.iter().any(|n| n.1 == creditor && n.2 == notice)));
                match hit {
                Some(c) => Ok(vec![c.id]),
                None if prices.is_empty() => Err("the price was never asked (GET /delivery/v2.3/price/{creditorTaxId}/{noticeCode})".into()),
                None => {
                    let c = prices.last().expect("non-empty");
                    Err(format!("no price read for a notice of such a notification answered 200 (closest: call #{} {} HTTP {} {})", c.id, c.path, c.status, problem_text(c)))
                }
            }
            },
        ),
    ]
}

/// The whole checklist for the calls of one Ente whose tax id is `sender`.
pub fn evaluate(calls: &[Call], sender: &str) -> Vec<Check> {
    let f = Facts::new(calls);
    vec![
        group(
            "TC-INVIO-01",
            "TC-INVIO-01 — notification without payment, one recipient",
            send_checks(&f, "TC-INVIO-01", false),
        ),
        group(
            "TC-INVIO-02",
            "TC-INVIO-02 — notification with a pagoPA payment",
            send_checks(&f, "TC-INVIO-02", true),
        ),
        group(
            "TC-INVIO-03",
            "TC-INVIO-03 — IUN and statuses from a stream, retry-after honoured",
            stream_checks(&f),
        ),
        group(
            "TC-INVIO-04",
            "TC-INVIO-04 — documents, pagoPA form and legal facts downloaded",
            download_checks(&f),
        ),
        group(
            "TC-COSTO-01",
            "TC-COSTO-01 — notification price",
            vec![
                group(
                    "TC-COSTO-01.1",
                    "Scenario 1 — sender = creditor",
                    price_checks(&f, sender, true),
                ),
                group(
                    "TC-COSTO-01.2",
                    "Scenario 2 — sender ≠ creditor",
                    price_checks(&f, sender, false),
                ),
            ],
        ),
    ]
}

/// The same tree in the shape of PagoPA's validator (`{version, result: [{description, children | result}]}`).
pub fn validator_shape(checks: &[Check]) -> Value {
    fn node(c: &Check) -> Value {
        if c.children.is_empty() {
            serde_json::json!({"description": c.description, "result": c.ok})
        } else {
            serde_json::json!({"description": c.description, "children": c.children.iter().map(node).collect::<Vec<_>>()})
        }
    }
    serde_json::json!({"version": "2.4", "result": checks.iter().map(node).collect::<Vec<_>>()})
}
