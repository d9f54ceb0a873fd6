//! The proxy's page (live, and as `report.html`) and its report folder.

use super::{Finished, OtherKeyCall, ProxyError, ProxyState};
use crate::client::transcript::Exchange;
use crate::report::error::ReportError;
use crate::report::i18n::{Lang, Texts, texts_of};
use crate::report::{EvidenceValidity, Tool};
use send_checklist::{Check, validator_shape};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;

const TEMPLATE: &str = include_str!("../../templates/proxy.html");

/// The page's fixed texts.
const TEXTS: &Texts = &[
    (
        "title",
        "Collaudo SEND del software del PT",
        "SEND onboarding: the PT's own software",
    ),
    ("ente", "Ente", "Ente"),
    ("upstream", "Ambiente", "Environment"),
    ("calls_of", "Chiamate", "Calls"),
    (
        "calls_of_text",
        "effettuate dal software del Partner Tecnologico, registrate da send-conformance proxy e inoltrate senza modifiche",
        "made by the Technology Partner's own software, recorded by send-conformance proxy and forwarded unchanged",
    ),
    ("period", "Periodo", "Period"),
    ("tool", "Strumento", "Tool"),
    ("validity", "Valore come evidenza", "Worth as evidence"),
    (
        "live",
        "Pagina aggiornata a ogni chiamata: ricaricarla. Il report si scrive con POST /_conformance/finish, SIGINT o SIGTERM.",
        "This page follows the calls as they arrive: reload it. The report is written on POST /_conformance/finish, SIGINT or SIGTERM.",
    ),
    (
        "checklist",
        "Checklist dei test case",
        "Test-case checklist",
    ),
    ("exempt", "non applicabile", "not applicable"),
    ("calls", "chiamate", "calls"),
    (
        "other_key",
        "Chiamate con un'altra chiave",
        "Calls made with another key",
    ),
    (
        "other_key_text",
        "Chiamate fatte con una x-api-key diversa da quella dell'Ente (e del creditore): registrate, escluse dalla checklist dell'Ente.",
        "Calls made with an x-api-key other than the Ente's (and its creditor's): recorded, left out of the Ente's checklist.",
    ),
    ("method", "Metodo", "Method"),
    ("path", "Percorso", "Path"),
    ("key", "Chiave", "Key"),
    ("transcript", "Registro delle chiamate", "Call transcript"),
    (
        "transcript_text",
        "Il numero di ogni chiamata è quello citato dalla checklist e la riga di evidence/transcript.jsonl; chiavi, voucher e firme degli URL prefirmati sono oscurati.",
        "Each call's number is the one the checklist cites and its line in evidence/transcript.jsonl; keys, vouchers and presigned signatures are redacted.",
    ),
    ("time", "Ora (UTC)", "Time (UTC)"),
];

/// Why a proxy run is, or is not, go-live evidence, in the page's language.
fn validity_text(lang: Lang, v: &EvidenceValidity) -> String {
    match (lang, v.code) {
        (Lang::It, "valid") => "valida per il go-live: UAT di SEND, ogni test case superato dalle chiamate del software del PT".into(),
        (Lang::It, "not-passed") => "non valida: UAT di SEND, ma non ogni test case è superato".into(),
        (Lang::It, _) => "non valida per il go-live: prova su un mock, non sulla UAT di SEND".into(),
        (Lang::En, "valid") => "valid for go-live: SEND's UAT, every test case passed by the PT's own software's calls".into(),
        (Lang::En, _) => v.why.clone(),
    }
}

/// What one moment of the proxy shows: its calls, their checklist, its verdict.
struct View {
    exchanges: Vec<Exchange>,
    other: Vec<OtherKeyCall>,
    checks: Vec<Check>,
    ok: bool,
    validity: EvidenceValidity,
    generated: String,
}

