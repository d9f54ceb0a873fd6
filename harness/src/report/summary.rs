//! `evidence/summary.md` and `evidence/summary.csv`: the "alternative evidence" PagoPA's
//! onboarding desk accepts per TC when no validator report is attached — the request ids and
//! IUNs, the events received with their timestamps, the status history with SEND's Italian
//! labels, the documents and legal facts downloaded with their sha256, the prices read.

use super::{RunReport, ScenarioReport};
use crate::world::{ScenarioEvidence, Verified};
use send_checklist::Check;
use std::fmt::Write as _;

pub use super::i18n::stato;
use super::i18n::{self, Lang};

/// One fact of the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub tc: String,
    pub scenario: String,
    /// request, status, event, legal-fact, document, price, note.
    pub kind: &'static str,
    pub iun: String,
    pub notification_request_id: String,
    pub timestamp: String,
    /// The element category, status, document name or price field.
    pub what: String,
    pub stato: &'static str,
    pub detail: String,
    pub sha256: String,
    pub file: String,
}

/// `verified: sha256, contentLength, pdf`: the checks a downloaded file passed.
fn verified(checks: &Verified, same_as_uploaded: bool) -> String {
    let mut out = if checks.is_empty() {
        "not verified".to_string()
    } else {
        format!("verified: {}", checks.join(", "))
    };
    if same_as_uploaded {
        out.push_str(", same sha256 as uploaded");
    }
    out
}

/// An optional value as the summary writes it: empty when absent.
fn opt(v: Option<impl std::fmt::Display>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Makes the facts of one scenario: each names its TC, scenario, IUN and request id.
struct FactMaker<'a> {
    tc: &'a str,
    scenario: &'a str,
    iun: String,
    rid: String,
}

impl FactMaker<'_> {
    fn fact(&self, kind: &'static str, timestamp: String, what: String, detail: String) -> Fact {
        Fact {
            tc: self.tc.into(),
            scenario: self.scenario.into(),
            kind,
            iun: self.iun.clone(),
            notification_request_id: self.rid.clone(),
            timestamp,
            what,
            stato: "",
            detail,
            sha256: String::new(),
            file: String::new(),
        }
    }
}

/// The facts of one scenario, in the order a reviewer checks them: what was sent, the
/// statuses and events, the files, the prices, the notes.
pub fn facts(tc: &str, sc: &ScenarioReport) -> Vec<Fact> {
    let ev = &sc.evidence;
    let mk = FactMaker {
        tc,
        scenario: &sc.name,
        iun: ev.iuns.first().cloned().unwrap_or_default(),
        rid: ev
            .notification_request_ids
            .first()
            .cloned()
            .unwrap_or_default(),
    };
    let mut out = request_facts(&mk, ev);
    out.extend(status_facts(&mk, ev));
    out.extend(file_facts(&mk, ev));
    out.extend(price_facts(&mk, ev));
    for n in &ev.notes {
        out.push(mk.fact("note", String::new(), String::new(), n.clone()));
    }
    out
}

/// Each request sent: its protocol number, documents and pagoPA payments.
fn request_facts(mk: &FactMaker, ev: &ScenarioEvidence) -> Vec<Fact> {
    let mut out = Vec::new();
    for (i, r) in ev.requests.iter().enumerate() {
        let mut f = mk.fact(
            "request",
            String::new(),
            r.pa_protocol_number.clone(),
            format!(
                "subject \"{}\"; {} recipient(s); {}",
                r.subject,
                r.recipients.len(),
                r.physical_communication_type.as_str()
            ),
        );
        f.notification_request_id = ev
            .notification_request_ids
            .get(i)
            .cloned()
            .unwrap_or_default();
        out.push(f);
        for d in &r.documents {
            let mut f = mk.fact(
                "request",
                String::new(),
                format!("document {}", opt(d.title.as_ref())),
                format!("key {}", d.file.reference.key),
            );
            f.sha256 = d.file.digests.sha256.to_string();
            out.push(f);
        }
        let payments = r.recipients.iter().flat_map(|rec| &rec.payments);
        for pa in payments.map(|p| p.pago_pa.as_ref()) {
            let mut f = mk.fact(
                "request",
                String::new(),
                "pagoPA payment".into(),
                format!(
                    "creditorTaxId {}, noticeCode {}, applyCost {}",
                    opt(pa.map(|p| &p.creditor_tax_id)),
                    opt(pa.map(|p| &p.notice_code)),
                    opt(pa.map(|p| p.apply_cost))
                ),
            );
            let form = pa.and_then(|p| p.attachment.as_ref());
            f.sha256 = opt(form.map(|a| &a.digests.sha256));
            out.push(f);
        }
    }
    out
}

