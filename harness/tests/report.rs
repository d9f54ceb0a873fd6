//! The report a PT hands over: report.json (snapshots of a passing and a failing demo run),
//! junit.xml parsed back, report.html parsed, evidence/summary.*, the batch summary, and no
//! secret in any file a run writes.

use regex::Regex;
use send_conformance::profile::EnteProfile;
use send_conformance::target::Target;
use send_conformance::{RunOptions, RunOutcome, run_many};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;

use common::{DEMO, fixture};

fn options(profile: EnteProfile, dir: &Path) -> RunOptions {
    RunOptions::new(profile, Target::Embedded, dir)
}

/// Two full demo runs shared by the tests of this file: the PDND demo Ente, which passes, and
/// the demo Ente with an address SEND refuses, which fails.
struct Runs {
    _dir: tempfile::TempDir,
    root: PathBuf,
    passing: RunOutcome,
    failing: RunOutcome,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("reports");
        let passing = EnteProfile::load(&fixture("enti/demo-pdnd.toml")).unwrap();
        // Zip 00000 is refused by SEND's address normalisation.
        let failing =
            EnteProfile::parse(&DEMO.replacen("zip = \"00100\"", "zip = \"00000\"", 1)).unwrap();
        // The passing report in English, the failing one in Italian (the default).
        let passing = RunOptions {
            lang: send_conformance::report::i18n::Lang::En,
            ..options(passing, &root)
        };
        let mut results = run_many(vec![passing, options(failing, &root)], 2);
        send_conformance::report::batch::write(
            &root,
            &results,
            send_conformance::report::i18n::Lang::En,
        )
        .unwrap();
        let failing = results.pop().unwrap().1.unwrap();
        let passing = results.pop().unwrap().1.unwrap();
        Runs {
            _dir: dir,
            root,
            passing,
            failing,
        }
    })
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Replaces what changes from run to run (ids, times, keys, timings, what was read while the
/// clock ran) and keeps everything else.
fn redact(v: &mut Value) {
    fn strings(s: &str) -> String {
        static RULES: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
        let rules = RULES.get_or_init(|| {
            [
                (r"[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-\d{6}-[A-Z]-\d", "[IUN]"),
                (
                    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                    "[TIME]",
                ),
                (r"(PN_[A-Z_]+)-[0-9a-f]{32}", "$1-[KEY]"),
                (r"SC-[0-9a-f]{16}", "SC-[PROTOCOL]"),
                (r"\b\d{18}\b", "[NOTICE]"),
            ]
            .into_iter()
            .map(|(r, to)| (Regex::new(r).unwrap(), to))
            .collect()
        });
        rules.iter().fold(s.to_string(), |s, (re, to)| {
            re.replace_all(&s, *to).into_owned()
        })
    }
    match v {
        Value::String(s) => *s = strings(s),
        Value::Array(a) => a.iter_mut().for_each(redact),
        Value::Object(m) => {
            // Legal facts and the AAR carry dates and IUNs: their digest changes every run.
            let is_legal_fact = (m.contains_key("category") && m.contains_key("key"))
                || m.get("name").is_some_and(|n| n == "AAR");
            for (k, val) in m.iter_mut() {
                match k.as_str() {
                    "durationMs" => *val = Value::from(0),
                    // Per run and per build.
                    "runId" => *val = "[RUN-ID]".into(),
                    "commit" => *val = "[COMMIT]".into(),
                    "version" | "versionToken" | "idempotenceToken" | "eventId" => {
                        *val = "[REDACTED]".into()
                    }
                    "notificationRequestIds" | "notificationRequestId" => {
                        *val = match val {
                            Value::Array(a) => {
                                a.iter().map(|_| Value::from("[REQUEST-ID]")).collect()
                            }
                            _ => "[REQUEST-ID]".into(),
                        }
                    }
                    // Legal facts carry dates: their digest changes every run, their size not.
                    "sha256" if is_legal_fact => *val = "[SHA256]".into(),
                    // Read while the virtual clock ran: how much was seen depends on timing.
                    "timeline" | "statusHistory" | "streamEvents" => {
                        let n = val.as_array().map_or(0, Vec::len);
                        *val = if n == 0 {
                            Value::Array(vec![])
                        } else {
                            "[read at run time]".into()
                        };
                    }
                    _ => redact(val),
                }
            }
        }
        _ => {}
    }
}

#[test]
fn report_json_of_a_passing_demo_run() {
    let r = runs();
    let mut json = read_json(&r.passing.report_dir.join("report.json"));
    assert_eq!(json["goLive"], true);
    redact(&mut json);
    insta::assert_json_snapshot!("report_passing", json);
}

#[test]
fn report_json_of_a_failing_demo_run() {
    let r = runs();
    let mut json = read_json(&r.failing.report_dir.join("report.json"));
    assert_eq!(json["goLive"], false);
    redact(&mut json);
    insta::assert_json_snapshot!("report_failing", json);
}

#[test]
fn report_json_carries_what_each_tc_produced() {
    let json = read_json(&runs().passing.report_dir.join("report.json"));
    assert_eq!(json["schemaVersion"], "1.1");
    assert_eq!(json["target"]["kind"], "embedded");
    assert_eq!(json["evidence"]["validForGoLive"], false);
    assert_eq!(json["evidence"]["code"], "rehearsal");
    assert!(
        json["tool"]["commit"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(json["runId"].as_str().map(str::len), Some(36));
    let tcs = json["testCases"].as_array().unwrap();
    let ids: Vec<&str> = tcs.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "TC-INVIO-01",
            "TC-INVIO-02",
            "TC-INVIO-03",
            "TC-INVIO-04",
            "TC-COSTO-01"
        ]
    );
    for tc in tcs {
        assert_eq!(tc["verdict"], "passed", "{}", tc["id"]);
        for sc in tc["scenarios"].as_array().unwrap() {
            assert!(!sc["steps"].as_array().unwrap().is_empty());
            let ev = &sc["evidence"];
            assert_eq!(ev["iuns"].as_array().unwrap().len(), 1, "{}", sc["name"]);
            assert_eq!(ev["notificationRequestIds"].as_array().unwrap().len(), 1);
        }
    }
    assert_eq!(tcs[4]["scenarios"].as_array().unwrap().len(), 2);
    let invio04 = &tcs[3]["scenarios"][0]["evidence"];
    let facts = invio04["legalFacts"].as_array().unwrap();
    assert!(facts.len() >= 3, "{facts:?}");
    for f in facts.iter().chain(invio04["documents"].as_array().unwrap()) {
        let file = runs().passing.report_dir.join(f["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            bytes.len() as u64,
            f["size"].as_u64().unwrap(),
            "{}",
            file.display()
        );
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
        assert_eq!(f["sha256"], digest.as_str(), "{}", file.display());
    }
    let prices = tcs[4]["scenarios"][1]["evidence"]["prices"]
        .as_array()
        .unwrap();
    assert!(
        prices
            .iter()
            .any(|p| p["price"]["refinementDate"].is_string())
    );
}

#[test]
fn junit_has_one_suite_per_tc_and_names_the_failing_step() {
    let r = runs();
    let xml = std::fs::read_to_string(r.passing.report_dir.join("junit.xml")).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let suites: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites.len(), 6, "five TCs and the extras: {suites:?}");
    for (i, id) in [
        "TC-INVIO-01",
        "TC-INVIO-02",
        "TC-INVIO-03",
        "TC-INVIO-04",
        "TC-COSTO-01",
    ]
    .iter()
    .enumerate()
    {
        assert!(suites[i].starts_with(id), "{suites:?}");
    }
    assert_eq!(report.tests, r.passing.report.scenarios().count());
    assert_eq!(report.failures, 0);
    let costo = &report.test_suites[4];
    assert_eq!(costo.tests, 2);
    let names: Vec<&str> = costo.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Scenario 1 — the sender is the creditor",
            "Scenario 2 — the creditor is another Ente"
        ]
    );

    let xml = std::fs::read_to_string(r.failing.report_dir.join("junit.xml")).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let invio01 = &report.test_suites[0];
    assert_eq!((invio01.tests, invio01.failures), (1, 1));
    match &invio01.test_cases[0].status {
        quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
            let m = message.as_ref().unwrap().as_str();
            assert!(m.starts_with("Then SEND accepts the request"), "{m}");
            assert!(m.contains("NOT_VALID_ADDRESS"), "{m}");
        }
        other => panic!("TC-INVIO-01 should fail: {other:?}"),
    }
    let failed_scenarios = r.failing.report.scenarios().filter(|s| !s.passed()).count();
    assert_eq!(report.failures, failed_scenarios);
}

