//! `report.html`: one self-contained page (inline CSS, no script, nothing fetched) that reads
//! well on screen and printed on A4. English labels throughout; SEND's codes as SEND spells them.

use super::{RunReport, ScenarioReport, TcReport, Verdict};
use send_mock::checklist::engine::Check;
use serde_json::Value;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => esc(s),
        Value::Null => String::new(),
        other => esc(&other.to_string()),
    }
}

const CSS: &str = r#"
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1f24; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #c9d1d9; padding-bottom: 1mm; break-after: avoid; }
h3 { font-size: 11pt; margin: 5mm 0 1.5mm; break-after: avoid; }
h4 { font-size: 9.5pt; margin: 3mm 0 1mm; color: #444; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm; }
th, td { border: 1px solid #d0d7de; padding: 1mm 1.5mm; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f5f7; font-weight: 600; }
tr { break-inside: avoid; }
thead { display: table-header-group; }
.ts { white-space: nowrap; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 8pt; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 8.5pt; }
.badge { display: inline-block; white-space: nowrap; padding: 0 2mm; border-radius: 2mm; font-size: 8.5pt; font-weight: 600; text-transform: uppercase; }
.passed { background: #dafbe1; color: #116329; }
.failed { background: #ffebe9; color: #a40e26; }
.not-run, .skipped { background: #eaeef2; color: #57606a; }
.exempt { background: #ddf4ff; color: #0550ae; }
.verdict { font-size: 14pt; font-weight: 700; padding: 3mm 4mm; border-radius: 2mm; margin: 3mm 0; }
.reason { border-left: 3px solid #cf222e; background: #fff5f5; padding: 1.5mm 3mm; margin: 1mm 0 2mm; }
.flaky { border-left: 3px solid #bf8700; background: #fff8c5; padding: 1.5mm 3mm; margin: 1mm 0 2mm; }
.meta th { width: 32mm; }
ul.checks { list-style: none; padding-left: 4mm; margin: 0; }
ul.checks li { margin: 0.5mm 0; }
.ok { color: #116329; } .ko { color: #a40e26; }
footer { margin-top: 8mm; font-size: 8pt; color: #57606a; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"#;

fn badge(class: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", esc(class))
}

fn verdict_badge(v: Verdict) -> String {
    badge(v.as_str())
}

/// Renders the page. `files` are the evidence files written, relative to the report folder.
pub fn render(report: &RunReport, checks: &[Check], files: &[String]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>SEND onboarding report — {}</title><style>{CSS}</style></head><body>\n",
        esc(&report.ente.name)
    );
    header(&mut h, report);
    tc_table(&mut h, report);
    for tc in &report.test_cases {
        tc_section(&mut h, tc);
    }
    if !report.extras.is_empty() {
        h.push_str("<section id=\"extras\"><h2>Extra scenarios <small>(not part of the go-live verdict)</small></h2>\n");
        for s in &report.extras {
            scenario(&mut h, s);
        }
        h.push_str("</section>\n");
    }
    checklist(&mut h, checks);
    evidence_files(&mut h, files);
    let _ = write!(
        h,
        "<footer>Written by {} {} · report schema {}</footer>\n</body></html>\n",
        esc(report.tool.name),
        esc(report.tool.version),
        esc(report.schema_version)
    );
    h
}

fn header(h: &mut String, r: &RunReport) {
    let _ = write!(
        h,
        "<header><h1>SEND onboarding validation — {}</h1>\
         <table class=\"meta\"><tbody>\
         <tr><th>Ente</th><td>{} · tax id <span class=\"mono\">{}</span> · pagoPA integration {}</td></tr>\
         <tr><th>Target</th><td>{} · <span class=\"mono\">{}</span> · API {}</td></tr>\
         <tr><th>Run</th><td>{} → {} ({})</td></tr>\
         </tbody></table>",
        esc(&r.ente.name),
        esc(&r.ente.name),
        esc(&r.ente.tax_id),
        esc(&r.ente.pago_pa_int_mode),
        esc(&r.target.label),
        esc(&r.target.base_url),
        esc(&r.target.api_family),
        esc(&r.started_at),
        esc(&r.finished_at),
        super::duration(r.duration_ms)
    );
    let _ = write!(
        h,
        "<div class=\"verdict {}\" id=\"verdict\">Go-live: {}</div>",
        if r.go_live { "passed" } else { "failed" },
        if r.go_live {
            "all five test cases passed"
        } else {
            "NOT passed"
        }
    );
    for e in &r.errors {
        let _ = write!(h, "<p class=\"reason\">{}</p>", esc(e));
    }
    h.push_str("</header>\n");
}

fn tc_table(h: &mut String, r: &RunReport) {
    h.push_str(
        "<section id=\"test-cases\"><h2>Test cases</h2><table class=\"tcs\"><thead><tr>\
         <th>Test case</th><th>Verdict</th><th>Scenarios</th><th>Time</th><th>Reason</th>\
         </tr></thead><tbody>\n",
    );
    for tc in &r.test_cases {
        let passed = tc.scenarios.iter().filter(|s| s.passed()).count();
        let _ = writeln!(
            h,
            "<tr data-tc=\"{0}\"><td><a href=\"#{0}\">{0}</a><br>{1}</td><td>{2}</td><td>{3}/{4}</td><td>{5}</td><td>{6}</td></tr>",
            esc(&tc.id),
            esc(&tc.title),
            verdict_badge(tc.verdict),
            passed,
            tc.scenarios.len(),
            super::duration(tc.duration_ms),
            esc(tc.reasons.first().map_or("", String::as_str))
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn tc_section(h: &mut String, tc: &TcReport) {
    let _ = writeln!(
        h,
        "<section class=\"tc\" id=\"{}\"><h2>{} — {} {}</h2>",
        esc(&tc.id),
        esc(&tc.id),
        esc(&tc.title),
        verdict_badge(tc.verdict)
    );
    for r in &tc.reasons {
        let _ = writeln!(h, "<p class=\"reason\">{}</p>", esc(r));
    }
    if tc.verdict == Verdict::Exempt {
        h.push_str("<p>Exempt: the Ente integrates pagoPA asynchronously (pagoPaIntMode ASYNC); PagoPA accepts its report without the price checks.</p>");
    }
    for s in &tc.scenarios {
        scenario(h, s);
    }
    h.push_str("</section>\n");
}

fn scenario(h: &mut String, s: &ScenarioReport) {
    let _ = writeln!(
        h,
        "<article class=\"scenario\"><h3>{} {}</h3>",
        esc(&s.name),
        badge(&s.status)
    );
    if let Some(r) = s.reason() {
        let _ = writeln!(
            h,
            "<p class=\"reason\"><strong>Failed:</strong> {}</p>",
            esc(&r)
        );
    }
    if !s.earlier_failures.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"flaky\">Attempt {} of {}; earlier attempts failed: {}</p>",
            s.attempts,
            s.attempts,
            esc(&s.earlier_failures.join(" · "))
        );
    }
    h.push_str("<table class=\"steps\"><thead><tr><th style=\"width:22mm\">Status</th><th>Step</th><th style=\"width:16mm\">Time</th></tr></thead><tbody>");
    for st in &s.steps {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            badge(if st.status == "passed" {
                "passed"
            } else if st.status == "skipped" {
                "skipped"
            } else {
                "failed"
            }),
            esc(&st.text),
            st.error
                .as_ref()
                .map(|e| format!("<br><span class=\"ko\">{}</span>", esc(e)))
                .unwrap_or_default(),
            super::duration(st.duration_ms)
        );
    }
    h.push_str("</tbody></table>\n");
    scenario_evidence(h, s);
    h.push_str("</article>\n");
}

fn file_link(v: &Value, fallback: &Value) -> String {
    match v.as_str() {
        Some(path) => format!("<a href=\"{0}\">{1}</a>", esc(path), text(fallback)),
        None => text(fallback),
    }
}

fn scenario_evidence(h: &mut String, s: &ScenarioReport) {
    let ev = &s.evidence;
    if !ev.notification_request_ids.is_empty() || !ev.iuns.is_empty() {
        let _ = writeln!(
            h,
            "<p>notificationRequestId <span class=\"mono\">{}</span> · IUN <span class=\"mono\">{}</span></p>",
            esc(&ev.notification_request_ids.join(", ")),
            esc(&ev.iuns.join(", "))
        );
    }
    if !ev.status_history.is_empty() {
        h.push_str("<h4>Status history</h4><table><thead><tr><th>Status</th><th>Active from</th></tr></thead><tbody>");
        for st in &ev.status_history {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"ts\">{}</td></tr>",
                text(&st["status"]),
                text(&st["activeFrom"])
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !ev.timeline.is_empty() {
        h.push_str("<h4>Timeline</h4><table><thead><tr><th>Timestamp</th><th>Category</th><th>Legal facts</th></tr></thead><tbody>");
        for el in &ev.timeline {
            let facts: Vec<String> = el["legalFactsIds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|lf| {
                    let key = lf["key"].as_str().unwrap_or_default();
                    let key = key.trim_start_matches("safestorage://");
                    match ev.downloaded_fact(key) {
                        Some(d) => format!(
                            "{} {}",
                            text(&lf["category"]),
                            file_link(&d["file"], &d["key"])
                        ),
                        None => format!(
                            "{} <span class=\"mono\">{}</span>",
                            text(&lf["category"]),
                            esc(key)
                        ),
                    }
                })
                .collect();
            let _ = write!(
                h,
                "<tr><td class=\"ts\">{}</td><td>{}</td><td>{}</td></tr>",
                text(&el["timestamp"]),
                text(&el["category"]),
                facts.join("<br>")
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !ev.stream_events.is_empty() {
        h.push_str("<h4>Events received from the streams</h4><table><thead><tr><th>eventId</th><th>Timestamp</th><th>Category</th><th>New status</th></tr></thead><tbody>");
        for e in &ev.stream_events {
            let _ = write!(
                h,
                "<tr><td class=\"mono\">{}</td><td class=\"ts\">{}</td><td>{}</td><td>{}</td></tr>",
                text(&e["eventId"]),
                text(&e["timestamp"]),
                text(&e["category"]),
                text(&e["newStatus"])
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !ev.documents.is_empty() || !ev.legal_facts.is_empty() {
        h.push_str("<h4>Files downloaded and verified</h4><table><thead><tr><th>What</th><th>File</th><th>sha256</th><th>Bytes</th></tr></thead><tbody>");
        for d in &ev.documents {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                text(&d["name"]),
                file_link(&d["file"], &d["filename"]),
                text(&d["sha256"]),
                text(&d["size"])
            );
        }
        for d in &ev.legal_facts {
            let _ = write!(
                h,
                "<tr><td>legal fact {}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                text(&d["category"]),
                file_link(&d["file"], &d["key"]),
                text(&d["sha256"]),
                text(&d["size"])
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !ev.prices.is_empty() {
        h.push_str("<h4>Prices read</h4><table><thead><tr><th>Notice</th><th>Read by</th><th>totalPrice</th><th>partialPrice</th><th>sendFee</th><th>paFee</th><th>analogCost</th><th>vat</th><th>refinementDate</th></tr></thead><tbody>");
        for p in &ev.prices {
            let pr = &p["price"];
            let _ = write!(
                h,
                "<tr><td class=\"mono\">{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&p["creditorTaxId"]),
                text(&p["noticeCode"]),
                text(&p["readBy"]),
                text(&pr["totalPrice"]),
                text(&pr["partialPrice"]),
                text(&pr["sendFee"]),
                text(&pr["paFee"]),
                text(&pr["analogCost"]),
                text(&pr["vat"]),
                text(&pr["refinementDate"])
            );
        }
        h.push_str("</tbody></table>\n");
    }
    for n in &ev.notes {
        let _ = writeln!(h, "<p>Note: {}</p>", esc(n));
    }
}

fn checklist(h: &mut String, checks: &[Check]) {
    fn node(h: &mut String, c: &Check) {
        let _ = write!(
            h,
            "<li><span class=\"{}\">{}</span> {}{}",
            if c.ok { "ok" } else { "ko" },
            if c.ok { "✓" } else { "✗" },
            esc(&c.description),
            c.reason
                .as_ref()
                .map(|r| format!(" — <span class=\"ko\">{}</span>", esc(r)))
                .unwrap_or_default()
        );
        if !c.children.is_empty() {
            h.push_str("<ul class=\"checks\">");
            for ch in &c.children {
                node(h, ch);
            }
            h.push_str("</ul>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("<section id=\"checklist\"><h2>Checklist of this run's calls</h2><p>The checks of PagoPA's validator, computed from this run's transcript (<a href=\"checklistresult.json\">checklistresult.json</a> in the validator's shape).</p><ul class=\"checks\">");
    for c in checks {
        node(h, c);
    }
    h.push_str("</ul></section>\n");
}

fn evidence_files(h: &mut String, files: &[String]) {
    h.push_str("<section id=\"files\"><h2>Evidence files</h2><ul>");
    for f in files {
        let _ = write!(h, "<li><a href=\"{0}\">{0}</a></li>", esc(f));
    }
    h.push_str("</ul></section>\n");
}

pub fn write(
    dir: &std::path::Path,
    report: &RunReport,
    checks: &[Check],
    files: &[String],
) -> Result<(), String> {
    let path = dir.join("report.html");
    std::fs::write(&path, render(report, checks, files))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc("Comune <di> \"A&B\" 'x'"),
            "Comune &lt;di&gt; &quot;A&amp;B&quot; &#39;x&#39;"
        );
    }
}