/// The statuses the notification went through and the stream events read.
fn status_facts(mk: &FactMaker, ev: &ScenarioEvidence) -> Vec<Fact> {
    let mut out = Vec::new();
    for h in &ev.status_history {
        let status = h.status.to_string();
        let mut f = mk.fact(
            "status",
            h.active_from.clone(),
            status.clone(),
            String::new(),
        );
        f.stato = stato(&status);
        out.push(f);
    }
    for e in &ev.stream_events {
        let status = opt(e.new_status.as_ref());
        let mut f = mk.fact(
            "event",
            opt(e.timestamp.as_ref()),
            opt(e.category.as_ref()),
            format!("{} stream, eventId {}", e.stream, e.event_id),
        );
        if !status.is_empty() {
            f.detail.push_str(&format!("; newStatus {status}"));
            f.stato = stato(&status);
        }
        out.push(f);
    }
    out
}

/// Every legal fact and document, with the file downloaded for it and its checks.
fn file_facts(mk: &FactMaker, ev: &ScenarioEvidence) -> Vec<Fact> {
    let mut out = Vec::new();
    // Every timeline element that references a document, with the file downloaded for it.
    for (el, lf, key) in ev.timeline_facts() {
        let got = ev.downloaded_fact(key);
        let mut f = mk.fact(
            "legal-fact",
            opt(el.timestamp.as_ref()),
            el.category.to_string(),
            format!(
                "{} {key}{}",
                lf.category,
                if got.is_some() {
                    ""
                } else {
                    " (not downloaded)"
                }
            ),
        );
        if let Some(d) = got {
            f.detail.push_str(&format!(
                " ({} bytes, {})",
                d.size,
                verified(&d.verified, false)
            ));
            f.sha256 = d.sha256.to_string();
            f.file = d.file.clone();
        }
        out.push(f);
    }
    for d in &ev.legal_facts {
        let listed = ev.timeline_facts().any(|(_, _, key)| d.key == key);
        if !listed {
            let mut f = mk.fact(
                "legal-fact",
                String::new(),
                d.category.clone(),
                format!(
                    "{} ({} bytes, {})",
                    d.key,
                    d.size,
                    verified(&d.verified, false)
                ),
            );
            f.sha256 = d.sha256.to_string();
            f.file = d.file.clone();
            out.push(f);
        }
    }
    for d in &ev.documents {
        let mut f = mk.fact(
            "document",
            String::new(),
            d.name.clone(),
            format!(
                "{} ({} bytes, {})",
                d.filename,
                d.size,
                verified(&d.verified, d.same_as_uploaded == Some(true))
            ),
        );
        f.sha256 = d.sha256.to_string();
        f.file = d.file.clone();
        out.push(f);
    }
    out
}

