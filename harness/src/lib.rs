//! The SEND onboarding conformance harness: the five test cases as Cucumber features, run
//! against the embedded mock, a mock URL or SEND's UAT, writing a per-Ente report.

pub mod client;
pub mod preflight;
pub mod profile;
pub mod proxy;
pub mod report;
pub mod steps;
pub mod target;
pub mod world;

use client::{ApiFamily, Secret, SendClient, transcript::Transcript};
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, cli, gherkin, writer};
use futures::FutureExt as _;
use profile::{EnteProfile, PagoPaIntMode};
use report::RunReport;
use send_mock::MockServer;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use target::{Target, Timing};
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
    /// How long a wait may last; by default 45 SEND days on the target's clock.
    pub deadline: Option<Duration>,
    /// The language of report.html and summary.md.
    pub lang: report::i18n::Lang,
}

impl RunOptions {
    /// Every scenario of `features/` for `profile` against `target`, the current API family,
    /// reports under `report_dir`.
    pub fn new(profile: EnteProfile, target: Target, report_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            profile,
            target,
            family: ApiFamily::Current,
            tags: None,
            report_dir: report_dir.into(),
            features: default_features(),
            verbose: false,
            retries: 0,
            deadline: None,
            lang: report::i18n::Lang::It,
        }
    }

    pub fn tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }
}

