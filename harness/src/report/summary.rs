//! `evidence/summary.md` and `evidence/summary.csv`: the "alternative evidence" PagoPA's
//! onboarding desk accepts per TC when no validator report is attached — the request ids and
//! IUNs, the events received with their timestamps, the status history with SEND's Italian
//! labels, the documents and legal facts downloaded with their sha256, the prices read.

use super::{RunReport, ScenarioReport};
use send_mock::checklist::engine::Check;
use serde_json::Value;
use std::fmt::Write as _;

/// The label SEND's PA portal shows for a status. Source: PagoPA's "Manuale operativo",
/// section "Informazione di stato sintetica"; IN_VALIDATION, REFUSED and RETURNED_TO_SENDER
/// are not in that list and carry the portal's wording for them.
pub fn stato(status: &str) -> &'static str {
    match status {
        "IN_VALIDATION" => "In validazione",
        "ACCEPTED" => "Depositata",
        "REFUSED" => "Rifiutata",
        "DELIVERING" => "Invio in corso",
        "DELIVERED" => "Consegnata",
        "VIEWED" => "Visualizzata",
        "EFFECTIVE_DATE" => "Perfezionata per decorrenza termini",
        "PAID" => "Pagata",
        "UNREACHABLE" => "Irreperibile",
        "CANCELLED" => "Annullata",
        "RETURNED_TO_SENDER" => "Restituita al mittente",
        _ => "",
    }
}

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

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The facts of one scenario, in the order a reviewer checks them.
pub fn facts(tc: &str, sc: &ScenarioReport) -> Vec<Fact> {
    let ev = &sc.evidence;
    let iun = ev.iuns.first().cloned().unwrap_or_default();
    let rid = ev
        .notification_request_ids
        .first()
        .cloned()
        .unwrap_or_default();
    let fact = |kind, timestamp: String, what: String, detail: String| Fact {
        tc: tc.into(),
        scenario: sc.name.clone(),
        kind,
        iun: iun.clone(),
        notification_request_id: rid.clone(),
        timestamp,
        what,
        stato: "",
        detail,
        sha256: String::new(),
        file: String::new(),
    };
    let mut out = Vec::new();
    for (i, r) in ev.requests.iter().enumerate() {
        let mut f = fact(
            "request",
            String::new(),
            s(&r["paProtocolNumber"]),
            format!(
                "subject \"{}\"; {} recipient(s); {}",
                s(&r["subject"]),
                r["recipients"].as_array().map_or(0, Vec::len),
                s(&r["physicalCommunicationType"])
            ),
        );
        f.notification_request_id = ev
            .notification_request_ids
            .get(i)
            .cloned()
            .unwrap_or_default();
        out.push(f);
        for d in r["documents"].as_array().into_iter().flatten() {
            let mut f = fact(
                "request",
                String::new(),
                format!("document {}", s(&d["title"])),
                format!("key {}", s(&d["ref"]["key"])),
            );
            f.sha256 = s(&d["digests"]["sha256"]);
            out.push(f);
        }
        for rec in r["recipients"].as_array().into_iter().flatten() {
            for p in rec["payments"].as_array().into_iter().flatten() {
                let pa = &p["pagoPa"];
                let mut f = fact(
                    "request",
                    String::new(),
                    "pagoPA payment".into(),
                    format!(
                        "creditorTaxId {}, noticeCode {}, applyCost {}",
                        s(&pa["creditorTaxId"]),
                        s(&pa["noticeCode"]),
                        s(&pa["applyCost"])
                    ),
                );
                f.sha256 = s(&pa["attachment"]["digests"]["sha256"]);
                out.push(f);
            }
        }
    }
    for h in &ev.status_history {
        let status = s(&h["status"]);
        let mut f = fact("status", s(&h["activeFrom"]), status.clone(), String::new());
        f.stato = stato(&status);
        out.push(f);
    }
    for e in &ev.stream_events {
        let status = s(&e["newStatus"]);
        let mut f = fact(
            "event",
            s(&e["timestamp"]),
            s(&e["category"]),
            format!("eventId {}", s(&e["eventId"])),
        );
        if !status.is_empty() {
            f.detail.push_str(&format!("; newStatus {status}"));
            f.stato = stato(&status);
        }
        out.push(f);
    }
    // Every timeline element that references a document, with the file downloaded for it.
    for (el, lf, key) in ev.timeline_facts() {
        let got = ev.downloaded_fact(key);
        let mut f = fact(
            "legal-fact",
            s(&el["timestamp"]),
            s(&el["category"]),
            format!(
                "{} {key}{}",
                s(&lf["category"]),
                if got.is_some() {
                    ""
                } else {
                    " (not downloaded)"
                }
            ),
        );
        if let Some(d) = got {
            f.sha256 = s(&d["sha256"]);
            f.file = s(&d["file"]);
        }
        out.push(f);
    }
    for d in &ev.legal_facts {
        let listed = ev.timeline_facts().any(|(_, _, key)| d["key"] == key);
        if !listed {
            let mut f = fact(
                "legal-fact",
                String::new(),
                s(&d["category"]),
                format!("{} ({} bytes)", s(&d["key"]), s(&d["size"])),
            );
            f.sha256 = s(&d["sha256"]);
            f.file = s(&d["file"]);
            out.push(f);
        }
    }
    for d in &ev.documents {
        let mut f = fact(
            "document",
            String::new(),
            s(&d["name"]),
            format!("{} ({} bytes)", s(&d["filename"]), s(&d["size"])),
        );
        f.sha256 = s(&d["sha256"]);
        f.file = s(&d["file"]);
        out.push(f);
    }
    let sent_at = ev
        .status_history
        .first()
        .map(|h| s(&h["activeFrom"]))
        .unwrap_or_default();
    for p in &ev.prices {
        let pr = &p["price"];
        out.push(fact(
            "price",
            s(&pr["refinementDate"]),
            format!("notice {}", s(&p["noticeCode"])),
            format!(
                "validation requested {sent_at}; refinement {}; totalPrice {}, partialPrice {}, sendFee {}, paFee {}, analogCost {}, vat {}; read by {}",
                match s(&pr["refinementDate"]) {
                    r if r.is_empty() => "not yet".to_string(),
                    r => r,
                },
                s(&pr["totalPrice"]),
                s(&pr["partialPrice"]),
                s(&pr["sendFee"]),
                s(&pr["paFee"]),
                s(&pr["analogCost"]),
                s(&pr["vat"]),
                s(&p["readBy"])
            ),
        ));
    }
    for n in &ev.notes {
        out.push(fact("note", String::new(), String::new(), n.clone()));
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

pub fn markdown(report: &RunReport, checks: &[Check]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Evidence of the SEND test cases — {} ({})\n",
        report.ente.name, report.ente.tax_id
    );
    let _ = writeln!(
        md,
        "Target: {} ({}), API {} · run {} → {} · {} {}\n",
        report.target.label,
        report.target.base_url,
        report.target.api_family,
        report.started_at,
        report.finished_at,
        report.tool.name,
        report.tool.version
    );
    let _ = writeln!(
        md,
        "Go-live verdict: **{}**. Status labels (Stato) are SEND's, in Italian. Every file \
         listed is in this folder, checked against the sha256 SEND announced.\n",
        if report.go_live {
            "passed"
        } else {
            "not passed"
        }
    );
    for tc in &report.test_cases {
        let _ = writeln!(
            md,
            "## {} — {} — {}\n",
            tc.id,
            tc.title,
            tc.verdict.as_str()
        );
        for r in &tc.reasons {
            let _ = writeln!(md, "- ✗ {}", md_cell(r));
        }
        if tc.id == "TC-INVIO-03"
            && let Some(line) = check_line(checks, "TC-INVIO-03.retry-after")
        {
            let _ = writeln!(md, "- Retry-after: {line}");
        }
        if !tc.reasons.is_empty() || tc.id == "TC-INVIO-03" {
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

pub fn write(dir: &std::path::Path, report: &RunReport, checks: &[Check]) -> Result<(), String> {
    let ev = dir.join(super::evidence::DIR);
    for (name, text) in [
        ("summary.md", markdown(report, checks)),
        ("summary.csv", csv(report)),
    ] {
        let path = ev.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
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

    #[test]
    fn every_status_of_the_spec_has_its_italian_label() {
        for st in [
            "IN_VALIDATION",
            "ACCEPTED",
            "REFUSED",
            "DELIVERING",
            "DELIVERED",
            "VIEWED",
            "EFFECTIVE_DATE",
            "PAID",
            "UNREACHABLE",
            "CANCELLED",
            "RETURNED_TO_SENDER",
        ] {
            assert!(!stato(st).is_empty(), "{st}");
        }
        assert_eq!(stato("DELIVERED"), "Consegnata");
        assert_eq!(stato("NOT_A_STATUS"), "");
    }
}