fn view(st: &ProxyState) -> View {
    let (exchanges, other) = st.snapshot();
    let checks = st.checks(&exchanges, &other);
    let ok = checks.iter().all(|c| c.ok);
    let validity = proxy_validity(st.upstream.kind, ok);
    View {
        exchanges,
        other,
        checks,
        ok,
        validity,
        generated: now(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// As a harness run's, with the calls named as the PT's software's.
fn proxy_validity(kind: &str, ok: bool) -> EvidenceValidity {
    let mut v = EvidenceValidity::of(kind, ok);
    v.why = match v.code {
        "valid" => "every test case passed by the PT's own software's calls, recorded on their way to SEND's UAT".into(),
        "not-passed" => "recorded on the way to SEND's UAT, but the PT's software's calls do not pass every test case".into(),
        _ => "a rehearsal through a mock, not SEND's UAT: PagoPA accepts only calls made to UAT as go-live evidence".into(),
    };
    v
}

fn upstream_json(st: &ProxyState) -> Value {
    let label = match st.upstream.kind {
        "uat" => "SEND UAT",
        _ => "mock at URL",
    };
    json!({"kind": st.upstream.kind, "label": label, "baseUrl": st.upstream.base})
}

fn render_view(st: &ProxyState, v: &View, final_: bool) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    let (tree, tree_text) = send_checklist::TREE_TEMPLATE;
    env.add_template(tree, tree_text)
        .map_err(ReportError::template("checklist tree template"))?;
    env.add_template("proxy.html", TEMPLATE)
        .map_err(ReportError::template("proxy template"))?;
    let ctx = json!({
        "lang": st.lang.code(),
        "t": texts_of(TEXTS, st.lang),
        "ente": {"name": st.profile.name, "taxId": st.profile.tax_id},
        "upstream": upstream_json(st),
        "started": st.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "generated": v.generated,
        "tool": Tool::this(),
        "run_id": st.run_id,
        "validity": v.validity,
        "validity_text": validity_text(st.lang, &v.validity),
        "final": final_,
        "checks": v.checks,
        "other_key": v.other,
        "exchanges": v.exchanges,
    });
    env.get_template("proxy.html")
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(ReportError::template("proxy.html"))
}

/// The live page.
pub fn render(st: &ProxyState, final_: bool) -> Result<String, ReportError> {
    render_view(st, &view(st), final_)
}

/// `checklistresult.json`: the validator's tree, and whose calls, where and when.
fn result_file(st: &ProxyState, v: &View) -> Value {
    let mut shape = validator_shape(&v.checks);
    shape["ente"] = json!({"name": st.profile.name, "taxId": st.profile.tax_id});
    shape["target"] = json!({"kind": st.upstream.kind, "baseUrl": st.upstream.base});
    shape["generatedAt"] = json!(v.generated);
    shape["tool"] = json!(Tool::this());
    shape["runId"] = json!(st.run_id);
    shape["calls"] = json!(format!(
        "the PT's own software's calls, recorded by send-conformance proxy from {} to {}",
        st.started
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        v.generated
    ));
    shape["otherKeyCalls"] = json!(v.other.len());
    shape["evidence"] = json!(v.validity);
    shape
}

/// `evidence/summary.md`: the verdict per test case and the failing checks' reasons.
fn summary(st: &ProxyState, v: &View) -> String {
    let it = st.lang == Lang::It;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {} — {} ({})\n",
        if it {
            "Collaudo SEND del software del PT"
        } else {
            "SEND onboarding: the PT's own software"
        },
        st.profile.name,
        st.profile.tax_id
    );
    let _ = writeln!(
        s,
        "- {}: {} `{}`",
        if it { "Ambiente" } else { "Environment" },
        st.upstream.kind,
        st.upstream.base
    );
    let _ = writeln!(
        s,
        "- {}: {}",
        if it {
            "Chiamate registrate"
        } else {
            "Calls recorded"
        },
        v.exchanges.len()
    );
    let _ = writeln!(
        s,
        "- {}: {}",
        if it {
            "Con un'altra chiave"
        } else {
            "With another key"
        },
        v.other.len()
    );
    let _ = writeln!(
        s,
        "- {}: {}\n",
        if it { "Evidenza" } else { "Evidence" },
        validity_text(st.lang, &v.validity)
    );
    for tc in &v.checks {
        let mark = match (&tc.exempt, tc.ok) {
            (Some(_), _) => "–",
            (None, true) => "✓",
            (None, false) => "✗",
        };
        let _ = writeln!(s, "## {mark} {}\n", tc.id);
        if let Some(why) = &tc.exempt {
            let _ = writeln!(s, "{why}\n");
        }
        if tc.ok && tc.exempt.is_none() {
            let _ = writeln!(
                s,
                "{}",
                if it {
                    "Ogni controllo superato."
                } else {
                    "Every check held."
                }
            );
        }
        failing_leaves(&tc.children, &mut s);
        s.push('\n');
    }
    s
}

fn failing_leaves(checks: &[Check], out: &mut String) {
    for c in checks {
        if c.children.is_empty() && !c.ok {
            let _ = writeln!(
                out,
                "- ✗ {}: {}",
                c.description,
                c.reason.as_deref().unwrap_or("")
            );
        }
        failing_leaves(&c.children, out);
    }
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), ProxyError> {
    Ok(std::fs::write(path, bytes).map_err(ReportError::io(path))?)
}

fn json_bytes(v: &impl serde::Serialize) -> Result<Vec<u8>, ProxyError> {
    let what = "checklist".to_string();
    Ok(serde_json::to_vec_pretty(v).map_err(|source| ReportError::Json { what, source })?)
}

/// Writes `report_dir/<ente>/<UTC timestamp>-proxy/`.
pub fn write_report(st: &ProxyState) -> Result<Finished, ProxyError> {
    let v = view(st);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let ente_dir = st.report_dir.join(st.profile.slug());
    let mut out = ente_dir.join(format!("{stamp}-proxy"));
    let mut n = 1;
    while out.exists() {
        n += 1;
        out = ente_dir.join(format!("{stamp}-proxy-{n}"));
    }
    let evidence = out.join("evidence");
    std::fs::create_dir_all(&evidence).map_err(ReportError::io(&evidence))?;
    let mut lines = String::new();
    for x in &v.exchanges {
        let line = serde_json::to_string(x).map_err(|source| ReportError::Json {
            what: "transcript.jsonl".into(),
            source,
        })?;
        lines.push_str(&line);
        lines.push('\n');
    }
    write(&evidence.join("transcript.jsonl"), lines)?;
    write(&evidence.join("summary.md"), summary(st, &v))?;
    let checklist = json!({
        "ente": {"name": st.profile.name, "taxId": st.profile.tax_id},
        "ok": v.ok,
        "checks": v.checks,
        "otherKeyCalls": v.other,
    });
    write(&out.join("checklist.json"), json_bytes(&checklist)?)?;
    write(
        &out.join("checklistresult.json"),
        json_bytes(&result_file(st, &v))?,
    )?;
    write(&out.join("report.html"), render_view(st, &v, true)?)?;
    Ok(Finished {
        report_dir: out,
        files: [
            "report.html",
            "checklist.json",
            "checklistresult.json",
            "evidence/summary.md",
            "evidence/transcript.jsonl",
        ]
        .map(String::from)
        .to_vec(),
        ok: v.ok,
        valid_for_go_live: v.validity.valid_for_go_live,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_text_has_both_languages_and_keys_are_unique() {
        crate::report::i18n::assert_complete(super::TEXTS);
    }
}
