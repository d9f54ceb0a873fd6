//! The SEND onboarding conformance harness: the five test cases as Cucumber features, run
//! against the embedded mock, a mock URL or SEND's UAT, writing a per-Ente report.

pub mod client;
pub mod profile;
pub mod report;
pub mod steps;
pub mod target;
pub mod world;

use client::{ApiFamily, Secret, SendClient, transcript::Transcript};
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;
use profile::{EnteProfile, PagoPaIntMode};
use report::RunReport;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use target::Target;
use world::{RunContext, SendWorld};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub profile: EnteProfile,
    pub target: Target,
    pub family: ApiFamily,
    /// A Cucumber tag expression narrowing the scenarios.
    pub tags: Option<String>,
    pub report_dir: PathBuf,
    pub features: PathBuf,
    /// Print Cucumber's progress to the terminal.
    pub verbose: bool,
    /// How many times a failed scenario runs again (0: never).
    pub retries: usize,
}

/// What a run found: the report and where it was written.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub report_dir: PathBuf,
    pub report: RunReport,
}

impl RunOutcome {
    pub fn go_live(&self) -> bool {
        self.report.go_live
    }
    /// Every scenario run (extras included) passed.
    pub fn all_passed(&self) -> bool {
        let mut all = self.report.scenarios().peekable();
        all.peek().is_some() && all.all(|s| s.passed())
    }
}

/// The `features/` folder: next to the working directory, or the workspace's.
pub fn default_features() -> PathBuf {
    let here = PathBuf::from("features");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../features")
    }
}