/// Every `href`/`src` of a page: none absolute, each a file that exists or an anchor on the page.
/// The page must parse as HTML5 without an error.
fn check_links(page: &Path) -> usize {
    let els = common::html::parse(&std::fs::read_to_string(page).unwrap());
    let ids: Vec<&str> = els.iter().filter_map(|e| e.attr("id")).collect();
    let mut links = 0;
    for e in &els {
        assert!(
            !["script", "link", "img", "iframe"].contains(&e.name.as_str()),
            "{} in {}",
            e.name,
            page.display()
        );
        for v in ["href", "src"].iter().filter_map(|a| e.attr(a)) {
            assert!(
                !v.contains("://") && !v.starts_with("//"),
                "{v} in {}",
                page.display()
            );
            links += 1;
            if let Some(anchor) = v.strip_prefix('#') {
                assert!(ids.contains(&anchor), "no #{anchor} in {}", page.display());
            } else {
                let target = page.parent().unwrap().join(v);
                assert!(target.is_file(), "{v} → {} is missing", target.display());
            }
        }
    }
    links
}

#[test]
fn report_html_is_self_contained_valid_html5_with_provenance_every_tc_and_working_links() {
    let r = runs();
    // Five TC anchors, eight report files, the checklist link, and the downloaded files.
    for (outcome, verdict, min_links) in [
        (
            &r.passing,
            "Rehearsal: all five test cases passed on the mock (not go-live evidence)",
            20,
        ),
        (
            &r.failing,
            "Prova generale: casi di test NON superati sul mock",
            14,
        ),
    ] {
        let page = outcome.report_dir.join("report.html");
        let html = std::fs::read_to_string(&page).unwrap();
        let els = common::html::parse(&html);
        assert_eq!(common::html::by_id(&els, "verdict").unwrap().text, verdict);
        // A mock run says it is no go-live evidence, first thing on the page.
        let banner = common::html::by_id(&els, "provenance").expect("the rehearsal banner");
        assert!(banner.text.contains("UAT"), "{}", banner.text);
        let rows: Vec<&str> = els.iter().filter_map(|e| e.attr("data-tc")).collect();
        assert_eq!(
            rows,
            [
                "TC-INVIO-01",
                "TC-INVIO-02",
                "TC-INVIO-03",
                "TC-INVIO-04",
                "TC-COSTO-01"
            ]
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no absolute URL at all"
        );
        // The extras come after the five TCs, folded.
        let extras = els
            .iter()
            .position(|e| e.attr("id") == Some("extras"))
            .unwrap();
        let last_tc = els.iter().rposition(|e| e.has_class("tc")).unwrap();
        assert!(extras > last_tc && els[extras].name == "details");
        let links = check_links(&page);
        assert!(links >= min_links, "{links} links");
    }
    // The failing page, in Italian, puts the reason first and SEND's labels beside its codes.
    let html = std::fs::read_to_string(r.failing.report_dir.join("report.html")).unwrap();
    let els = common::html::parse(&html);
    let reasons: Vec<&str> = els
        .iter()
        .filter(|e| e.has_class("reason"))
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        reasons.iter().any(|t| t.contains("NOT_VALID_ADDRESS")),
        "{reasons:?}"
    );
    assert!(html.contains("lang=\"it\""));
    let text = &els[0].text;
    for it in [
        "Casi di test",
        "Esito",
        "non superato",
        "Notifica senza pagamento",
    ] {
        assert!(text.contains(it), "{it} missing");
    }
    // The stream column tells the TIMELINE events from the STATUS ones.
    let html = std::fs::read_to_string(r.passing.report_dir.join("report.html")).unwrap();
    let els = common::html::parse(&html);
    let cells: Vec<&str> = els
        .iter()
        .filter(|e| e.name == "td")
        .map(|e| e.text.as_str())
        .collect();
    assert!(cells.contains(&"TIMELINE") && cells.contains(&"STATUS"));
    assert!(
        els[0].text.contains("one SEND day lasts 100 ms"),
        "the mock's clock is stated"
    );
}

