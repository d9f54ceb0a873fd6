//! TC-INVIO-01 and TC-INVIO-02: slots preloaded, files uploaded into them, and one notification
//! (without payment, or with a pagoPA payment) that has every property the test case asks,
//! answered 202 and accepted.

use super::call::{Call, Op};
use super::engine::{Check, Options, Outcome, Unmet, group, leaf, problem_text};
use super::facts::{Facts, Sent, field};
use serde_json::Value;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    WithoutPayment,
    WithPayment,
}

impl Kind {
    fn tc(self) -> &'static str {
        match self {
            Kind::WithoutPayment => "TC-INVIO-01",
            Kind::WithPayment => "TC-INVIO-02",
        }
    }
    /// Files the test case uploads: the document, and the pagoPA form.
    fn files(self) -> usize {
        match self {
            Kind::WithoutPayment => 1,
            Kind::WithPayment => 2,
        }
    }
    fn what(self) -> &'static str {
        match self {
            Kind::WithoutPayment => "a notification without payment",
            Kind::WithPayment => "a notification with a pagoPA payment",
        }
    }
    fn is(self, body: &Value) -> bool {
        let paying = recipients(body).iter().any(|r| !payments(r).is_empty());
        paying == (self == Kind::WithPayment)
    }
}

fn recipients(body: &Value) -> &[Value] {
    body["recipients"].as_array().map_or(&[], Vec::as_slice)
}