/// The tag expression of a run: the user's, minus what cannot apply to this target or Ente.
fn tag_expression(opts: &RunOptions) -> Option<String> {
    let mut parts: Vec<String> = opts.tags.iter().map(|t| format!("({t})")).collect();
    if !opts.target.is_mock() {
        parts.push("not @mock-only".into());
    }
    if opts.profile.pago_pa_int_mode == PagoPaIntMode::ASYNC {
        parts.push("not @TC-COSTO-01".into());
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Runs the features for one Ente and writes its report under
/// `report_dir/<ente-slug>/<UTC timestamp>/`.
pub async fn run(opts: RunOptions) -> Result<RunOutcome, String> {
    let started = chrono::Utc::now();
    let profile = opts.profile.clone();
    let mock = match &opts.target {
        Target::Embedded => Some(target::start_embedded(&profile).await?),
        _ => None,
    };
    let base = match (&opts.target, &mock) {
        (Target::Embedded, Some(m)) => m.base_url(),
        (Target::Url(u), _) => u.clone(),
        _ => target::UAT_URL.to_string(),
    };
    let transcript = Transcript::default();
    let mut client = SendClient::new(&base, profile.api_key()?, opts.family, transcript.clone());
    if let Some(p) = &profile.pdnd {
        // The embedded mock is its own PDND: its token endpoint replaces PDND's.
        let token_url = if matches!(opts.target, Target::Embedded) {
            format!("{base}/mock/pdnd/token.oauth2")
        } else {
            p.token_url.clone()
        };
        let settings = client::pdnd::VoucherSettings {
            client_id: p.client_id.clone(),
            kid: p.kid.clone(),
            purpose_id: p.purpose_id.clone(),
            token_url,
            audience: p.audience.clone(),
        };
        client.minter = Some(Arc::new(client::pdnd::VoucherMinter::new(
            settings,
            &p.private_key()?,
            transcript.clone(),
        )?));
    }
    let creditor = match &opts.target {
        Target::Embedded => {
            Some(client.as_ente(Secret::new(target::embedded_creditor_key(&profile))))
        }
        _ => profile.creditor_api_key().map(|k| client.as_ente(k)),
    };
    let ctx = Arc::new(RunContext {
        profile: profile.clone(),
        target: opts.target.clone(),
        client,
        creditor,
        timing: opts.target.timing(),
        evidence: Mutex::new(Default::default()),
    });

    let stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
    let ente_dir = opts.report_dir.join(profile.slug());
    let mut out = ente_dir.join(&stamp);
    let mut n = 1;
    while out.exists() {
        n += 1;
        out = ente_dir.join(format!("{stamp}-{n}"));
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let collected = report::collect::Collected::default();
    let cucumber_json =
        std::fs::File::create(out.join("cucumber.json")).map_err(|e| e.to_string())?;

    let mut cli_opts: cli::Opts<_, _, _, cli::Empty> = cli::Opts::default();
    if let Some(expr) = tag_expression(&opts) {
        cli_opts.tags_filter = Some(expr.parse().map_err(|e| format!("--tags `{expr}`: {e}"))?);
    }
    let console = writer::Basic::raw(
        std::io::stdout(),
        writer::Coloring::Auto,
        if opts.verbose { 1 } else { 0 },
    );
    world::set_context(Some(ctx.clone()));
    let result = SendWorld::cucumber()
        .max_concurrent_scenarios(4)
        .retries(opts.retries)
        .retry_after(std::time::Duration::from_secs(1))
        .fail_on_skipped()
        .before(|feature, _rule, scenario, world| {
            let key = format!("{} / {}", feature.name, scenario.name);
            async move {
                world.scenario = key;
                world.reset_evidence();
            }
            .boxed_local()
        })
        .with_writer(
            console
                .summarized()
                .tee::<SendWorld, _>(
                    report::collect::Collector::new(collected.clone())
                        .discard_stats_writes()
                        .discard_arbitrary_writes(),
                )
                .tee::<SendWorld, _>(writer::Json::for_tee(cucumber_json))
                .normalized(),
        )
        .with_cli(cli_opts)
        .filter_run(&opts.features, |_, _, _| true)
        .await;
    drop(result);
    world::set_context(None);
    if let Some(m) = mock {
        m.stop().await;
    }

    let evidence = ctx
        .evidence
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let scenarios = collected
        .scenarios()
        .iter()
        .map(|r| report::scenario_report(r, &evidence))
        .collect();
    let exempt: Vec<&str> = if profile.pago_pa_int_mode == PagoPaIntMode::ASYNC {
        vec!["TC-COSTO-01"]
    } else {
        vec![]
    };
    let (test_cases, extras) = report::test_cases(scenarios, &exempt);
    let finished = chrono::Utc::now();
    let report = RunReport {
        schema_version: report::SCHEMA_VERSION,
        tool: report::Tool {
            name: "send-conformance",
            version: env!("CARGO_PKG_VERSION"),
        },
        target: report::TargetInfo {
            label: opts.target.label().to_string(),
            base_url: if matches!(opts.target, Target::Embedded) {
                "embedded".to_string()
            } else {
                target::without_credentials(&base)
            },
            api_family: opts.family.as_str().to_string(),
        },
        ente: report::EnteInfo {
            name: profile.name.clone(),
            tax_id: profile.tax_id.clone(),
            pago_pa_int_mode: format!("{:?}", profile.pago_pa_int_mode),
        },
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: (finished - started).num_milliseconds().max(0) as u64,
        go_live: report::go_live(&test_cases),
        vouchers_minted: ctx.client.minter.as_ref().map(|m| m.minted() as u64),
        test_cases,
        extras,
        errors: collected.parse_errors(),
    };
    write_report(&out, &report, &evidence, &transcript.snapshot(), &base)?;
    let latest = ente_dir.join("latest");
    let _ = std::fs::remove_file(&latest);
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(out.file_name().unwrap_or_default(), &latest);
    Ok(RunOutcome {
        report_dir: out,
        report,
    })
}

/// Writes every output of a run into `out` (cucumber.json is already there).
fn write_report(
    out: &Path,
    report: &RunReport,
    evidence: &world::Evidence,
    exchanges: &[client::transcript::Exchange],
    base: &str,
) -> Result<(), String> {
    report::evidence::write(out, exchanges, evidence)?;
    let checks = report::checklist::write(out, exchanges, base, &report.ente.tax_id)?;
    report::evidence::write_json(&out.join("report.json"), report)?;
    report::junit::write(out, report)?;
    report::summary::write(out, report, &checks)?;
    let mut files: Vec<String> = [
        "report.json",
        "junit.xml",
        "cucumber.json",
        "checklistresult.json",
        "checklist.json",
        "evidence/summary.md",
        "evidence/summary.csv",
        "evidence/transcript.jsonl",
    ]
    .map(String::from)
    .to_vec();
    let mut kept: Vec<String> = evidence
        .files
        .iter()
        .map(|(_, name, _)| report::evidence::relative_path(name))
        .collect();
    kept.sort();
    kept.dedup();
    files.extend(kept);
    report::html::write(out, report, &checks, &files)
}

/// Runs several Enti, at most `concurrency` at a time. Each run drives its own Cucumber on its
/// own thread (a run is not Send), so runs never share a context.
pub fn run_many(
    runs: Vec<RunOptions>,
    concurrency: usize,
) -> Vec<(EnteProfile, Result<RunOutcome, String>)> {
    let concurrency = concurrency.max(1);
    let mut results = Vec::new();
    for chunk in runs.chunks(concurrency) {
        let handles: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|opts| {
                std::thread::spawn(move || {
                    let profile = opts.profile.clone();
                    let outcome = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| format!("cannot start a runtime: {e}"))
                        .and_then(|rt| rt.block_on(run(opts)));
                    (profile, outcome)
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(r) => results.push(r),
                Err(_) => results.push((chunk[0].profile.clone(), Err("the run panicked".into()))),
            }
        }
    }
    results
}

/// The short table printed at the end of a run: TC, verdict, duration, and the report path.
pub fn summary_table(profile: &EnteProfile, o: &RunOutcome) -> String {
    let mut s = format!("\n{} ({})\n", profile.name, profile.tax_id);
    for v in &o.report.test_cases {
        s.push_str(&format!(
            "  {:<12} {:<8} {:>8}  {}\n",
            v.id,
            v.verdict.as_str(),
            report::duration(v.duration_ms),
            v.title
        ));
        for r in &v.reasons {
            s.push_str(&format!("                          ✗ {r}\n"));
        }
    }
    s.push_str(&format!(
        "  go-live: {}\n  report:  {}\n",
        if o.report.go_live { "YES" } else { "NO" },
        o.report_dir.join("report.html").display()
    ));
    let all: Vec<_> = o.report.scenarios().collect();
    let passed = all.iter().filter(|s| s.passed()).count();
    s.push_str(&format!("{passed} passed, {} failed\n", all.len() - passed));
    s
}