/// The prices read, with when the validation was asked.
fn price_facts(mk: &FactMaker, ev: &ScenarioEvidence) -> Vec<Fact> {
    let mut out = Vec::new();
    let sent_at = ev
        .status_history
        .first()
        .map(|h| h.active_from.clone())
        .unwrap_or_default();
    for p in &ev.prices {
        let pr = &p.price;
        out.push(mk.fact(
            "price",
            opt(pr.refinement_date.as_ref()),
            format!("notice {}", p.notice_code),
            format!(
                "validation requested {sent_at}; refinement {}; totalPrice {}, partialPrice {}, sendFee {}, paFee {}, analogCost {}, vat {}; read by {}",
                (pr.refinement_date.as_deref())
                    .filter(|r| !r.is_empty())
                    .unwrap_or("not yet"),
                opt(pr.total_price),
                opt(pr.partial_price),
                opt(pr.send_fee),
                opt(pr.pa_fee),
                opt(pr.analog_cost),
                opt(pr.vat),
                p.read_by
            ),
        ));
    }
    out
}

/// Every fact of the run, TC by TC.
pub fn all_facts(report: &RunReport) -> Vec<Fact> {
    report
        .test_cases
        .iter()
        .flat_map(|tc| tc.scenarios.iter().flat_map(|s| facts(&tc.id, s)))
        .collect()
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

pub const CSV_HEADER: &str =
    "tc,scenario,kind,iun,notificationRequestId,timestamp,what,stato,detail,sha256,file";

pub fn csv(report: &RunReport) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for f in all_facts(report) {
        let row = [
            f.tc.as_str(),
            &f.scenario,
            f.kind,
            &f.iun,
            &f.notification_request_id,
            &f.timestamp,
            &f.what,
            f.stato,
            &f.detail,
            &f.sha256,
            &f.file,
        ];
        out.push_str(&row.map(csv_field).join(","));
        out.push('\n');
    }
    out
}

fn or_dash(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

fn md_cell(v: &str) -> String {
    v.replace('|', "\\|").replace('\n', " ")
}

/// The checklist node `id`, as one line: ✓ or ✗ with the reason.
fn check_line(checks: &[Check], id: &str) -> Option<String> {
    fn find<'a>(c: &'a [Check], id: &str) -> Option<&'a Check> {
        c.iter().find_map(|n| {
            if n.id == id {
                Some(n)
            } else {
                find(&n.children, id)
            }
        })
    }
    find(checks, id).map(|c| match &c.reason {
        None if c.ok => format!("✓ {}", c.description),
        r => format!("✗ {} — {}", c.description, r.as_deref().unwrap_or("failed")),
    })
}