/// A recipient's payments: `payments[]` (v2.1+) or `payment` (v1).
fn payments(recipient: &Value) -> Vec<&Value> {
    let list = recipient["payments"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    list.iter().chain(recipient.get("payment")).collect()
}

/// A payment's pagoPA part (`pagoPa`, or the v1 payment itself).
fn pago_pa(p: &Value) -> &Value {
    p.get("pagoPa").unwrap_or(p)
}

pub(super) fn checks(f: &Facts, kind: Kind, opts: &Options) -> Vec<Check> {
    let tc = kind.tc();
    let (slots, files) = if kind.files() == 1 {
        (
            "Request at least one upload slot",
            "Upload at least one file",
        )
    } else {
        (
            "Request at least two upload slots",
            "Upload at least two files",
        )
    };
    vec![
        group(&format!("{tc}.preload"), slots, preload_checks(f, kind)),
        group(
            &format!("{tc}.upload"),
            files,
            vec![leaf(
                &format!("{tc}.upload.files"),
                if kind.files() == 1 {
                    "Have you uploaded one file using the information of previous step?"
                } else {
                    // The validator's own wording.
                    "Have you upload two files using the information of previous step?"
                },
                uploads(f, kind.files()),
            )],
        ),
        group(
            &format!("{tc}.send"),
            "Create a notification request",
            send_checks(f, kind, opts),
        ),
    ]
}

fn preload_checks(f: &Facts, kind: Kind) -> Vec<Check> {
    let tc = kind.tc();
    let preloads: Vec<&Call> = f.of(|o| *o == Op::Preload).collect();
    let ok: Vec<&Call> = preloads
        .iter()
        .copied()
        .filter(|c| c.status == 200)
        .collect();
    // A preload whose preloadIdx are unique and that asked for a PDF.
    let pdf_calls: Vec<&Call> = ok.iter().copied().filter(|c| asks_pdf(c)).collect();
    let pdf_slots: Vec<u64> = f
        .slots
        .iter()
        .filter(|s| s.content_type == "application/pdf" && pdf_calls.contains(&s.call))
        .map(|s| s.call.id)
        .collect();
    let need = kind.files();
    let none = || match preloads.last() {
        None => "no call to /delivery/attachments/preload".to_string(),
        Some(c) => format!(
            "no preload was answered 200 (last: call #{} {})",
            c.id,
            problem_text(c)
        ),
    };
    vec![
        leaf(
            &format!("{tc}.preload.request"),
            "Have you done at least one request?",
            if ok.is_empty() { Err(none().into()) } else { Ok(ok.iter().map(|c| c.id).collect()) },
        ),
        leaf(
            &format!("{tc}.preload.slots"),
            if need == 1 {
                "Have you received at least one valid slot?"
            } else {
                "Have you received at least two valid slots?"
            },
            if pdf_slots.len() >= need {
                Ok(pdf_slots)
            } else if ok.is_empty() {
                Err(none().into())
            } else {
                Err(format!(
                    "{} PDF slot(s) received, {need} needed: preload every file with contentType application/pdf and a distinct preloadIdx",
                    pdf_slots.len()
                ).into())
            },
        ),
        leaf(
            &format!("{tc}.preload.pdf"),
            "Have you required at least one pdf?",
            match pdf_calls.is_empty() {
                false => Ok(pdf_calls.iter().map(|c| c.id).collect()),
                true if ok.is_empty() => Err(none().into()),
                true => Err("no preload answered 200 asked for an application/pdf slot with distinct preloadIdx values".into()),
            },
        ),
    ]
}

fn asks_pdf(c: &Call) -> bool {
    let items = c
        .request
        .as_ref()
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let idx: Vec<Option<&str>> = items.iter().map(|i| field(i, "/preloadIdx")).collect();
    let unique = idx.iter().collect::<HashSet<_>>().len() == idx.len();
    unique
        && items
            .iter()
            .any(|i| field(i, "/contentType") == Some("application/pdf"))
}

/// At least `need` files uploaded into preloaded slots; else the refusals, named.
fn uploads(f: &Facts, need: usize) -> Outcome {
    let keys: HashSet<&str> = f.uploads.iter().map(|u| u.key.as_str()).collect();
    if keys.len() >= need {
        return Ok(f.uploads.iter().map(|u| u.call.id).collect());
    }
    let refused: Vec<String> = f
        .of(|o| matches!(o, Op::Upload { .. }))
        .filter(|c| c.status != 200)
        .map(|c| {
            let code = c
                .response_text
                .as_deref()
                .and_then(|t| t.split("<Code>").nth(1)?.split("</Code>").next())
                .unwrap_or_default();
            format!(
                "call #{} answered HTTP {} {code}: {}",
                c.id,
                c.status,
                problem_text(c)
            )
        })
        .collect();
    Err(Unmet(if refused.is_empty() {
        format!(
            "{} file(s) uploaded into preloaded slots, {need} needed: PUT each file to the url its preload returned, with its secret and base64 sha256",
            keys.len()
        )
    } else {
        format!("uploads refused: {}", refused.join("; "))
    }))
}

/// A condition one notification request meets, or what it lacks.
type Condition<'x> = Box<dyn Fn(&Sent) -> Result<(), Unmet> + 'x>;

fn send_checks(f: &Facts, kind: Kind, opts: &Options) -> Vec<Check> {
    let tc = kind.tc();
    let field_cond = |name: &'static str| -> Condition {
        Box::new(move |s: &Sent| {
            match recipients(s.body)
                .iter()
                .position(|r| r.get(name).is_none_or(Value::is_null))
            {
                Some(i) => Err(Unmet(format!("recipient {i} has no {name}"))),
                None if recipients(s.body).is_empty() => Err("it has no recipients".into()),
                None => Ok(()),
            }
        })
    };
    let id = |rest: &str| format!("{tc}.send.{rest}");
    let mut recipients_checks = vec![];
    if kind == Kind::WithPayment {
        recipients_checks.push(group(
            &id("recipients.payments"),
            "Have you filled the following properties for every payment?",
            vec![
                exists(f, kind, &id("recipients.payments.creditorTaxId"), "Have you filled the property creditorTaxId?", &payment_cond(f, "creditorTaxId")),
                exists(f, kind, &id("recipients.payments.noticeCode"), "Have you filled the property noticeCode?", &payment_cond(f, "noticeCode")),
                exists(f, kind, &id("recipients.payments.pagoPa"), "Have you filled the property pagoPa with the references of a file previously uploaded?", &payment_cond(f, "attachment")),
            ],
        ));
    }
    for name in ["digitalDomicile", "physicalAddress", "taxId"] {
        let description = format!("Have you filled the property {name}?");
        recipients_checks.push(exists(
            f,
            kind,
            &id(&format!("recipients.{name}")),
            &description,
            &field_cond(name),
        ));
    }
    let documents: Condition = Box::new(|s: &Sent| documents_cond(f, s));
    let physical = physical_cond(opts);
    let mut all: Vec<Condition> = vec![
        field_cond("taxId"),
        field_cond("digitalDomicile"),
        field_cond("physicalAddress"),
        Box::new(|s: &Sent| documents_cond(f, s)),
        physical_cond(opts),
    ];
    if kind == Kind::WithPayment {
        all.extend(["creditorTaxId", "noticeCode", "attachment"].map(|p| payment_cond(f, p)));
    }
    all.push(Box::new(|s: &Sent| accepted_cond(f, s)));
    vec![
        valid_notification(f, kind, &id("valid"), &all),
        exists(
            f,
            kind,
            &id("request"),
            "Have you done at least one request?",
            &(Box::new(|_: &Sent| Ok(())) as Condition),
        ),
        group(
            &id("recipients"),
            "Have you filled the following properties for every recipient?",
            recipients_checks,
        ),
        exists(
            f,
            kind,
            &id("documents"),
            "Have you filled the property documents with the references of files previously uploaded?",
            &documents,
        ),
        exists(
            f,
            kind,
            &id("physicalCommunicationType"),
            "Have you provided the value REGISTERED_LETTER_890 for the property physicalCommunicationType?",
            &physical,
        ),
    ]
}

fn documents_cond(f: &Facts, s: &Sent) -> Result<(), Unmet> {
    let docs = s.body["documents"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if docs.is_empty() {
        return Err("it has no documents".into());
    }
    for (i, d) in docs.iter().enumerate() {
        f.upload_of(d)
            .map_err(|why| format!("documents[{i}]: {why}"))?;
    }
    Ok(())
}

fn physical_cond(opts: &Options) -> Condition<'_> {
    Box::new(
        move |s: &Sent| match field(s.body, "/physicalCommunicationType") {
            Some(t) if opts.physical_types.iter().any(|p| p == t) => Ok(()),
            Some(t) => Err(Unmet(format!(
                "physicalCommunicationType is {t}; the Ente sends {}",
                opts.physical_types.join(" or ")
            ))),
            None => Err("it has no physicalCommunicationType".into()),
        },
    )
}