#[test]
fn the_alternative_evidence_lists_ids_events_statuses_files_and_prices() {
    let dir = runs().passing.report_dir.join("evidence");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    for needle in [
        "## TC-INVIO-03",
        "Retry-after: ✓",
        "| status |",
        "| Consegnata |",
        "| event |",
        "| legal-fact |",
        "| price |",
        "totalPrice",
    ] {
        assert!(md.contains(needle), "summary.md lacks {needle}");
    }
    let iun = runs().passing.report.test_cases[0].scenarios[0]
        .evidence
        .iuns[0]
        .clone();
    assert!(md.contains(&iun));
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(send_conformance::report::summary::CSV_HEADER)
    );
    let kinds: std::collections::BTreeSet<&str> =
        lines.filter_map(|l| l.split(',').nth(2)).collect();
    for k in [
        "request",
        "status",
        "event",
        "legal-fact",
        "document",
        "price",
    ] {
        assert!(kinds.contains(k), "no {k} row: {kinds:?}");
    }
    // Links in summary.md point at files next to it.
    let link = Regex::new(r"\]\(([^)]+)\)").unwrap();
    let mut n = 0;
    for c in link.captures_iter(&md) {
        assert!(dir.join(&c[1]).is_file(), "{}", &c[1]);
        n += 1;
    }
    assert!(n >= 5, "{n} links");
}