/// The provenance table's rows: the Ente, the target, the clock, the run, the tool, and
/// whether the run is go-live evidence.
fn provenance_rows(r: &RunReport, lang: Lang) -> [(&'static str, String); 6] {
    let t = |k| i18n::text(lang, k);
    let it = lang == Lang::It;
    [
        (
            t("ente"),
            format!(
                "{} · {} {} · {} {} · {} {}",
                r.ente.name,
                t("tax_id"),
                r.ente.tax_id,
                t("pagopa_mode"),
                r.ente.pago_pa_int_mode,
                t("paper"),
                r.ente.physical_communication_type
            ),
        ),
        (
            t("target"),
            format!(
                "{} ({}) · {} · API {}",
                r.target.label, r.target.kind, r.target.base_url, r.target.api_family
            ),
        ),
        (
            t("clock"),
            format!(
                "1 = {} ({})",
                super::duration(r.target.send_day_ms),
                r.target.clock_source
            ),
        ),
        (
            t("run"),
            format!(
                "{} → {} · {} {}",
                r.started_at,
                r.finished_at,
                t("run_id"),
                r.run_id
            ),
        ),
        (
            t("tool"),
            format!(
                "{} {} · commit {}",
                r.tool.name, r.tool.version, r.tool.commit
            ),
        ),
        (
            if it {
                "Evidenza per il go-live"
            } else {
                "Go-live evidence"
            },
            format!(
                "{} — {}",
                if r.evidence.valid_for_go_live {
                    t("yes")
                } else {
                    t("no")
                },
                r.evidence.why
            ),
        ),
    ]
}

/// The run's provenance, as the first lines of summary.md.
fn provenance(md: &mut String, r: &RunReport, lang: Lang) {
    let t = |k| i18n::text(lang, k);
    let it = lang == Lang::It;
    let _ = writeln!(
        md,
        "# {} — {} ({})\n",
        if it {
            "Evidenze dei casi di test SEND"
        } else {
            "Evidence of the SEND test cases"
        },
        r.ente.name,
        r.ente.tax_id
    );
    if !r.evidence.valid_for_go_live {
        let banner = if r.evidence.code == "rehearsal" {
            t("banner_rehearsal")
        } else {
            t("banner_not_passed")
        };
        let _ = writeln!(md, "> **{banner}**\n");
    }
    let _ = writeln!(md, "| | |\n|---|---|");
    for (k, v) in provenance_rows(r, lang) {
        let _ = writeln!(md, "| {k} | {} |", md_cell(&v));
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "{}\n",
        if it {
            "Gli stati (Stato) sono le etichette di SEND. Ogni file elencato è in questa cartella; la colonna Detail dice quali verifiche ha superato (sha256 dove SEND lo annuncia, la dimensione sempre, il tipo)."
        } else {
            "Status labels (Stato) are SEND's, in Italian. Every file listed is in this folder; the Detail column says which checks it passed (sha256 where SEND announces one, the size always, the type)."
        }
    );
}

pub fn markdown(report: &RunReport, checks: &[Check]) -> String {
    let lang = Lang::parse(report.lang).unwrap_or_default();
    let mut md = String::new();
    provenance(&mut md, report, lang);
    for tc in &report.test_cases {
        let verdict = match tc.verdict.as_str() {
            "exempt" => i18n::text(lang, "exempt"),
            v => i18n::text(lang, v),
        };
        let _ = writeln!(md, "## {} — {} — {verdict}\n", tc.id, tc.title);
        if let Some(why) = &tc.exempt_reason {
            let _ = writeln!(md, "- {}: {}", i18n::text(lang, "exempt"), md_cell(why));
        }
        for r in &tc.reasons {
            let _ = writeln!(md, "- ✗ {}", md_cell(r));
        }
        if tc.id == "TC-INVIO-03"
            && let Some(line) = check_line(checks, "TC-INVIO-03.consume.retry-after")
        {
            let _ = writeln!(md, "- Retry-after: {line}");
        }
        if !tc.reasons.is_empty() || tc.id == "TC-INVIO-03" || tc.exempt_reason.is_some() {
            md.push('\n');
        }
        for sc in &tc.scenarios {
            let _ = writeln!(md, "### {} — {}\n", sc.name, sc.status);
            let facts = facts(&tc.id, sc);
            if facts.is_empty() {
                md.push_str("No evidence recorded.\n\n");
                continue;
            }
            let _ = writeln!(
                md,
                "- IUN: {}\n- notificationRequestId: {}\n",
                or_dash(&facts[0].iun),
                or_dash(&facts[0].notification_request_id)
            );
            md.push_str("| Kind | Timestamp | What | Stato | Detail | sha256 | File |\n");
            md.push_str("|---|---|---|---|---|---|---|\n");
            for f in &facts {
                let file = if f.file.is_empty() {
                    String::new()
                } else {
                    // summary.md sits in evidence/, next to the files.
                    let name = f.file.trim_start_matches("evidence/");
                    format!("[{name}]({name})")
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    f.kind,
                    md_cell(&f.timestamp),
                    md_cell(&f.what),
                    f.stato,
                    md_cell(&f.detail),
                    md_cell(&f.sha256),
                    file
                );
            }
            md.push('\n');
        }
    }
    md
}

pub fn write(
    dir: &std::path::Path,
    report: &RunReport,
    checks: &[Check],
) -> Result<(), super::error::ReportError> {
    let ev = dir.join(super::evidence::DIR);
    for (name, text) in [
        ("summary.md", markdown(report, checks)),
        ("summary.csv", csv(report)),
    ] {
        let path = ev.join(name);
        std::fs::write(&path, text).map_err(super::error::ReportError::io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_quotes_and_newlines_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("x\ny"), "\"x\ny\"");
    }
}