/// Every recipient has a pagoPA payment, and each has `property` (`attachment`: a form that
/// refers to an upload).
fn payment_cond<'x>(f: &'x Facts, property: &'static str) -> Condition<'x> {
    Box::new(move |s: &Sent| {
        for (i, r) in recipients(s.body).iter().enumerate() {
            let pays = payments(r);
            if pays.is_empty() {
                return Err(Unmet(format!("recipient {i} has no payment")));
            }
            for (j, p) in pays.iter().enumerate() {
                let pp = pago_pa(p);
                let at = format!("recipient {i} payment {j}");
                match property {
                    "attachment" => {
                        let form =
                            pp.get("attachment")
                                .or(pp.get("pagoPaForm"))
                                .ok_or_else(|| {
                                    format!("{at} has no pagoPA form (pagoPa.attachment)")
                                })?;
                        f.upload_of(form)
                            .map_err(|why| format!("{at}: pagoPa.attachment: {why}"))?;
                    }
                    name if field(pp, &format!("/{name}")).is_none() => {
                        return Err(Unmet(format!("{at} has no pagoPa.{name}")));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    })
}

fn accepted_cond(f: &Facts, s: &Sent) -> Result<(), Unmet> {
    match f.outcome(s) {
        Some(o) if o.status == "ACCEPTED" && o.iun.is_some() => Ok(()),
        Some(o) if o.status == "REFUSED" => Err(Unmet(format!(
            "request {} was REFUSED: {}",
            s.request_id.as_deref().unwrap_or_default(),
            o.errors.as_ref().map(Value::to_string).unwrap_or_default()
        ))),
        Some(o) => Err(Unmet(format!(
            "request {} was last read {}: read its status (or a stream) until ACCEPTED and take the iun",
            s.request_id.as_deref().unwrap_or_default(),
            o.status
        ))),
        None => Err(
            "its outcome was never read: read the request status (or a stream) until ACCEPTED and take the iun"
                .into(),
        ),
    }
}

/// The requests of `kind` answered 202, or why there are none.
fn accepted_sends<'f, 'a>(f: &'f Facts<'a>, kind: Kind) -> Result<Vec<&'f Sent<'a>>, Unmet> {
    let of_kind: Vec<&Sent> = f.sends.iter().filter(|s| kind.is(s.body)).collect();
    let ok: Vec<&Sent> = of_kind
        .iter()
        .copied()
        .filter(|s| s.call.status == 202)
        .collect();
    if !ok.is_empty() {
        return Ok(ok);
    }
    Err(Unmet(match (f.sends.len(), of_kind.last()) {
        (0, _) => "no notification was sent".into(),
        (n, None) => format!("none of the {n} request(s) sent was {}", kind.what()),
        (_, Some(s)) => format!(
            "no request for {} was answered 202 (last: call #{} HTTP {}: {})",
            kind.what(),
            s.call.id,
            s.call.status,
            problem_text(s.call)
        ),
    }))
}

/// Some request of `kind`, answered 202, meets `cond`; else the newest such request's lack.
fn exists(f: &Facts, kind: Kind, id: &str, description: &str, cond: &Condition) -> Check {
    leaf(
        id,
        description,
        (|| {
            let sends = accepted_sends(f, kind)?;
            let hits: Vec<u64> = sends
                .iter()
                .filter(|s| cond(s).is_ok())
                .map(|s| s.call.id)
                .collect();
            if !hits.is_empty() {
                return Ok(hits);
            }
            let newest = sends.last().expect("accepted_sends is never empty");
            Err(Unmet(format!(
                "call #{}: {}",
                newest.call.id,
                cond(newest).err().map(|u| u.0).unwrap_or_default()
            )))
        })(),
    )
}

/// One request of `kind` that meets every condition; else the closest one and all it lacks.
fn valid_notification(f: &Facts, kind: Kind, id: &str, all: &[Condition]) -> Check {
    leaf(
        id,
        "Have you created at least one valid notification?",
        (|| {
            let sends = accepted_sends(f, kind)?;
            let lacks = |s: &Sent| -> Vec<String> {
                all.iter().filter_map(|c| c(s).err()).map(|u| u.0).collect()
            };
            let judged: Vec<(&Sent, Vec<String>)> = sends.iter().map(|s| (*s, lacks(s))).collect();
            if let Some((s, _)) = judged.iter().find(|(_, l)| l.is_empty()) {
                return Ok(vec![s.call.id]);
            }
            // The closest: fewest lacks, the newest of those.
            let (s, l) = judged
                .iter()
                .rev()
                .min_by_key(|(_, l)| l.len())
                .expect("accepted_sends is never empty");
            Err(Unmet(format!(
                "no request for {} has everything; the closest, call #{}, lacks: {}",
                kind.what(),
                s.call.id,
                l.join("; ")
            )))
        })(),
    )
}