#[test]
fn a_batch_writes_one_row_per_ente_with_a_link_to_its_report() {
    let r = runs();
    let s = read_json(&r.root.join("summary.json"));
    let enti = s["enti"].as_array().unwrap();
    assert_eq!(enti.len(), 2);
    assert_eq!(
        (s["goLive"].as_u64(), s["notReady"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(enti[0]["goLive"], true);
    assert_eq!(enti[1]["verdicts"]["TC-INVIO-01"], "failed");
    for e in enti {
        assert!(r.root.join(e["report"].as_str().unwrap()).is_file());
    }
    check_links(&r.root.join("summary.html"));
}

#[test]
fn no_file_of_a_run_holds_a_key_or_a_voucher() {
    let r = runs();
    let jwt = Regex::new(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}").unwrap();
    let private_key = std::fs::read_to_string(fixture("pdnd/test-client.key")).unwrap();
    let key_line = private_key.lines().nth(1).unwrap().to_string();
    let secrets = [
        "demo-pdnd-api-key",
        "demo-api-key",
        "creditor-77777777777",
        key_line.as_str(),
    ];
    let mut files = 0;
    let mut stack = vec![r.root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
                continue;
            }
            if p.is_symlink() {
                continue;
            }
            files += 1;
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            for s in secrets {
                assert!(!text.contains(s), "{} holds {s}", p.display());
            }
            assert!(
                !jwt.is_match(&text),
                "{} holds a JWT (voucher or assertion)",
                p.display()
            );
        }
    }
    assert!(files > 20, "{files} files checked");
    // The PDND run did use vouchers: the redaction is what keeps them out.
    assert!(r.passing.report.vouchers_minted.unwrap_or(0) >= 1);
}