/// Why a run could not start (or could not write its report): no test case was judged.
#[derive(Debug, thiserror::Error)]
pub enum CannotRun {
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
    #[error(transparent)]
    Pdnd(#[from] client::pdnd::PdndError),
    #[error(transparent)]
    Target(#[from] target::TargetError),
    #[error("preflight: {0}")]
    Preflight(#[from] preflight::PreflightError),
    #[error(transparent)]
    Tags(#[from] TagsError),
    #[error("report: {0}")]
    Report(#[from] report::error::ReportError),
}

/// Why `--tags` cannot select the scenarios to run.
#[derive(Debug, thiserror::Error)]
pub enum TagsError {
    #[error("--tags `{tags}`: not a tag expression ({reason})")]
    NotAnExpression { tags: String, reason: String },
    #[error("--tags `{tags}`: {reason}")]
    Rejected { tags: String, reason: String },
    #[error("{}: {source}", path.display())]
    Features {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Feature { path: PathBuf, reason: String },
    #[error("--tags `{tags}` selects no scenario; the features' tags are {known}")]
    SelectsNothing { tags: String, known: String },
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

/// Checks that `tags` selects at least one scenario of `features`; the error names the tags
/// the features have.
pub fn check_tags(features: &Path, tags: &str) -> Result<(), TagsError> {
    let expr: gherkin::tagexpr::TagOperation =
        tags.parse().map_err(|e| TagsError::NotAnExpression {
            tags: tags.to_string(),
            reason: format!("{e}"),
        })?;
    let mut all_tags = std::collections::BTreeSet::new();
    let mut selected = 0;
    for f in feature_files(features)? {
        let feature =
            gherkin::Feature::parse_path(&f, gherkin::GherkinEnv::default()).map_err(|e| {
                TagsError::Feature {
                    path: f.clone(),
                    reason: e.to_string(),
                }
            })?;
        let scenarios = feature.scenarios.iter().map(|s| (None, s)).chain(
            feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
        );
        for (rule, sc) in scenarios {
            let tags: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.into_iter().flat_map(|r| r.tags.iter()))
                .chain(sc.tags.iter())
                .collect();
            all_tags.extend(tags.iter().map(|t| format!("@{t}")));
            selected += usize::from(expr.eval(tags.iter()));
        }
    }
    if selected == 0 {
        let known: Vec<String> = all_tags.into_iter().collect();
        return Err(TagsError::SelectsNothing {
            tags: tags.to_string(),
            known: known.join(", "),
        });
    }
    Ok(())
}

fn feature_files(dir: &Path) -> Result<Vec<PathBuf>, TagsError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| TagsError::Features {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs the features for one Ente and writes its report under
/// `report_dir/<ente-slug>/<UTC timestamp>/`. Nothing is judged, and no report written, when
/// the target cannot be used (`Err`).
pub async fn run(opts: RunOptions) -> Result<RunOutcome, CannotRun> {
    let started = chrono::Utc::now();
    target::refuse_demo_on_uat(&opts.profile, &opts.target)?;
    if let Some(t) = &opts.tags {
        check_tags(&opts.features, t)?;
    }
    let mock = match &opts.target {
        Target::Embedded => Some(target::start_embedded(&opts.profile).await?),
        _ => None,
    };
    let result = run_against(&opts, mock.as_ref(), started).await;
    if let Some(m) = mock {
        m.stop().await;
    }
    result
}

/// The SEND base URL of the target.
fn base_url(target: &Target, mock: Option<&MockServer>) -> String {
    match (target, mock) {
        (Target::Url(u), _) => u.clone(),
        (_, Some(m)) => m.base_url(),
        _ => target::UAT_URL.to_string(),
    }
}

/// The Ente's client for the target, with its PDND voucher minter when it has one.
fn client_for(
    opts: &RunOptions,
    base: &str,
    transcript: &Transcript,
) -> Result<SendClient, CannotRun> {
    let profile = &opts.profile;
    let key = profile.api_key()?;
    let mut client = SendClient::new(base, key, opts.family, transcript.clone());
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
        let key = p.private_key()?;
        let minter = client::pdnd::VoucherMinter::new(settings, &key, transcript.clone())?;
        client.minter = Some(Arc::new(minter));
    }
    Ok(client)
}

/// The run once the target is up: preflight, the clock, the scenarios, the report.
async fn run_against(
    opts: &RunOptions,
    mock: Option<&MockServer>,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<RunOutcome, CannotRun> {
    let profile = &opts.profile;
    let base = base_url(&opts.target, mock);
    let transcript = Transcript::default();
    let client = client_for(opts, &base, &transcript)?;
    preflight::check(&client).await?;
    let clock = preflight::clock(&client, &opts.target).await;
    let creditor = match &opts.target {
        Target::Embedded => {
            Some(client.as_ente(Secret::new(target::embedded_creditor_key(profile))))
        }
        _ => profile.creditor_api_key().map(|k| client.as_ente(k)),
    };
    let ctx = Arc::new(RunContext {
        profile: profile.clone(),
        target: opts.target.clone(),
        client,
        creditor,
        timing: Timing::for_clock(clock, opts.deadline),
        evidence: Mutex::new(Default::default()),
        run_id: uuid::Uuid::new_v4().to_string(),
    });
    let (ente_dir, out) = report_folder(&opts.report_dir, profile, started)?;
    let collected = run_features(opts, ctx.clone(), &out).await?;
    let report = build_report(opts, &ctx, &collected, &base, started);
    let evidence = ctx
        .evidence
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
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

/// A fresh `report_dir/<ente>/<UTC timestamp>[-n]/` (and the Ente's folder).
fn report_folder(
    report_dir: &Path,
    profile: &EnteProfile,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<(PathBuf, PathBuf), CannotRun> {
    let stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
    let ente_dir = report_dir.join(profile.slug());
    let mut out = ente_dir.join(&stamp);
    let mut n = 1;
    while out.exists() {
        n += 1;
        out = ente_dir.join(format!("{stamp}-{n}"));
    }
    std::fs::create_dir_all(&out).map_err(report::error::ReportError::io(&out))?;
    Ok((ente_dir, out))
}

/// Scenarios of one Ente that may run at once: all of them, so a run lasts about as long as
/// its longest scenario (each waits on SEND's clock, not on the machine).
const CONCURRENT_SCENARIOS: usize = 32;

/// Runs the features with `ctx` as every World's context; returns what the collector kept.
async fn run_features(
    opts: &RunOptions,
    ctx: Arc<RunContext>,
    out: &Path,
) -> Result<report::collect::Collected, CannotRun> {
    let collected = report::collect::Collected::default();
    let cucumber_json = std::fs::File::create(out.join("cucumber.json"))
        .map_err(report::error::ReportError::io(out))?;
    let mut cli_opts: cli::Opts<_, _, _, cli::Empty> = cli::Opts::default();
    if let Some(expr) = tag_expression(opts) {
        cli_opts.tags_filter = Some(expr.parse().map_err(|e| TagsError::Rejected {
            tags: expr.clone(),
            reason: format!("{e}"),
        })?);
    }
    let console = writer::Basic::raw(
        std::io::stdout(),
        writer::Coloring::Auto,
        if opts.verbose { 1 } else { 0 },
    );
    world::set_context(Some(ctx));
    let result = SendWorld::cucumber()
        .max_concurrent_scenarios(CONCURRENT_SCENARIOS)
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
    Ok(collected)
}

/// The report model of a finished run.
fn build_report(
    opts: &RunOptions,
    ctx: &RunContext,
    collected: &report::collect::Collected,
    base: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> RunReport {
    let profile = &opts.profile;
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
    let exempt: Vec<(&str, &str)> = if profile.pago_pa_int_mode == PagoPaIntMode::ASYNC {
        vec![("TC-COSTO-01", report::ASYNC_EXEMPTION)]
    } else {
        vec![]
    };
    let (test_cases, extras) = report::test_cases(scenarios, &exempt);
    let finished = chrono::Utc::now();
    let go_live = report::go_live(&test_cases);
    let kind = opts.target.kind();
    let clock = &ctx.timing.clock;
    RunReport {
        schema_version: report::SCHEMA_VERSION,
        run_id: ctx.run_id.clone(),
        lang: opts.lang.code(),
        tool: report::Tool::this(),
        target: report::TargetInfo {
            kind,
            label: opts.target.label().to_string(),
            base_url: if matches!(opts.target, Target::Embedded) {
                "embedded".to_string()
            } else {
                target::without_credentials(base)
            },
            api_family: opts.family.as_str().to_string(),
            send_day_ms: clock.send_day.as_millis() as u64,
            clock_source: clock.source.code(),
        },
        ente: report::EnteInfo {
            name: profile.name.clone(),
            tax_id: profile.tax_id.clone(),
            pago_pa_int_mode: format!("{:?}", profile.pago_pa_int_mode),
            physical_communication_type: profile.physical_communication_type.as_str(),
        },
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: (finished - started).num_milliseconds().max(0) as u64,
        go_live,
        evidence: report::EvidenceValidity::of(kind, go_live),
        vouchers_minted: ctx.client.minter.as_ref().map(|m| m.minted() as u64),
        test_cases,
        extras,
        errors: collected.parse_errors(),
    }
}

/// Writes every output of a run into `out` (cucumber.json is already there).
fn write_report(
    out: &Path,
    report: &RunReport,
    evidence: &world::Evidence,
    exchanges: &[client::transcript::Exchange],
    base: &str,
) -> Result<(), report::error::ReportError> {
    report::evidence::write(out, exchanges, evidence)?;
    let checks = report::checklist::write(out, exchanges, base, report)?;
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
) -> Vec<(EnteProfile, Result<RunOutcome, CannotRun>)> {
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
                        .map_err(|e| CannotRun::Target(target::TargetError::Runtime(e)))
                        .and_then(|rt| rt.block_on(run(opts)));
                    (profile, outcome)
                })
            })
            .collect();
        for (h, opts) in handles.into_iter().zip(chunk) {
            match h.join() {
                Ok(r) => results.push(r),
                Err(_) => results.push((
                    opts.profile.clone(),
                    Err(CannotRun::Target(target::TargetError::Panicked)),
                )),
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
    let verdict = match (o.report.evidence.valid_for_go_live, o.report.go_live) {
        (true, _) => "YES (a UAT run: go-live evidence)".to_string(),
        (false, true) => format!("rehearsal passed: {}", o.report.evidence.why),
        (false, false) => "NO".to_string(),
    };
    s.push_str(&format!(
        "  go-live: {verdict}\n  report:  {}\n",
        o.report_dir.join("report.html").display()
    ));
    let all: Vec<_> = o.report.scenarios().collect();
    let passed = all.iter().filter(|s| s.passed()).count();
    s.push_str(&format!("{passed} passed, {} failed\n", all.len() - passed));
    s
}
